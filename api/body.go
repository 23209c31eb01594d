package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// Request bodies (DESIGN §4 Errors). Whatever goes wrong while one is read or
// decoded is the client's, and is answered as such, never as a 500 nor logged
// as an error: a body over the limit is a 413; one not received within the
// server's read timeout a 408; one cut off or badly chunked a 400, like one
// that is not JSON; JSON that breaks a rule (a field name in another case, an
// unknown or repeated one, a value of the wrong type) a 422 naming the field.

// readBody reads the request's body whole.
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	raw, err := io.ReadAll(c.Request().Body)
	if err == nil {
		return raw, nil
	}
	err = s.bodyReadError(err)
	s.log.Warn("request body not received", "method", c.Request().Method, "path", c.Path(),
		"code", models.ErrorCode(err), "cause", err)
	return nil, err
}

// bodyReadError explains why a body could not be read.
func (s *Server) bodyReadError(err error) error {
	var httpErr *echo.HTTPError
	var maxErr *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &httpErr) && httpErr.Code == http.StatusRequestEntityTooLarge, errors.As(err, &maxErr):
		return models.Errorf(models.ETOOLARGE, "request body is larger than the %s limit", bodyLimit)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return models.Errorf(models.ETIMEOUT, "the request body did not arrive within %s of the request; send the whole body right after the headers, then retry", s.readTimeout)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return models.Errorf(models.EMALFORMED, "the request body arrived incomplete: the connection ended before the Content-Length or the last chunk; send the whole body")
	}
	return models.Errorf(models.EMALFORMED, "the request body arrived incomplete or badly framed (%s); send the whole body with a correct Content-Length or valid chunked encoding", err)
}

// strictJSON is how every body is decoded (DESIGN §4): field names match
// exactly, case included (the default of encoding/json/v2, whose mirror this
// is), names a body sends twice are refused (also its default), and so are names
// the endpoint does not know.
var strictJSON = json.RejectUnknownMembers(true)

// sent is the set of names a body's JSON object holds at its top level: what
// a client stated, even as "", 0, {} or null.
type sent = app.Sent

// decode reads the request's body and decodes it strictly into v (decodeJSON).
func (s *Server) decode(c echo.Context, v any) error {
	_, err := s.decodeSent(c, v)
	return err
}

// decodeSent is decode that also returns the names the body sent.
func (s *Server) decodeSent(c echo.Context, v any) (sent, error) {
	raw, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	return decodeJSON("request body", raw, v)
}

// decodeJSON decodes raw strictly (strictJSON) into v and returns the names it
// sent. An empty body decodes to the zero value and sends nothing; anything
// after the one JSON value is refused.
func decodeJSON(what string, raw []byte, v any) (sent, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return sent{}, nil
	}
	if err := json.Unmarshal(raw, v, strictJSON); err != nil {
		return nil, bodyError(what, err)
	}
	var names map[string]jsontext.Value
	if err := json.Unmarshal(raw, &names); err != nil { // null: nothing sent
		return sent{}, nil
	}
	got := make(sent, len(names))
	for name := range names {
		got[name] = true
	}
	return got, nil
}

// bodyError explains a decoding failure: a body that is not JSON at all is a
// 400 (EMALFORMED); JSON that breaks a rule is a 422 naming the field.
func bodyError(what string, err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return models.Errorf(models.EINVALID, "%s: field %s is sent twice; send each field once", what, fieldPath(syn.JSONPointer))
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return models.Errorf(models.EMALFORMED, "%s is not JSON (%s); send one JSON object with Content-Type: application/json", what, plainJSONError(err))
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		name := sem.JSONPointer.LastToken()
		msg := fmt.Sprintf("%s: %s is not a field of this endpoint; field names match exactly, case included (see /openapi.json)", what, fieldPath(sem.JSONPointer))
		if like := nameLike(sem.GoType, name); like != "" {
			msg += fmt.Sprintf("; did you mean %s?", like)
		}
		return models.Errorf(models.EINVALID, "%s", msg)
	case errors.As(err, &sem) && sem.JSONPointer == "":
		return models.Errorf(models.EINVALID, "%s must be a JSON object", what)
	case errors.As(err, &sem) && sem.GoType != nil:
		return models.Errorf(models.EINVALID, "%s: field %s must be %s", what, fieldPath(sem.JSONPointer), jsonType(sem.GoType))
	}
	return models.Errorf(models.EINVALID, "%s does not fit this endpoint: %s", what, plainJSONError(err))
}

// plainJSONError is the decoder's message without its package's prefix.
func plainJSONError(err error) string {
	msg := err.Error()
	for _, p := range []string{"jsontext: ", "json: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// fieldPath writes a JSON pointer (/items/0/sku) the way the messages name
// fields (items[0].sku).
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// nameLike is the field of struct t whose JSON name is name in another case,
// or "".
func nameLike(t reflect.Type, name string) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag != "" && tag != name && strings.EqualFold(tag, name) {
			return tag
		}
	}
	return ""
}

var timeType = reflect.TypeFor[time.Time]()

// jsonType names a Go type the way a JSON client knows it.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return "an RFC 3339 time such as 2026-11-20T08:00:00Z"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.Kind().String()
}

package api

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/models"
)

// Key is one API key of the keys file.
type Key struct {
	Key     string      `json:"key"`
	Role    models.Role `json:"role"`
	Subject string      `json:"subject"`
}

// Principal is who a request acts as.
type Principal = models.Principal

// Keys looks API keys up by their hash, so lookups take the same time for any key.
type Keys struct {
	byHash map[[32]byte]Principal
}

// LoadKeys reads a keys file: a JSON list of {"key","role","subject"}.
func LoadKeys(path string) (*Keys, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	var list []Key
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("keys file %s: not a JSON list of {\"key\",\"role\",\"subject\"}: %w", path, err)
	}
	return NewKeys(list)
}

// NewKeys validates list and indexes it.
func NewKeys(list []Key) (*Keys, error) {
	k := &Keys{byHash: map[[32]byte]Principal{}}
	for i, e := range list {
		switch {
		case len(e.Key) < 16:
			return nil, fmt.Errorf("keys file entry %d: key must be at least 16 characters", i)
		case !e.Role.Valid():
			return nil, fmt.Errorf("keys file entry %d: role %q must be buyer, seller, platform or admin", i, e.Role)
		case (e.Role == models.RoleBuyer || e.Role == models.RoleSeller) && e.Subject == "":
			return nil, fmt.Errorf("keys file entry %d: a %s key needs a subject (the %s id)", i, e.Role, map[models.Role]string{models.RoleBuyer: "buyer", models.RoleSeller: "shop"}[e.Role])
		}
		subject := e.Subject
		if subject == "" {
			subject = string(e.Role)
		}
		k.byHash[sha256.Sum256([]byte(e.Key))] = Principal{Role: e.Role, Subject: subject}
	}
	return k, nil
}

const principalKey = "principal"

// authenticate resolves the bearer key into a Principal.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := bearerToken(c.Request().Header.Get("Authorization"))
		if !ok {
			return models.Errorf(models.EUNAUTHORIZED, "send Authorization: Bearer <key>; keys come from the keys file")
		}
		p, ok := s.keys.byHash[sha256.Sum256([]byte(token))]
		if !ok {
			return models.Errorf(models.EUNAUTHORIZED, "this API key is not in the keys file")
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// bearerToken is the key of an Authorization header of the Bearer scheme:
// the scheme matches in any case and one or more spaces separate it from the
// key (RFC 9110 §11.1, §11.4).
func bearerToken(header string) (string, bool) {
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimLeft(token, " ")
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

func principal(c echo.Context) Principal {
	p, _ := c.Get(principalKey).(Principal)
	return p
}

// allow refuses the request unless the caller has one of roles.
func allow(c echo.Context, roles ...models.Role) (Principal, error) {
	p := principal(c)
	for _, r := range roles {
		if p.Role == r {
			return p, nil
		}
	}
	return p, models.Errorf(models.EFORBIDDEN, "a %s key may not call %s %s", p.Role, c.Request().Method, c.Path())
}

package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// errorLog is a slog handler that keeps the ERROR records a server logs: a
// client's fault is never one.
type errorLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *errorLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError {
		return nil
	}
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += fmt.Sprintf(" %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return nil
}

func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

// count is how many ERROR records were logged so far.
func (l *errorLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// since is the ERROR records logged after the first n.
func (l *errorLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines[n:]...)
}

// rawAnswer is one answer read off a raw connection.
type rawAnswer struct {
	status      int
	contentType string
	body        []byte
}

// rawExchange writes raw to a new TCP connection to addr, half-closes it when
// halfClose (the client has sent all it will), and reads every answer until the
// server closes the connection. The first answer is read as one to the
// request's method (a HEAD answer has no body), the rest as to GETs; reading
// stops at the first bytes that are not an answer.
func rawExchange(t testing.TB, addr, raw string, halfClose bool) []rawAnswer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	if halfClose {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatalf("half-close: %v", err)
		}
	}
	method, _, _ := strings.Cut(raw, " ")
	br := bufio.NewReader(conn)
	var answers []rawAnswer
	for {
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return answers
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answers = append(answers, rawAnswer{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), body: body})
		method = http.MethodGet
	}
}

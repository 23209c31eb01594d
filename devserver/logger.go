package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// defaultLogLevel is the lowest level of server records passed on to
// Options.Logger: the server is chatty at Info.
const defaultLogLevel = slog.LevelWarn

// silentLevel drops every server record; Stop switches to it.
const silentLevel = slog.LevelError + 100

// minLevelHandler drops records below min before they reach the wrapped handler.
type minLevelHandler struct {
	slog.Handler
	min slog.Leveler
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min.Level() && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}

// filtered returns l restricted to records at min or above.
func filtered(l *slog.Logger, min slog.Leveler) *slog.Logger {
	return slog.New(minLevelHandler{Handler: l.Handler(), min: min})
}

// serverLogger adapts an *slog.Logger to the Temporal server's log.Logger.
type serverLogger struct {
	l    *slog.Logger
	trap *fatalTrap
}

// fatalTrap lets Start survive a Fatal the server reports while it is being
// built. temporal.NewServer binds the services' gRPC listeners and calls
// Fatal when one of them cannot be bound, which would exit the process. While
// the trap is armed, Fatal panics with a *fatalError instead, which Start
// recovers and returns as an error. Armed only around NewServer, so a Fatal
// of a running server still exits as the server expects.
type fatalTrap struct {
	armed atomic.Bool
}

// fatalError is a Fatal record caught by a fatalTrap.
type fatalError struct {
	msg     string
	address string // the "address" tag, e.g. the address a listener could not bind
	err     string // the "error" tag
}

func (e *fatalError) Error() string {
	s := e.msg
	if e.address != "" {
		s += " on " + e.address
	}
	if e.err != "" {
		s += ": " + e.err
	}
	return s
}

func newFatalError(msg string, tags []tag.Tag) *fatalError {
	e := &fatalError{msg: msg}
	for _, t := range tags {
		switch t.Key() {
		case "address":
			e.address = fmt.Sprint(t.Value())
		case "error":
			e.err = fmt.Sprint(t.Value())
		}
	}
	return e
}

var (
	_ log.Logger     = serverLogger{}
	_ log.WithLogger = serverLogger{}
)

// newServerLogger passes records at level or above to l. The level is a
// variable so that Stop can silence the server while it shuts down; trap
// decides what Fatal does.
func newServerLogger(l *slog.Logger, level slog.Leveler, trap *fatalTrap) serverLogger {
	return serverLogger{l: filtered(l, level), trap: trap}
}

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	s.l.LogAttrs(ctx, level, msg, attrs(tags)...)
}

func attrs(tags []tag.Tag) []slog.Attr {
	out := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		out = append(out, slog.Any(t.Key(), t.Value()))
	}
	return out
}

func (s serverLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// DPanic logs at Error: development panics are not wanted in a product binary.
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// Panic logs at Error and panics, as the server expects.
func (s serverLogger) Panic(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	panic(msg)
}

// Fatal logs at Error and exits the process, as the server expects; while
// the trap is armed it panics with a *fatalError instead (see fatalTrap).
func (s serverLogger) Fatal(msg string, tags ...tag.Tag) {
	if s.trap != nil && s.trap.armed.Load() {
		panic(newFatalError(msg, tags))
	}
	s.log(slog.LevelError, msg, tags)
	fmt.Fprintln(os.Stderr, "temporal server fatal error:", msg)
	os.Exit(1)
}

// With returns a logger that prepends tags to every record.
func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	args := make([]any, 0, len(tags))
	for _, a := range attrs(tags) {
		args = append(args, a)
	}
	return serverLogger{l: s.l.With(args...), trap: s.trap}
}

// SLog lets the server use the same slog logger where it wants one.
func (s serverLogger) SLog() *slog.Logger { return s.l }

package agent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Keeping secrets out of logs and status: every password weft knows is replaced before a
// line is written.

// Redact replaces every known password in s. Passwords shorter than 4 characters are left
// alone: replacing them would mangle ordinary words, and FRR refuses them anyway.
func (s Snapshot) Redact(text string) string {
	for _, p := range s.passwords {
		if len(p) >= 4 {
			text = strings.ReplaceAll(text, p, "<redacted>")
		}
	}
	return text
}

// RedactHandler is a slog.Handler that removes the source's current passwords from messages
// and string attributes before they reach the log.
type RedactHandler struct {
	slog.Handler
	Source *KubeSource
}

// Handle redacts the record and passes it on.
func (h RedactHandler) Handle(ctx context.Context, r slog.Record) error {
	snap := h.Source.Last()
	if len(snap.passwords) == 0 {
		return h.Handler.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, snap.Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a, snap))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// WithAttrs keeps the redaction on derived loggers.
func (h RedactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return RedactHandler{Handler: h.Handler.WithAttrs(attrs), Source: h.Source}
}

// WithGroup keeps the redaction on derived loggers.
func (h RedactHandler) WithGroup(name string) slog.Handler {
	return RedactHandler{Handler: h.Handler.WithGroup(name), Source: h.Source}
}

func redactAttr(a slog.Attr, snap Snapshot) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, snap.Redact(v.String()))
	case slog.KindGroup:
		var as []any
		for _, g := range v.Group() {
			as = append(as, redactAttr(g, snap))
		}
		return slog.Group(a.Key, as...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, snap.Redact(err.Error()))
		}
		return slog.String(a.Key, snap.Redact(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

package events

import (
	"context"
	"log/slog"

	"github.com/lxd-go/lxd/shared/api"
)

// logHandler passes records to the next handler and forwards them as logging events.
type logHandler struct {
	next   slog.Handler
	server *Server

	// attrs are the attributes added with WithAttrs, keys already qualified by their groups.
	attrs []slog.Attr
	group string
}

// NewLogHandler returns a handler that hands records to next (when next is enabled for their level) and sends every
// record as a logging event while some listener wants logging events, whatever next's level.
func NewLogHandler(next slog.Handler, s *Server) slog.Handler {
	return &logHandler{next: next, server: s}
}

// Enabled reports whether next or a logging listener wants records of this level.
func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level) || h.server.loggingListeners.Load() > 0
}

// Handle passes the record on and forwards it.
func (h *logHandler) Handle(ctx context.Context, rec slog.Record) error {
	var err error
	if h.next.Enabled(ctx, rec.Level) {
		err = h.next.Handle(ctx, rec)
	}

	if h.server.loggingListeners.Load() == 0 {
		return err
	}

	fields := map[string]string{}
	for _, a := range h.attrs {
		addAttr(fields, "", a)
	}

	rec.Attrs(func(a slog.Attr) bool {
		addAttr(fields, h.group, a)
		return true
	})

	_ = h.server.Send("", api.EventTypeLogging, api.EventLogging{
		Message: rec.Message,
		Level:   levelName(rec.Level),
		Context: fields,
	})

	return err
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}

	nh := *h
	nh.next = h.next.WithAttrs(attrs)
	nh.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}

		nh.attrs = append(nh.attrs, a)
	}

	return &nh
}

// WithGroup returns a handler that qualifies later keys with name.
func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}

	nh := *h
	nh.next = h.next.WithGroup(name)
	if h.group != "" {
		nh.group = h.group + "." + name
	} else {
		nh.group = name
	}

	return &nh
}

// addAttr flattens an attribute into fields as strings, groups becoming dotted keys.
func addAttr(fields map[string]string, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}

	key := a.Key
	if prefix != "" {
		key = prefix + "." + key
	}

	if a.Value.Kind() == slog.KindGroup {
		if a.Key == "" {
			key = prefix
		}

		for _, ga := range a.Value.Group() {
			addAttr(fields, key, ga)
		}

		return
	}

	fields[key] = a.Value.String()
}

// levelName spells a level as LXD's logging events do.
func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warning"
	}

	return "error"
}

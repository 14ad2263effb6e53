package main

import (
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strings"
)

// setupLogging sends log records to stderr or the log file at the level the flags ask for, and also to syslog with
// --syslog.
func (g *cmdGlobal) setupLogging() error {
	var out io.Writer = os.Stderr
	if g.flagLogFile != "" {
		f, err := os.OpenFile(g.flagLogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}

		out = f
	}

	level := slog.LevelWarn
	if g.flagVerbose {
		level = slog.LevelInfo
	}

	if g.flagDebug {
		level = slog.LevelDebug
	}

	var h slog.Handler = slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})
	if g.flagSyslog {
		w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "lxd")
		if err != nil {
			// The records still reach stderr or the log file: a host without a syslog daemon is no reason not
			// to start.
			slog.New(h).Warn("syslog is not reachable, logging without it", "err", err)
		} else {
			h = slog.NewMultiHandler(h, newSyslogHandler(w, level))
		}
	}

	slog.SetDefault(slog.New(h))
	return nil
}

// syslogSink is what the syslog handler needs of a *syslog.Writer: one method per priority.
type syslogSink interface {
	Debug(m string) error
	Info(m string) error
	Warning(m string) error
	Err(m string) error
}

var _ syslogSink = (*syslog.Writer)(nil)

// newSyslogHandler returns a handler sending each record as one syslog message, at the priority of its level and
// in slog's text format without the time (syslog stamps its own).
func newSyslogHandler(sink syslogSink, level slog.Leveler) slog.Handler {
	return slog.NewTextHandler(syslogWriter{sink: sink}, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}

			return a
		},
	})
}

// syslogWriter receives one formatted record per Write ("level=WARN msg=..."), as slog's text handler writes them,
// and sends it at the priority its level field names.
type syslogWriter struct {
	sink syslogSink
}

// Write sends one record.
func (w syslogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	send := w.sink.Info
	level, rest, _ := strings.Cut(line, " ")
	switch {
	case strings.HasPrefix(level, "level=ERROR"):
		send = w.sink.Err
	case strings.HasPrefix(level, "level=WARN"):
		send = w.sink.Warning
	case strings.HasPrefix(level, "level=DEBUG"):
		send = w.sink.Debug
	}

	if strings.HasPrefix(level, "level=") {
		line = rest
	}

	err := send(line)
	if err != nil {
		return 0, err
	}

	return len(p), nil
}

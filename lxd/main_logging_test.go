package main

import (
	"context"
	"log/slog"
	"log/syslog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSyslog records what the syslog handler sends, by priority.
type fakeSyslog struct {
	sent []string
}

func (f *fakeSyslog) add(prio string, m string) error {
	f.sent = append(f.sent, prio+" "+m)
	return nil
}

func (f *fakeSyslog) Debug(m string) error   { return f.add("debug", m) }
func (f *fakeSyslog) Info(m string) error    { return f.add("info", m) }
func (f *fakeSyslog) Warning(m string) error { return f.add("warning", m) }
func (f *fakeSyslog) Err(m string) error     { return f.add("err", m) }

func TestSyslogHandler(t *testing.T) {
	sink := &fakeSyslog{}
	log := slog.New(newSyslogHandler(sink, slog.LevelInfo))
	log.Debug("hidden")
	log.Info("daemon started", "dir", "/var/lib/lxd")
	log.Warn("slow", "took", "2s")
	log.Error("failed", "err", "boom")
	log.With("instance", "c1").Log(context.Background(), slog.LevelError+2, "worse")

	want := []string{
		`info msg="daemon started" dir=/var/lib/lxd`,
		`warning msg=slow took=2s`,
		`err msg=failed err=boom`,
		`err msg=worse instance=c1`,
	}

	if strings.Join(sink.sent, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(sink.sent, "\n"), strings.Join(want, "\n"))
	}
}

func TestSyslogHandlerDelivers(t *testing.T) {
	// A syslog daemon of our own: the real *syslog.Writer sends each record as one datagram.
	addr := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = conn.Close() }()
	w, err := syslog.Dial("unixgram", addr, syslog.LOG_DAEMON|syslog.LOG_INFO, "lxd")
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = w.Close() }()
	log := slog.New(newSyslogHandler(w, slog.LevelDebug))
	log.Warn("disk almost full", "pool", "default")

	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}

	msg := string(buf[:n])
	// <28> is facility daemon (3) and priority warning (4).
	if !strings.HasPrefix(msg, "<28>") || !strings.Contains(msg, "lxd[") || !strings.Contains(msg, `msg="disk almost full" pool=default`) {
		t.Fatalf("got datagram %q", msg)
	}
}

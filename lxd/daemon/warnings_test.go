package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/warnings"
	"github.com/lxd-go/lxd/shared/api"
)

// statuses lists the warnings as type → status.
func statuses(t *testing.T, m *warnings.Manager) map[string]string {
	t.Helper()
	ws, err := m.List(context.Background(), warnings.Filter{})
	if err != nil {
		t.Fatal(err)
	}

	out := map[string]string{}
	for _, w := range ws {
		out[w.Type] = w.Status
	}

	return out
}

func TestHostWarnings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	m := warnings.NewManager(warnings.ManagerArgs{DB: d})
	bin := filepath.Join(dir, "bin")
	err = os.MkdirAll(bin, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	// A non-executable xz does not count.
	err = os.WriteFile(filepath.Join(bin, "xz"), nil, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(bin, "igzip"), nil, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	probe := hostProbe{apparmorDir: filepath.Join(dir, "apparmor"), programDirs: []string{bin}}
	applyFindings(ctx, m, probe.findings())
	got := statuses(t, m)
	want := map[string]string{
		warnings.TypeAppArmorNotAvailable:         api.WarningStatusNew,
		warnings.TypeMissingProgram("xz"):         api.WarningStatusNew,
		warnings.TypeMissingProgram("unsquashfs"): api.WarningStatusNew,
	}

	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	for typ, status := range want {
		if got[typ] != status {
			t.Fatalf("got %v, want %v", got, want)
		}
	}

	// At the next start AppArmor and xz are there: their warnings are resolved, the others recur.
	err = os.Mkdir(probe.apparmorDir, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	err = os.Chmod(filepath.Join(bin, "xz"), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	applyFindings(ctx, m, probe.findings())
	got = statuses(t, m)
	if got[warnings.TypeAppArmorNotAvailable] != api.WarningStatusResolved ||
		got[warnings.TypeMissingProgram("xz")] != api.WarningStatusResolved ||
		got[warnings.TypeMissingProgram("unsquashfs")] != api.WarningStatusNew || len(got) != 3 {
		t.Fatalf("got %v, want AppArmor and xz resolved, unsquashfs new", got)
	}

	ws, err := m.List(ctx, warnings.Filter{})
	if err != nil {
		t.Fatal(err)
	}

	for _, w := range ws {
		if w.Type == warnings.TypeMissingProgram("unsquashfs") && w.Count != 2 {
			t.Fatalf("got count %d for unsquashfs, want 2 after two starts", w.Count)
		}
	}
}

func TestNoteIDMap(t *testing.T) {
	d, err := db.Open(filepath.Join(t.TempDir(), "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	m := warnings.NewManager(warnings.ManagerArgs{DB: d})
	daemon := &Daemon{state: &state.State{ShutdownCtx: context.Background(), Warnings: m}}
	daemon.noteIDMap(errors.New("no range for root in /etc/subuid"))
	ws, err := m.List(context.Background(), warnings.Filter{})
	if err != nil {
		t.Fatal(err)
	}

	if len(ws) != 1 || ws[0].Type != warnings.TypeMissingIDMap || ws[0].Severity != api.WarningSeverityModerate ||
		!strings.Contains(ws[0].LastMessage, "no range for root in /etc/subuid") {
		t.Fatalf("got %+v, want one moderate id map warning with the cause", ws)
	}

	daemon.noteIDMap(nil)
	if got := statuses(t, m)[warnings.TypeMissingIDMap]; got != api.WarningStatusResolved {
		t.Fatalf("got status %q once the id map is there, want resolved", got)
	}
}

func TestHasAppArmor(t *testing.T) {
	dir := t.TempDir()
	p := hostProbe{apparmorDir: filepath.Join(dir, "apparmor"), apparmorEnabled: filepath.Join(dir, "enabled")}
	if p.hasAppArmor() {
		t.Fatal("AppArmor found without its securityfs directory")
	}

	err := os.Mkdir(p.apparmorDir, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		enabled string
		want    bool
	}{{"", true}, {"Y\n", true}, {"N\n", false}} {
		_ = os.Remove(p.apparmorEnabled)
		if c.enabled != "" {
			err = os.WriteFile(p.apparmorEnabled, []byte(c.enabled), 0o644)
			if err != nil {
				t.Fatal(err)
			}
		}

		if p.hasAppArmor() != c.want {
			t.Fatalf("module parameter %q: got %v, want %v", c.enabled, !c.want, c.want)
		}
	}
}

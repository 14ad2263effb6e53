package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/warnings"
)

// hostProbe is where the start-up checks look: the directory AppArmor shows itself in and the parameter of its
// module that says whether it is enabled ("" to not look), and the directories the image unpacker looks for its
// helper programs in (lxd/images).
type hostProbe struct {
	apparmorDir     string
	apparmorEnabled string
	programDirs     []string
}

// defaultProbe is the real host.
var defaultProbe = hostProbe{apparmorDir: "/sys/kernel/security/apparmor",
	apparmorEnabled: "/sys/module/apparmor/parameters/enabled", programDirs: images.HelperDirs}

// optionalPrograms are the helper programs the daemon works without, and what their absence costs.
var optionalPrograms = []struct {
	name string
	cost string
}{
	{"igzip", "gzip images use the slower Go decompressor"},
	{"xz", "xz images use the slower Go decompressor"},
	{"unsquashfs", "squashfs images cannot be imported"},
}

// finding is one start-up check: a warning of type typ, present or not, and its message when present.
type finding struct {
	typ     string
	present bool
	message string
}

// findings runs the start-up checks of the host against probe.
func (p hostProbe) findings() []finding {
	out := []finding{{
		typ:     warnings.TypeAppArmorNotAvailable,
		present: !p.hasAppArmor(),
		message: "Disabled because of lack of kernel support",
	}}

	for _, prog := range optionalPrograms {
		out = append(out, finding{
			typ:     warnings.TypeMissingProgram(prog.name),
			present: !p.hasProgram(prog.name),
			message: fmt.Sprintf("%s not found: %s", prog.name, prog.cost),
		})
	}

	return out
}

// hasAppArmor reports whether the kernel has AppArmor: its securityfs directory, and its module not disabled.
func (p hostProbe) hasAppArmor() bool {
	info, err := os.Stat(p.apparmorDir)
	if err != nil || !info.IsDir() {
		return false
	}

	if p.apparmorEnabled == "" {
		return true
	}

	enabled, err := os.ReadFile(p.apparmorEnabled)
	return err != nil || strings.TrimSpace(string(enabled)) != "N"
}

// hasProgram reports whether an executable regular file name is in one of the program directories.
func (p hostProbe) hasProgram(name string) bool {
	return images.FindProgram(p.programDirs, name) != ""
}

// applyFindings records the warnings whose condition holds and resolves those whose condition is gone. A failure is
// logged: warnings never stop the daemon from starting.
func applyFindings(ctx context.Context, m *warnings.Manager, found []finding) {
	for _, f := range found {
		var err error
		if f.present {
			slog.Warn("host warning", "type", f.typ, "message", f.message)
			err = m.Record(ctx, f.typ, warnings.Server, f.message)
		} else {
			err = m.Resolve(ctx, f.typ, warnings.Server)
		}

		if err != nil {
			slog.Error("failed updating a warning", "type", f.typ, "err", err)
		}
	}
}

// checkHost records the warnings about the host found at start (AppArmor, optional programs), resolves those
// recorded by an earlier start whose condition is gone, and removes those resolved for more than a day.
func (d *Daemon) checkHost(ctx context.Context) {
	applyFindings(ctx, d.state.Warnings, defaultProbe.findings())
	n, err := d.state.Warnings.PruneResolved(ctx)
	if err != nil {
		slog.Error("failed pruning resolved warnings", "err", err)
	} else if n > 0 {
		slog.Info("pruned resolved warnings", "count", n)
	}
}

// noteIDMap records the warning of a host without a subordinate id range for root (err is why the id map could not
// be set up), or resolves it when the id map is there (err is nil).
func (d *Daemon) noteIDMap(err error) {
	f := finding{typ: warnings.TypeMissingIDMap, present: err != nil}
	if err != nil {
		f.message = fmt.Sprintf("no id map for unprivileged containers, every container runs privileged: %v", err)
	}

	applyFindings(d.state.ShutdownCtx, d.state.Warnings, []finding{f})
}

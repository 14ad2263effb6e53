package instance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppArmorProfileName(t *testing.T) {
	got := AppArmorProfileName("c1", "/var/lib/lxd")
	if got != "lxd-c1_</var/lib/lxd>" {
		t.Fatalf("got %q, want %q", got, "lxd-c1_</var/lib/lxd>")
	}

	long := AppArmorProfileName("c1", "/"+strings.Repeat("d", 300))
	if len(long) >= appArmorMaxName || !strings.HasPrefix(long, "lxd-") || strings.Contains(long, "ddd") {
		t.Fatalf("a name too long for AppArmor is %q", long)
	}

	got = AppArmorProfileFile("c1")
	if got != "lxd-c1" {
		t.Fatalf("got file %q, want lxd-c1", got)
	}
}

func TestAppArmorProfile(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string
		want   []string
		absent []string
	}{
		{"unprivileged", map[string]string{}, []string{
			`profile "lxd-c1_</var/lib/lxd>" flags=(attach_disconnected,mediate_deleted) {`,
			"  capability,", "  network,", "  deny /proc/sysrq-trigger rwklx,", "  deny /sys/kernel/security/?*{,/**} wklx,",
			"  mount fstype=proc -> /proc/,", "  ### Configuration: unprivileged container", "  pivot_root,",
		}, []string{"### Configuration: nesting", "raw.apparmor", "  mount,\n"}},
		{"privileged", map[string]string{"security.privileged": "true"}, []string{"  deny /proc/kcore rwklx,"},
			[]string{"### Configuration: unprivileged container", "  pivot_root,"}},
		{"nesting", map[string]string{"security.nesting": "true"}, []string{
			"  ### Configuration: nesting", "  mount,\n", "  deny /dev/.lxd/proc/** rw,",
		}, nil},
		{"raw", map[string]string{KeyRawAppArmor: "deny /etc/shadow r,\n  mount fstype=nfs,"}, []string{
			"  ### Configuration: raw.apparmor\n  deny /etc/shadow r,\n  mount fstype=nfs,\n}\n",
		}, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppArmorProfile("c1", "/var/lib/lxd", tt.config)
			if !strings.HasPrefix(got, "#include <tunables/global>\n") || !strings.HasSuffix(got, "}\n") {
				t.Fatalf("profile is not whole:\n%s", got)
			}

			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("profile lacks %q:\n%s", w, got)
				}
			}

			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("profile has %q:\n%s", a, got)
				}
			}
		})
	}

	quoted := AppArmorProfile(`we"ird`, "/var/lib/lxd", nil)
	if !strings.Contains(quoted, `profile "lxd-we\"ird_</var/lib/lxd>"`) {
		t.Fatalf("a quote in the name is not escaped:\n%s", quoted)
	}
}

func TestAppArmorAvailable(t *testing.T) {
	dir := t.TempDir()
	sec := filepath.Join(dir, "apparmor")
	enabled := filepath.Join(dir, "enabled")
	a := AppArmor{SecurityDir: sec, EnabledFile: enabled}
	if a.Available() {
		t.Fatal("available without its securityfs directory")
	}

	err := os.Mkdir(sec, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(enabled, []byte("N\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	if a.Available() {
		t.Fatal("available while the module says it is disabled")
	}
}

package lxc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSeccompPolicy(t *testing.T) {
	defaultDeny := "2\ndenylist\nreject_force_umount  # comment this to allow umount -f;  not recommended\n[all]\n" +
		"kexec_load errno 38\nopen_by_handle_at errno 38\ninit_module errno 38\nfinit_module errno 38\n" +
		"delete_module errno 38\n"
	tests := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"default", nil, defaultDeny},
		{"default on", map[string]string{"security.syscalls.deny_default": "true"}, defaultDeny},
		{"no filter", map[string]string{"security.syscalls.deny_default": "false"}, ""},
		{"extra deny", map[string]string{"security.syscalls.deny": "mount errno 1"}, defaultDeny + "mount errno 1\n"},
		{"only extra deny", map[string]string{"security.syscalls.deny_default": "false", "security.syscalls.deny": "mount errno 1\n"},
			"2\ndenylist\n[all]\nmount errno 1\n"},
		{"legacy names", map[string]string{"security.syscalls.blacklist_default": "false", "security.syscalls.blacklist": "mount"},
			"2\ndenylist\n[all]\nmount\n"},
		{"allow list", map[string]string{"security.syscalls.allow": "read\nwrite"}, "2\nallowlist\n[all]\nread\nwrite\n"},
		{"raw", map[string]string{"raw.seccomp": "2\ndenylist\n[all]\nmount errno 1", "security.syscalls.deny": "x"},
			"2\ndenylist\n[all]\nmount errno 1\n"},
	}

	for _, tt := range tests {
		got, err := seccompPolicy(tt.config, "x86_64")
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q %v, want %q", tt.name, got, err, tt.want)
		}
	}

	compat, err := seccompPolicy(map[string]string{"security.syscalls.deny_compat": "true"}, "x86_64")
	if err != nil || !strings.HasPrefix(compat, defaultDeny+"[x86_64]\ncompat_sys_rt_sigaction errno 38\n") ||
		!strings.HasSuffix(compat, "stub_x32_execveat errno 38\n[all]\n") {
		t.Errorf("compat: got %q %v", compat, err)
	}

	_, err = seccompPolicy(map[string]string{"security.syscalls.allow": "read", "security.syscalls.deny_default": "false"}, "x86_64")
	if err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("allow with deny_default: got %v, want the keys refused together", err)
	}
}

func TestWriteSeccompProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c1", "seccomp.profile")
	item, err := writeSeccompProfile(nil, path)
	if err != nil || item != [2]string{"lxc.seccomp.profile", path} {
		t.Fatalf("got %q %v, want the profile path", item, err)
	}

	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "kexec_load errno 38") {
		t.Fatalf("profile: %q %v", data, err)
	}

	// Without a policy the setting clears liblxc's own, and the file goes.
	item, err = writeSeccompProfile(map[string]string{"security.syscalls.deny_default": "false"}, path)
	if err != nil || item != [2]string{"lxc.seccomp.profile", ""} {
		t.Fatalf("got %q %v, want an empty setting", item, err)
	}

	_, err = os.Stat(path)
	if !os.IsNotExist(err) {
		t.Fatalf("the profile is still there: %v", err)
	}
}

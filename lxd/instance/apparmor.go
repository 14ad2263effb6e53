package instance

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/shared/fsutil"
)

// KeyRawAppArmor holds AppArmor rules appended to the container's profile.
const KeyRawAppArmor = "raw.apparmor"

// AppArmor is where the host shows AppArmor: the securityfs directory and the module's enabled parameter.
type AppArmor struct {
	SecurityDir string
	EnabledFile string
}

// HostAppArmor is the real host's.
var HostAppArmor = AppArmor{SecurityDir: "/sys/kernel/security/apparmor", EnabledFile: "/sys/module/apparmor/parameters/enabled"}

// Available reports whether the kernel has AppArmor enabled and apparmor_parser is installed to load profiles.
func (a AppArmor) Available() bool {
	info, err := os.Stat(a.SecurityDir)
	if err != nil || !info.IsDir() {
		return false
	}

	enabled, err := os.ReadFile(a.EnabledFile)
	if err == nil && strings.TrimSpace(string(enabled)) == "N" {
		return false
	}

	_, err = exec.LookPath("apparmor_parser")
	return err == nil
}

// appArmorMaxName is the longest profile name AppArmor takes.
const appArmorMaxName = 253

// AppArmorProfileName is the name of the profile of container name of the daemon whose data directory is varDir,
// as LXD names it: lxd-<name>_<<varDir>>, the name part hashed when too long for AppArmor.
func AppArmorProfileName(name string, varDir string) string {
	part := fmt.Sprintf("%s_<%s>", name, varDir)
	if len(part)+len("lxd-") >= appArmorMaxName {
		part = fmt.Sprintf("%x", sha256.Sum256([]byte(part)))
	}

	return "lxd-" + part
}

// AppArmorProfileFile is the file name of the profile of container name: lxd-<name>.
func AppArmorProfileFile(name string) string {
	return "lxd-" + name
}

// appArmorQuote makes a string safe between the double quotes of a profile name or path.
func appArmorQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// AppArmorProfile returns the AppArmor profile of a container with the expanded configuration, for the daemon
// whose data directory is varDir, with the rules LXD's container profile has: everything a container's own
// root needs, the kernel interfaces that must stay the host's denied, more mount rights for an unprivileged
// container (its user namespace confines them) and for nesting (security.nesting), and raw.apparmor last.
func AppArmorProfile(name string, varDir string, config map[string]string) string {
	var b strings.Builder
	w := func(lines ...string) {
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}

	privileged := IsTrue(config["security.privileged"])
	w("#include <tunables/global>",
		fmt.Sprintf(`profile "%s" flags=(attach_disconnected,mediate_deleted) {`, appArmorQuote(AppArmorProfileName(name, varDir))),
		"  ### Base",
		"  capability,",
		"  dbus,",
		"  file,",
		"  network,",
		"  umount,",
		"",
		"  # Signals and ptrace within the container",
		"  signal (receive),",
		"  signal peer=@{profile_name},",
		"  ptrace (readby),",
		"  ptrace (tracedby),",
		"  ptrace peer=@{profile_name},",
		"",
		"  # Quiet remounts of / read-only",
		"  deny mount options=(ro,remount) -> /,",
		"  deny mount options=(ro,remount,silent) -> /,",
		"",
		"  # Kernel file systems the container mounts for itself",
		"  mount fstype=proc -> /proc/,",
		"  mount fstype=sysfs -> /sys/,",
		"  mount options=(rw,nosuid,nodev,noexec,remount) -> /sys/,",
		"  mount options=(ro,nosuid,nodev,noexec,remount,strictatime) -> /sys/fs/cgroup/,",
		"  mount fstype=tmpfs,",
		"  mount fstype=mqueue,",
		"  mount fstype=hugetlbfs,",
		"  mount fstype=fuse,",
		"  mount fstype=fuse.*,",
		"  mount fstype=fusectl -> /sys/fs/fuse/connections/,",
		"  mount fstype=binfmt_misc -> /proc/sys/fs/binfmt_misc/,",
		"  mount fstype=configfs -> /sys/kernel/config/,",
		"  mount fstype=debugfs -> /sys/kernel/debug/,",
		"  mount fstype=tracefs -> /sys/kernel/tracing/,",
		"  mount fstype=efivarfs -> /sys/firmware/efi/efivars/,",
		"  mount fstype=securityfs -> /sys/kernel/security/,",
		"",
		"  # Mount propagation of /",
		"  mount options=(rw,slave) -> /,",
		"  mount options=(rw,rslave) -> /,",
		"  mount options=(rw,shared) -> /,",
		"  mount options=(rw,rshared) -> /,",
		"  mount options=(rw,private) -> /,",
		"  mount options=(rw,rprivate) -> /,",
		"  mount options=(rw,unbindable) -> /,",
		"  mount options=(rw,runbindable) -> /,",
		"",
		"  # Host interfaces the container must not write",
		"  deny /proc/sys/fs/binfmt_misc/{,**} rwklx,",
		"  deny /sys/kernel/config/{,**} rwklx,",
		"  deny /sys/kernel/debug/{,**} rwklx,",
		"  deny /sys/kernel/tracing/{,**} rwklx,",
		"  deny /sys/firmware/efi/efivars/{,**} rwklx,",
		"  deny /sys/kernel/security/?*{,/**} wklx,",
		"  deny /proc/bus/** wklx,",
		"  deny /proc/kcore rwklx,",
		"  deny /proc/sysrq-trigger rwklx,",
		"  deny /proc/acpi/** rwklx,",
		"  deny /proc/sys/fs/** wklx,",
		"  deny /proc/sys/[^kn]*{,/**} wklx,",
		"  deny /proc/sys/k[^e]*{,/**} wklx,",
		"  deny /proc/sys/kernel/[^smhd]*{,/**} wklx,",
		"  deny /proc/sys/n[^e]*{,/**} wklx,",
		"  deny /sys/[^fdck]*{,/**} wklx,",
		"  deny /sys/c[^l]*{,/**} wklx,",
		"  deny /sys/f[^s]*{,/**} wklx,",
		"  deny /sys/kernel/[^ms]*{,/**} wklx,",
		"  deny /sys/kernel/mm/{,**} wklx,",
		"  deny /sys/devices/virtual/powercap/** rwklx,",
		"  deny /sys/class/powercap/** rwklx,",
		"  deny /sys/fs/cgroup/[^s]*/** wklx,",
		"  deny /sys/module/apparmor/parameters/** wklx,",
	)

	if !privileged {
		w("",
			"  ### Configuration: unprivileged container",
			"  pivot_root,",
			"  mount options=(rw,bind),",
			"  mount options=(rw,rbind),",
			"  mount options=(ro,remount),",
			"  mount options=(ro,remount,bind),",
			"  mount options=(rw,make-slave) -> **,",
			"  mount options=(rw,make-rslave) -> **,",
			"  mount options=(rw,make-shared) -> **,",
			"  mount options=(rw,make-rshared) -> **,",
			"  mount options=(rw,make-private) -> **,",
			"  mount options=(rw,make-rprivate) -> **,",
			"  mount options=(rw,make-unbindable) -> **,",
			"  mount options=(rw,make-runbindable) -> **,",
			"  mount options=(rw,move) /[^spd]*{,/**},",
			"  mount options=(rw,move) /d[^e]*{,/**},",
			"  mount options=(rw,move) /p[^r]*{,/**},",
			"  mount options=(rw,move) /s[^y]*{,/**},",
		)
	}

	if IsTrue(config["security.nesting"]) {
		w("",
			"  ### Configuration: nesting",
			"  pivot_root,",
			"  ptrace,",
			"  signal,",
			"  deny /dev/.lxd/proc/** rw,",
			"  deny /dev/.lxd/sys/** rw,",
			"  mount fstype=proc -> /usr/lib/*/lxc/**,",
			"  mount fstype=sysfs -> /usr/lib/*/lxc/**,",
			"  mount options=(rw,bind),",
			"  mount options=(rw,rbind),",
			"  mount options=(rw,make-rshared),",
			"  mount,",
		)
	}

	raw := strings.TrimSpace(config[KeyRawAppArmor])
	if raw != "" {
		w("", "  ### Configuration: raw.apparmor")
		for _, l := range strings.Split(raw, "\n") {
			w("  " + strings.TrimSpace(l))
		}
	}

	w("}")
	return b.String()
}

// appArmorDir is where the profiles of containers are written.
func (m *Manager) appArmorDir() string {
	return filepath.Join(filepath.Dir(m.logDir), "security", "apparmor", "profiles")
}

// loadAppArmor writes and loads the profile of a container about to start and returns its name for liblxc, or ""
// when the host has no AppArmor: the container then runs unconfined, as the start-up warning says.
func (m *Manager) loadAppArmor(name string, config map[string]string) (string, error) {
	if !HostAppArmor.Available() {
		return "", nil
	}

	varDir := filepath.Dir(m.logDir)
	err := os.MkdirAll(m.appArmorDir(), 0o700)
	if err != nil {
		return "", err
	}

	path := filepath.Join(m.appArmorDir(), AppArmorProfileFile(name))
	err = fsutil.WriteFileAtomic(path, []byte(AppArmorProfile(name, varDir, config)), 0o600)
	if err != nil {
		return "", err
	}

	out, err := exec.Command("apparmor_parser", "--replace", "--write-cache", "--cache-loc",
		filepath.Join(filepath.Dir(m.appArmorDir()), "cache"), path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("loading the AppArmor profile of %q: %w: %s", name, err, strings.TrimSpace(string(out)))
	}

	return AppArmorProfileName(name, varDir), nil
}

// removeAppArmor unloads and removes the profile of a deleted container, if it has one.
func (m *Manager) removeAppArmor(name string) {
	path := filepath.Join(m.appArmorDir(), AppArmorProfileFile(name))
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}

	if HostAppArmor.Available() {
		out, err := exec.Command("apparmor_parser", "--remove", path).CombinedOutput()
		if err != nil {
			slog.Warn("failed unloading the AppArmor profile of a deleted instance", "instance", name, "err", err, "output", string(out))
		}
	}

	err = os.Remove(path)
	if err != nil {
		slog.Warn("failed removing the AppArmor profile of a deleted instance", "instance", name, "err", err)
	}
}

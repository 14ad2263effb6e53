package lxc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// seccompDefaultDeny is LXD's default deny list: forced unmounts are refused, and loading kernels or modules and
// opening files by handle answer ENOSYS (38), so that software inside falls back as on a kernel without them.
var seccompDefaultDeny = []string{
	"reject_force_umount  # comment this to allow umount -f;  not recommended",
	"[all]",
	"kexec_load errno 38",
	"open_by_handle_at errno 38",
	"init_module errno 38",
	"finit_module errno 38",
	"delete_module errno 38",
}

// seccompCompatDeny are the system calls of the 32-bit compat ABI that security.syscalls.deny_compat refuses;
// liblxc skips the names the host's libseccomp does not know.
var seccompCompatDeny = []string{
	"compat_sys_rt_sigaction", "stub_x32_rt_sigreturn", "compat_sys_ioctl", "compat_sys_readv", "compat_sys_writev",
	"compat_sys_recvfrom", "compat_sys_sendmsg", "compat_sys_recvmsg", "stub_x32_execve", "compat_sys_ptrace",
	"compat_sys_rt_sigpending", "compat_sys_rt_sigtimedwait", "compat_sys_rt_sigqueueinfo", "compat_sys_sigaltstack",
	"compat_sys_timer_create", "compat_sys_mq_notify", "compat_sys_kexec_load", "compat_sys_waitid",
	"compat_sys_set_robust_list", "compat_sys_get_robust_list", "compat_sys_vmsplice", "compat_sys_move_pages",
	"compat_sys_preadv64", "compat_sys_pwritev64", "compat_sys_rt_tgsigqueueinfo", "compat_sys_recvmmsg",
	"compat_sys_sendmmsg", "compat_sys_process_vm_readv", "compat_sys_process_vm_writev", "compat_sys_setsockopt",
	"compat_sys_getsockopt", "compat_sys_io_setup", "compat_sys_io_submit", "stub_x32_execveat",
}

// seccompPolicy returns the liblxc seccomp policy (version 2 syntax) of a container's expanded configuration, or
// "" when the container runs without a filter (security.syscalls.deny_default=false and no other syscall key):
// raw.seccomp replaces everything; security.syscalls.allow makes an allow list; otherwise a deny list of the
// default entries (unless deny_default is false), the compat ABI entries for the architecture arch (deny_compat)
// and the entries of security.syscalls.deny.
func seccompPolicy(config map[string]string, arch string) (string, error) {
	err := instance.CheckSyscallKeys(config)
	if err != nil {
		return "", err
	}

	raw := config["raw.seccomp"]
	if raw != "" {
		return withNewline(raw), nil
	}

	allow := instance.SyscallKey(config, "allow")
	if allow != "" {
		return "2\nallowlist\n[all]\n" + withNewline(allow), nil
	}

	deny := instance.SyscallKey(config, "deny")
	defaultDeny := instance.SyscallKey(config, "deny_default")
	compat := instance.IsTrue(instance.SyscallKey(config, "deny_compat"))
	useDefault := defaultDeny == "" || instance.IsTrue(defaultDeny)
	if !useDefault && !compat && deny == "" {
		return "", nil
	}

	var b strings.Builder
	b.WriteString("2\ndenylist\n")
	if useDefault {
		b.WriteString(strings.Join(seccompDefaultDeny, "\n") + "\n")
	} else {
		b.WriteString("[all]\n")
	}

	if compat {
		fmt.Fprintf(&b, "[%s]\n", arch)
		for _, name := range seccompCompatDeny {
			b.WriteString(name + " errno 38\n")
		}

		// What follows applies to every architecture again.
		b.WriteString("[all]\n")
	}

	if deny != "" {
		b.WriteString(withNewline(deny))
	}

	return b.String(), nil
}

func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}

	return s + "\n"
}

// hostArchitecture returns the kernel's name of the host architecture (x86_64, aarch64...).
func hostArchitecture() string {
	var u unix.Utsname
	err := unix.Uname(&u)
	if err != nil {
		return "all"
	}

	return unix.ByteSliceToString(u.Machine[:])
}

// writeSeccompProfile writes the container's seccomp policy to path and returns the liblxc setting that applies
// it; a container without a policy gets an empty lxc.seccomp.profile, which drops the one of liblxc's common
// configuration.
func writeSeccompProfile(config map[string]string, path string) ([2]string, error) {
	policy, err := seccompPolicy(config, hostArchitecture())
	if err != nil {
		return [2]string{}, err
	}

	if policy == "" {
		_ = os.Remove(path)
		return [2]string{"lxc.seccomp.profile", ""}, nil
	}

	err = os.MkdirAll(filepath.Dir(path), 0o700)
	if err != nil {
		return [2]string{}, err
	}

	err = fsutil.WriteFileAtomic(path, []byte(policy), 0o600)
	if err != nil {
		return [2]string{}, fmt.Errorf("writing the seccomp policy: %w", err)
	}

	return [2]string{"lxc.seccomp.profile", path}, nil
}

// appendToFile appends text to the file at path.
func appendToFile(path string, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}

	_, err = f.WriteString(text)
	if err != nil {
		_ = f.Close()
		return err
	}

	return f.Close()
}

package instance

import (
	"fmt"

	"github.com/lxd-go/lxd/lxd/errs"
)

// syscallLegacyKeys are the names LXD still accepts for the syscall filter keys.
var syscallLegacyKeys = map[string]string{
	"allow":        "security.syscalls.whitelist",
	"deny":         "security.syscalls.blacklist",
	"deny_default": "security.syscalls.blacklist_default",
	"deny_compat":  "security.syscalls.blacklist_compat",
}

// SyscallKey returns the value of security.syscalls.<name>, or of its older name when only that one is set.
func SyscallKey(config map[string]string, name string) string {
	v, ok := config["security.syscalls."+name]
	if ok {
		return v
	}

	return config[syscallLegacyKeys[name]]
}

// CheckSyscallKeys checks the syscall filter keys of a configuration together: an allow list excludes every deny
// key, as in LXD.
func CheckSyscallKeys(config map[string]string) error {
	if SyscallKey(config, "allow") == "" {
		return nil
	}

	for _, name := range []string{"deny", "deny_default", "deny_compat"} {
		_, set := config["security.syscalls."+name]
		_, legacy := config[syscallLegacyKeys[name]]
		if set || legacy {
			return fmt.Errorf("security.syscalls.allow is mutually exclusive with security.syscalls.deny*: %w", errs.ErrInvalid)
		}
	}

	return nil
}

// checkNoIntercept refuses a syscall interception this server does not do.
func checkNoIntercept(v string) error {
	err := checkBool(v)
	if err != nil {
		return err
	}

	if IsTrue(v) {
		return fmt.Errorf("system call interception is not supported by this server")
	}

	return nil
}

// syscallConfigKeys are the keys of the syscall filter (see lxc.seccompPolicy).
var syscallConfigKeys = map[string]keyCheck{
	"security.syscalls.allow":                        checkAny,
	"security.syscalls.deny":                         checkAny,
	"security.syscalls.deny_default":                 checkBool,
	"security.syscalls.deny_compat":                  checkBool,
	"security.syscalls.whitelist":                    checkAny,
	"security.syscalls.blacklist":                    checkAny,
	"security.syscalls.blacklist_default":            checkBool,
	"security.syscalls.blacklist_compat":             checkBool,
	"security.syscalls.intercept.mknod":              checkNoIntercept,
	"security.syscalls.intercept.setxattr":           checkNoIntercept,
	"security.syscalls.intercept.mount":              checkNoIntercept,
	"security.syscalls.intercept.sched_setscheduler": checkNoIntercept,
	"security.syscalls.intercept.bpf":                checkNoIntercept,
	"raw.seccomp":                                    checkAny,
}

// Command syscalls is a probe run inside containers: it calls the system calls a container's seccomp policy
// denies and prints, one a line, the name and the errno each answered ("name 38"), then the Seccomp line of
// /proc/self/status. It is built static (CGO_ENABLED=0) by the tests.
package main

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	empty, _ := unix.BytePtrFromString("")
	name, _ := unix.BytePtrFromString("probe")
	root, _ := unix.BytePtrFromString("/")
	calls := []struct {
		name string
		nr   uintptr
		args [3]uintptr
	}{
		{"kexec_load", unix.SYS_KEXEC_LOAD, [3]uintptr{0, 0, 0}},
		{"open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT, [3]uintptr{^uintptr(0), 0, 0}},
		{"init_module", unix.SYS_INIT_MODULE, [3]uintptr{0, 0, uintptr(unsafe.Pointer(empty))}},
		{"finit_module", unix.SYS_FINIT_MODULE, [3]uintptr{^uintptr(0), uintptr(unsafe.Pointer(empty)), 0}},
		{"delete_module", unix.SYS_DELETE_MODULE, [3]uintptr{uintptr(unsafe.Pointer(name)), 0, 0}},
		{"umount2_force", unix.SYS_UMOUNT2, [3]uintptr{uintptr(unsafe.Pointer(root)), 1, 0}},
	}

	for _, c := range calls {
		_, _, e := unix.Syscall(c.nr, c.args[0], c.args[1], c.args[2])
		fmt.Printf("%s %d\n", c.name, int(e))
	}

	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Println("status", err)
		os.Exit(1)
	}

	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Seccomp:") {
			fmt.Println(strings.Join(strings.Fields(line), " "))
		}
	}
}

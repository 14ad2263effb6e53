// Package osarch maps architecture names and their aliases to LXD's canonical names.
package osarch

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Canonical architecture names, as LXD spells them.
const (
	X86_64  = "x86_64"
	I686    = "i686"
	Aarch64 = "aarch64"
	Armv7l  = "armv7l"
	Armv6l  = "armv6l"
	Ppc64le = "ppc64le"
	Ppc64   = "ppc64"
	S390x   = "s390x"
	Riscv64 = "riscv64"
	Mips64  = "mips64"
	Loong64 = "loongarch64"
)

var aliases = map[string]string{
	"x86_64": X86_64, "amd64": X86_64, "x64": X86_64,
	"i686": I686, "i386": I686, "i586": I686, "i486": I686, "x86": I686,
	"aarch64": Aarch64, "arm64": Aarch64, "arm64v8": Aarch64,
	"armv7l": Armv7l, "armhf": Armv7l, "armv7": Armv7l, "armel": Armv6l, "armv6l": Armv6l,
	"ppc64le": Ppc64le, "ppc64el": Ppc64le,
	"ppc64": Ppc64, "powerpc64": Ppc64,
	"s390x":   S390x,
	"riscv64": Riscv64,
	"mips64":  Mips64, "mips64el": Mips64,
	"loongarch64": Loong64, "loong64": Loong64,
}

// personalities lists the extra architectures a host can run besides its own.
var personalities = map[string][]string{
	X86_64:  {I686},
	Aarch64: {Armv7l},
	Ppc64:   {},
}

// Canonical returns the canonical name of an architecture or one of its aliases.
func Canonical(name string) (string, error) {
	c, ok := aliases[name]
	if !ok {
		return "", fmt.Errorf("unknown architecture %q", name)
	}

	return c, nil
}

// Host returns the canonical name of the host's architecture.
func Host() string {
	var uts unix.Utsname
	err := unix.Uname(&uts)
	if err != nil {
		return X86_64
	}

	machine := unix.ByteSliceToString(uts.Machine[:])
	c, err := Canonical(machine)
	if err != nil {
		return machine
	}

	return c
}

// HostArchitectures returns the host architecture followed by those it can also run.
func HostArchitectures() []string {
	host := Host()
	return append([]string{host}, personalities[host]...)
}

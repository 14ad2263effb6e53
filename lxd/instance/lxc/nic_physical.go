package lxc

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/fsutil"
)

// A physical nic hot-plugged into a running container is no part of liblxc's configuration, so liblxc does not
// move it back when the container stops, and the kernel would send it to the initial network namespace when the
// container's goes. The driver records each one in a file of the container's nics directory (one line: the host
// interface's name, its name in the container, its MAC address and MTU); UnplugNIC gives it back and removes the
// file, and a stop hook that liblxc runs while the stopped container's network namespace is still held does the
// same for those still plugged.

// nicsDir is where the driver records the hot-plugged physical nics of a container.
func (d *Driver) nicsDir(name string) string {
	return filepath.Join(d.lxcPath, name, "nics")
}

// saveLinkState records the host interface link, which moves into the container as iface, before a hot plug
// changes its MAC address or MTU.
func (d *Driver) saveLinkState(name string, device string, link string, iface string) error {
	host, err := net.InterfaceByName(link)
	if err != nil {
		return err
	}

	line := strings.Join([]string{link, iface, host.HardwareAddr.String(), strconv.Itoa(host.MTU)}, " ") + "\n"
	err = os.MkdirAll(d.nicsDir(name), 0o700)
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(filepath.Join(d.nicsDir(name), device+".nic"), []byte(line), 0o600)
}

// restoreLinkState gives the host interface link, back from the container, the MAC address and MTU saveLinkState
// recorded, and forgets it.
func (d *Driver) restoreLinkState(name string, device string, link string) error {
	path := filepath.Join(d.nicsDir(name), device+".nic")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}

	if err != nil {
		return err
	}

	f := strings.Fields(string(data))
	if len(f) != 4 {
		return fmt.Errorf("%s: not a recorded interface", path)
	}

	err = run("ip", "link", "set", "dev", link, "address", f[2])
	if err == nil {
		err = run("ip", "link", "set", "dev", link, "mtu", f[3])
	}

	if err != nil {
		return err
	}

	return os.Remove(path)
}

// physicalStopHook returns the lxc.hook.stop giving back the hot-plugged physical nics recorded in dir when the
// container stops. liblxc runs it with sh -c, passing the container's name, the hook's section and type, then one
// "<ns>:<path>" argument per namespace it holds: the inner sh finds the network namespace's among them.
func physicalStopHook(dir string) string {
	ip, err := exec.LookPath("ip")
	if err != nil {
		ip = "/usr/sbin/ip"
	}

	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		nsenter = "/usr/bin/nsenter"
	}

	in := nsenter + ` --net="$ns" ` + ip
	script := `ns=; for a; do case "$a" in net:*) ns="${a#net:}";; esac; done; [ -n "$ns" ] || exit 0; ` +
		`for f in ` + dir + `/*.nic; do [ -e "$f" ] || continue; read -r link iface hw mtu < "$f"; ` +
		in + ` link set dev "$iface" down; ` +
		in + ` link set dev "$iface" name "$link"; ` +
		in + ` link set dev "$link" netns $$ && ` + ip + ` link set dev "$link" address "$hw" && ` +
		ip + ` link set dev "$link" mtu "$mtu" && rm -f "$f"; done; exit 0`
	return "/bin/sh -c '" + script + "'"
}

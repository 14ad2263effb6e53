package lxc

import (
	"os"
	"strings"
)

// lxcfsDir is where a running lxcfs shows its files; its hooks have something to do only when it is there.
const lxcfsDir = "/var/lib/lxcfs/proc"

// lxcfsHookKeys are the hook types liblxc's common configuration (common.conf.d/00-lxcfs.conf) gives lxcfs.
var lxcfsHookKeys = []string{"lxc.hook.mount", "lxc.hook.post-stop"}

// hooksTail returns what ends a saved container configuration so that lxcfs's hooks, which liblxc's common
// configuration adds to every container, run only where lxcfs runs: without it they do nothing but cost a shell at
// every start and half a second of sleep at every stop (its reboot hook). The tail clears both hook types, then
// sets again, in order, the hooks of those types that items gives. It is empty where lxcfs runs.
func hooksTail(items [][2]string, lxcfsRunning bool) string {
	if lxcfsRunning {
		return ""
	}

	var b strings.Builder
	for _, k := range lxcfsHookKeys {
		b.WriteString(k + " =\n")
	}

	for _, kv := range items {
		for _, k := range lxcfsHookKeys {
			if kv[0] == k {
				b.WriteString(kv[0] + " = " + kv[1] + "\n")
			}
		}
	}

	return b.String()
}

// lxcfsRunning says whether lxcfs serves its files on this host.
func lxcfsRunning() bool {
	fi, err := os.Stat(lxcfsDir)
	return err == nil && fi.IsDir()
}

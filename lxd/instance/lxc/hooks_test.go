package lxc

import "testing"

func TestHooksTail(t *testing.T) {
	items := [][2]string{
		{"lxc.include", "/usr/share/lxc/config/common.conf"},
		{"lxc.hook.post-stop", "/bin/nic-hook a"},
		{"lxc.hook.start-host", "/bin/other"},
		{"lxc.hook.mount", "/bin/mine"},
		{"lxc.hook.post-stop", "/bin/nic-hook b"},
	}

	if got := hooksTail(items, true); got != "" {
		t.Fatalf("tail with lxcfs running: %q", got)
	}

	want := "lxc.hook.mount =\nlxc.hook.post-stop =\nlxc.hook.post-stop = /bin/nic-hook a\nlxc.hook.mount = /bin/mine\n" +
		"lxc.hook.post-stop = /bin/nic-hook b\n"
	if got := hooksTail(items, false); got != want {
		t.Fatalf("tail:\n%s\nwant:\n%s", got, want)
	}
}

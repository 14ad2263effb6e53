package storage

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCopyTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for ownership and device nodes")
	}

	src := filepath.Join(t.TempDir(), "src")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(os.MkdirAll(filepath.Join(src, "etc", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "etc", "passwd"), []byte("root:x:0:0\n"), 0o644))
	must(os.WriteFile(filepath.Join(src, "suid"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chown(filepath.Join(src, "suid"), 1000, 1001))
	must(unix.Chmod(filepath.Join(src, "suid"), 0o4755))
	must(os.Mkdir(filepath.Join(src, "tmp"), 0o755))
	must(unix.Chmod(filepath.Join(src, "tmp"), 0o1777))
	must(os.Chown(filepath.Join(src, "etc", "sub"), 100000, 100000))
	must(os.Symlink("etc/passwd", filepath.Join(src, "link")))
	must(os.Lchown(filepath.Join(src, "link"), 5, 6))
	must(os.Link(filepath.Join(src, "etc", "passwd"), filepath.Join(src, "hard")))
	must(unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(unix.Chmod(filepath.Join(src, "null"), 0o666))
	must(unix.Mkfifo(filepath.Join(src, "fifo"), 0o600))
	xattrs := unix.Lsetxattr(filepath.Join(src, "etc", "passwd"), "user.test", []byte("v1"), 0) == nil
	must(unix.Lsetxattr(filepath.Join(src, "suid"), "security.capability", capV2(), 0))
	must(unix.Chmod(filepath.Join(src, "suid"), 0o4755))
	mtime := unix.NsecToTimespec(1_600_000_000_123_456_789)
	must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(src, "etc"), []unix.Timespec{mtime, mtime}, 0))

	dst := filepath.Join(t.TempDir(), "dst")
	must(CopyTree(src, dst))

	tests := []struct {
		path string
		mode uint32
		uid  uint32
		gid  uint32
	}{
		{"etc", unix.S_IFDIR | 0o755, 0, 0},
		{"etc/sub", unix.S_IFDIR | 0o755, 100000, 100000},
		{"etc/passwd", unix.S_IFREG | 0o644, 0, 0},
		{"suid", unix.S_IFREG | 0o4755, 1000, 1001},
		{"tmp", unix.S_IFDIR | 0o1777, 0, 0},
		{"link", unix.S_IFLNK | 0o777, 5, 6},
		{"null", unix.S_IFCHR | 0o666, 0, 0},
		{"fifo", unix.S_IFIFO | 0o600, 0, 0},
	}

	for _, tt := range tests {
		var st unix.Stat_t
		must(unix.Lstat(filepath.Join(dst, tt.path), &st))
		if st.Mode != tt.mode || st.Uid != tt.uid || st.Gid != tt.gid {
			t.Errorf("%s: got mode %o owner %d:%d, want %o %d:%d", tt.path, st.Mode, st.Uid, st.Gid, tt.mode, tt.uid, tt.gid)
		}
	}

	target, err := os.Readlink(filepath.Join(dst, "link"))
	if err != nil || target != "etc/passwd" {
		t.Errorf("symlink target: got %q, %v", target, err)
	}

	var a, b, orig unix.Stat_t
	must(unix.Stat(filepath.Join(dst, "hard"), &a))
	must(unix.Stat(filepath.Join(dst, "etc", "passwd"), &b))
	must(unix.Stat(filepath.Join(src, "etc", "passwd"), &orig))
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hard link: inodes %d and %d, %d links", a.Ino, b.Ino, a.Nlink)
	}

	if a.Ino == orig.Ino {
		t.Error("the copy shares an inode with the source")
	}

	var null unix.Stat_t
	must(unix.Lstat(filepath.Join(dst, "null"), &null))
	if null.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("device number: got %d", null.Rdev)
	}

	var etc unix.Stat_t
	must(unix.Lstat(filepath.Join(dst, "etc"), &etc))
	if etc.Mtim != mtime {
		t.Errorf("directory mtime: got %v, want %v", etc.Mtim, mtime)
	}

	if xattrs {
		v, err := getXattr(filepath.Join(dst, "etc", "passwd"), "user.test")
		if err != nil || string(v) != "v1" {
			t.Errorf("user xattr: got %q, %v", v, err)
		}
	}

	v, err := getXattr(filepath.Join(dst, "suid"), "security.capability")
	if err != nil || string(v) != string(capV2()) {
		t.Errorf("capability xattr: got %x, %v", v, err)
	}

	data, err := os.ReadFile(filepath.Join(dst, "etc", "passwd"))
	if err != nil || string(data) != "root:x:0:0\n" {
		t.Errorf("content: got %q, %v", data, err)
	}

	// The copy is independent of the source.
	must(os.WriteFile(filepath.Join(dst, "etc", "passwd"), []byte("changed\n"), 0o644))
	data, _ = os.ReadFile(filepath.Join(src, "etc", "passwd"))
	if string(data) != "root:x:0:0\n" {
		t.Error("writing the copy changed the source")
	}
}

func TestCopyTreeRefusesExistingDestination(t *testing.T) {
	src := t.TempDir()
	dst := t.TempDir()
	err := CopyTree(src, dst)
	if err == nil {
		t.Fatal("copying onto an existing directory succeeded")
	}
}

// capV2 is a version 2 file capability granting cap_net_raw.
func capV2() []byte {
	return []byte{0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
}

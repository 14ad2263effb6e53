package drivers

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

// testPool creates a pool of the named driver in a temporary directory, skipping btrfs where it cannot run.
func testPool(t *testing.T, name string, config map[string]string) (Driver, *Pool, string) {
	t.Helper()
	if name == "btrfs" {
		_, err := exec.LookPath("mkfs.btrfs")
		if os.Geteuid() != 0 || err != nil {
			t.Skip("btrfs needs root and btrfs-progs")
		}
	}

	drv, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if config == nil {
		config = map[string]string{}
	}

	p := &Pool{Name: "p1", Config: config, MountPath: filepath.Join(dir, "storage-pools", "p1"), DisksDir: filepath.Join(dir, "disks")}
	err = drv.Validate(p.Config, true)
	if err != nil {
		t.Fatal(err)
	}

	err = drv.Create(p)
	if err != nil {
		t.Fatal(err)
	}

	path, err := drv.Mount(p)
	if err != nil {
		_ = drv.Delete(p)
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = drv.Delete(p) })
	return drv, p, path
}

func TestDriversVolumes(t *testing.T) {
	for _, name := range []string{"dir", "btrfs"} {
		t.Run(name, func(t *testing.T) {
			config := map[string]string{}
			if name == "btrfs" {
				config["size"] = "1GiB"
			}

			drv, p, path := testPool(t, name, config)
			vol := filepath.Join(path, "v1")
			err := drv.CreateVolume(vol)
			if err != nil {
				t.Fatal(err)
			}

			err = os.WriteFile(filepath.Join(vol, "f"), []byte("data"), 0o600)
			if err != nil {
				t.Fatal(err)
			}

			snap := filepath.Join(path, "s1")
			done, err := drv.Snapshot(vol, snap, true)
			if err != nil {
				t.Fatal(err)
			}

			if done != (name == "btrfs") {
				t.Fatalf("snapshot done = %v", done)
			}

			if done {
				data, err := os.ReadFile(filepath.Join(snap, "f"))
				if err != nil || string(data) != "data" {
					t.Fatalf("snapshot content %q, %v", data, err)
				}

				err = os.WriteFile(filepath.Join(snap, "g"), nil, 0o600)
				if err == nil {
					t.Fatal("a read-only snapshot took a write")
				}
			}

			for _, v := range []string{vol, snap} {
				err = RemoveTree(v)
				if err != nil {
					t.Fatal(err)
				}

				_, err = os.Lstat(v)
				if !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s left: %v", v, err)
				}
			}

			if name == "btrfs" && !IsMountPoint(p.MountPath) {
				t.Fatal("the pool is not mounted")
			}

			err = drv.Delete(p)
			if err != nil {
				t.Fatal(err)
			}

			if IsMountPoint(p.MountPath) {
				t.Fatal("the pool is still mounted")
			}

			if name == "btrfs" {
				out, _ := exec.Command("losetup", "-a").Output()
				if strings.Contains(string(out), p.Config["source"]) {
					t.Fatalf("loop device left: %s", out)
				}

				_, err = os.Stat(p.Config["source"])
				if !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("loop file left: %v", err)
				}
			}
		})
	}
}

func TestBtrfsQuota(t *testing.T) {
	drv, _, path := testPool(t, "btrfs", map[string]string{"size": "1GiB"})
	vol := filepath.Join(path, "v1")
	err := drv.CreateVolume(vol)
	if err != nil {
		t.Fatal(err)
	}

	err = drv.SetQuota(vol, 8<<20)
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Create(filepath.Join(vol, "big"))
	if err != nil {
		t.Fatal(err)
	}

	buf := make([]byte, 1<<20)
	var werr error
	for range 32 {
		_, werr = f.Write(buf)
		if werr == nil {
			werr = f.Sync()
		}

		if werr != nil {
			break
		}
	}

	_ = f.Close()
	if werr == nil {
		t.Fatal("32MiB written into a volume limited to 8MiB")
	}

	err = RemoveTree(vol)
	if err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		driver string
		config map[string]string
		ok     bool
	}{
		{"dir", map[string]string{"source": "/srv/x"}, true},
		{"dir", map[string]string{"source": "rel"}, false},
		{"dir", map[string]string{"size": "1GiB"}, false},
		{"dir", map[string]string{"volume.size": "1GiB"}, true},
		{"btrfs", map[string]string{"size": "10GiB", "btrfs.mount_options": "compress=zstd"}, true},
		{"btrfs", map[string]string{"size": "10"}, false},
		{"btrfs", map[string]string{"size": "lots"}, false},
		{"btrfs", map[string]string{"zfs.pool_name": "x"}, false},
	}

	for _, tt := range tests {
		drv, err := Load(tt.driver)
		if err != nil {
			t.Fatal(err)
		}

		err = drv.Validate(tt.config, true)
		if (err == nil) != tt.ok {
			t.Errorf("%s %v: got %v", tt.driver, tt.config, err)
		}

		if err != nil && !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s %v: not invalid: %v", tt.driver, tt.config, err)
		}
	}

	_, err := Load("zfs")
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("zfs: %v", err)
	}
}

func TestDefaultLoopSize(t *testing.T) {
	size := DefaultLoopSize(t.TempDir())
	if size < 5<<30 || size > 30<<30 || size%(1<<30) != 0 {
		t.Fatalf("default size %d", size)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "2MiB": 2 << 20, "1GB": 1e9, "3G": 3 << 30, "10GiB": 10 << 30} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("%s: got %d, %v", in, got, err)
		}
	}

	for _, in := range []string{"", "x", "-1", "1.5GiB"} {
		_, err := ParseSize(in)
		if err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

package instance

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestExecEnvironment(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]string
		req    map[string]string
		uid    uint32
		snap   bool
		want   map[string]string
		cwd    string
	}{
		{
			name: "root",
			want: map[string]string{"PATH": defaultPath, "LANG": "C.UTF-8", "HOME": "/root", "USER": "root"},
			cwd:  "/root",
		},
		{
			name: "another user gets no HOME nor USER",
			uid:  1000,
			want: map[string]string{"PATH": defaultPath, "LANG": "C.UTF-8"},
			cwd:  "/",
		},
		{
			name: "another user's HOME from the request",
			uid:  1000,
			req:  map[string]string{"HOME": "/home/u1", "FOO": "bar"},
			want: map[string]string{"PATH": defaultPath, "LANG": "C.UTF-8", "HOME": "/home/u1", "FOO": "bar"},
			cwd:  "/home/u1",
		},
		{
			name:   "configuration keys, overridden by the request",
			config: map[string]string{"environment.A": "config", "environment.B": "config", "limits.cpu": "1"},
			req:    map[string]string{"B": "req", "LANG": "fr_FR.UTF-8", "PATH": "/bin"},
			uid:    1000,
			want:   map[string]string{"PATH": "/bin", "LANG": "fr_FR.UTF-8", "A": "config", "B": "req"},
			cwd:    "/",
		},
		{
			name:   "root's HOME and USER from the configuration",
			config: map[string]string{"environment.HOME": "/srv", "environment.USER": "admin"},
			want:   map[string]string{"PATH": defaultPath, "LANG": "C.UTF-8", "HOME": "/srv", "USER": "admin"},
			cwd:    "/srv",
		},
		{
			name: "snap",
			snap: true,
			uid:  5,
			want: map[string]string{"PATH": defaultPath + ":/snap/bin", "LANG": "C.UTF-8"},
			cwd:  "/",
		},
		{
			name: "snap with a PATH asked for",
			snap: true,
			req:  map[string]string{"PATH": "/bin"},
			want: map[string]string{"PATH": "/bin", "LANG": "C.UTF-8", "HOME": "/root", "USER": "root"},
			cwd:  "/root",
		},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ExecEnvironment(c.config, c.req, c.uid, c.snap)
			if !maps.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}

			cwd := ExecCwd("", got)
			if cwd != c.cwd {
				t.Fatalf("got cwd %q, want %q", cwd, c.cwd)
			}

			cwd = ExecCwd("/tmp", got)
			if cwd != "/tmp" {
				t.Fatalf("got cwd %q, want the one asked for", cwd)
			}
		})
	}
}

// execDriver records the commands it is asked to run.
type execDriver struct {
	*fakeDriver
	specs []ExecSpec
}

func (d *execDriver) Exec(name string, spec ExecSpec) (int, error) {
	d.specs = append(d.specs, spec)
	return -1, errors.New("recorded")
}

func TestManagerExecEnvironment(t *testing.T) {
	m, fake := testManager(t)
	drv := &execDriver{fakeDriver: fake}
	m.driver = drv
	ctx := context.Background()
	bootInstance(t, m, "c1", map[string]string{"environment.FROM_CONFIG": "yes"})
	err := m.Start(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = m.Stop(ctx, "c1", 0, true) })
	exec := func(req ExecRequest) ExecSpec {
		t.Helper()
		req.Command = []string{"true"}
		_, _, err := m.Exec(ctx, "c1", req)
		if err == nil || err.Error() != "recorded" {
			t.Fatalf("got %v, want the driver's error", err)
		}

		return drv.specs[len(drv.specs)-1]
	}

	spec := exec(ExecRequest{UID: 1000, GID: 1000})
	want := []string{"FROM_CONFIG=yes", "LANG=C.UTF-8", "PATH=" + defaultPath}
	if !slices.Equal(spec.Env, want) || spec.Cwd != "/" || spec.UID != 1000 || spec.GID != 1000 {
		t.Fatalf("got %+v, want env %v in / as 1000:1000", spec, want)
	}

	err = os.Mkdir(filepath.Join(m.pool.ContainerRootfs("c1"), "snap"), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	spec = exec(ExecRequest{Env: map[string]string{"A": "b"}})
	want = []string{"A=b", "FROM_CONFIG=yes", "HOME=/root", "LANG=C.UTF-8", "PATH=" + defaultPath + ":/snap/bin", "USER=root"}
	if !slices.Equal(spec.Env, want) || spec.Cwd != "/root" {
		t.Fatalf("got %+v, want env %v in /root", spec, want)
	}

	env, err := m.ExecEnv(ctx, "c1", nil, 1000)
	if err != nil || env["PATH"] != defaultPath+":/snap/bin" || env["HOME"] != "" {
		t.Fatalf("got %v %v, want the environment of a user with /snap/bin", env, err)
	}

	_, err = m.ExecEnv(ctx, "nope", nil, 0)
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v, want not found", err)
	}
}

func TestSetPtyOwner(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	bootInstance(t, m, "c1", nil)
	for _, tc := range []struct {
		uid     uint32
		wantUID int
		wantGID int
	}{
		{uid: 0, wantUID: 1000000, wantGID: 1000000},
		{uid: 1000, wantUID: 1001000, wantGID: 1000000},
		{uid: 70000, wantUID: 0, wantGID: 0},
	} {
		master, tty, err := OpenPty(0, 0)
		if err != nil {
			t.Fatal(err)
		}

		err = m.SetPtyOwner(ctx, "c1", tty, tc.uid)
		if err != nil {
			t.Fatal(err)
		}

		fi, err := tty.Stat()
		if err != nil {
			t.Fatal(err)
		}

		st := fi.Sys().(*syscall.Stat_t)
		wantMode := os.FileMode(0o700)
		if tc.wantUID == 0 {
			wantMode = fi.Mode().Perm()
		}

		if int(st.Uid) != tc.wantUID || int(st.Gid) != tc.wantGID || fi.Mode().Perm() != wantMode {
			t.Errorf("uid %d: got %d:%d %v, want %d:%d %v", tc.uid, st.Uid, st.Gid, fi.Mode().Perm(), tc.wantUID, tc.wantGID, wantMode)
		}

		_ = tty.Close()
		_ = master.Close()
	}
}

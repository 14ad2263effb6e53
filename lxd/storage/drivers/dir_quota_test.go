package drivers

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirQuotaWarnsOncePerPool(t *testing.T) {
	drv, p, path := testPool(t, "dir", nil)
	var got []string
	p.Warn = func(message string) { got = append(got, message) }

	vol := filepath.Join(path, "v1")
	err := drv.CreateVolume(vol)
	if err != nil {
		t.Fatal(err)
	}

	// No size: nothing to warn about.
	err = drv.SetQuota(vol, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %q, want no error and no warning", err, got)
	}

	// Sizes are accepted; the first one is recorded, once.
	for _, size := range []int64{50 << 20, 1 << 30} {
		err = drv.SetQuota(vol, size)
		if err != nil {
			t.Fatalf("SetQuota(%d): got %v, want nil", size, err)
		}
	}

	// A volume not made yet is asked about through its parent.
	err = drv.SetQuota(filepath.Join(path, "missing"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}

	if len(got) != 1 {
		t.Fatalf("got %d warnings %q, want 1", len(got), got)
	}

	if !strings.Contains(got[0], `dir pool "p1"`) || !strings.Contains(got[0], "not enforced") {
		t.Fatalf("got %q, want the pool named and the size said not enforced", got[0])
	}
}

func TestDirQuotaWithoutHook(t *testing.T) {
	// A driver used before Mount (no pool) or without a hook accepts sizes too.
	d := &dir{}
	err := d.SetQuota(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnenforcedMessage(t *testing.T) {
	tests := []struct {
		why  error
		want string
	}{
		{nil, "the dir driver does not set project quotas"},
		{errors.New("project quotas are not enabled"), "project quotas are not enabled"},
	}

	for _, tt := range tests {
		got := unenforcedMessage("p1", tt.why)
		if !strings.HasPrefix(got, `size limits of volumes on the dir pool "p1" are accepted but not enforced: `) ||
			!strings.HasSuffix(got, tt.want) {
			t.Errorf("unenforcedMessage(%v): got %q, want it to end with %q", tt.why, got, tt.want)
		}
	}
}

func TestProjectQuotaSupportSaysWhy(t *testing.T) {
	err := projectQuotaSupport(t.TempDir())
	if err == nil {
		t.Skip("the file system of the temporary directory has project quotas in use")
	}

	if !strings.Contains(err.Error(), "file system holding") {
		t.Fatalf("got %q, want the file system named", err)
	}

	t.Logf("%v", err)
}

package instance

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// hotplugDriver is a fakeDriver that records disk hotplugs and fails the attach of one path.
type hotplugDriver struct {
	*fakeDriver
	calls      []string
	failAttach string
	failErr    error
}

func (h *hotplugDriver) AttachDisk(name string, dev map[string]string) error {
	h.calls = append(h.calls, "attach "+dev["path"]+" "+dev["source"])
	if dev["path"] == h.failAttach {
		return h.failErr
	}

	return nil
}

func (h *hotplugDriver) DetachDisk(name string, path string) error {
	h.calls = append(h.calls, "detach "+path)
	return nil
}

func disk(source string, path string) map[string]string {
	return map[string]string{"type": "disk", "source": source, "path": path}
}

// TestHotplugDisksUndo: a failed attach puts back what was changed, newest first, and the undo returned on success
// does the same.
func TestHotplugDisksUndo(t *testing.T) {
	before := map[string]map[string]string{"a": disk("/src1", "/a"), "b": disk("/src", "/b")}
	after := map[string]map[string]string{"a": disk("/src2", "/a"), "c": disk("/src", "/c")}
	changes := []string{"detach /a", "detach /b", "attach /a /src2", "attach /c /src"}
	undone := []string{"detach /c", "detach /a", "attach /b /src", "attach /a /src1"}

	h := &hotplugDriver{fakeDriver: newFakeDriver(), failAttach: "/c", failErr: errors.New("boom")}
	m := &Manager{driver: h}
	_, err := m.hotplugDisks("c1", before, after)
	if err == nil || err.Error() != `device "c": boom` {
		t.Fatalf("got %v, want the failed device's error", err)
	}

	want := append(slices.Clone(changes), undone[1:]...)
	if !slices.Equal(h.calls, want) {
		t.Fatalf("got calls %q, want %q", h.calls, want)
	}

	h = &hotplugDriver{fakeDriver: newFakeDriver()}
	m = &Manager{driver: h}
	undo, err := m.hotplugDisks("c1", before, after)
	if err != nil {
		t.Fatal(err)
	}

	if !slices.Equal(h.calls, changes) {
		t.Fatalf("got calls %q, want %q", h.calls, changes)
	}

	undo.Fail()
	want = append(slices.Clone(changes), undone...)
	if !slices.Equal(h.calls, want) {
		t.Fatalf("got calls %q after the undo, want %q", h.calls, want)
	}
}

// TestUpdateHotplugFailure: when a running container cannot take a new disk, the record is unchanged, and a
// container that stopped meanwhile is reported as not running, as before the error classes.
func TestUpdateHotplugFailure(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = m.Start(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = m.Stop(ctx, "c1", time.Second, true) })
	h := &hotplugDriver{fakeDriver: drv, failAttach: "/mnt"}
	m.driver = h
	put := api.InstancePut{Profiles: []string{"default"}, Devices: map[string]map[string]string{"d": disk(t.TempDir(), "/mnt")}}
	tests := []struct {
		err  error
		code int
		msg  string
	}{
		{ErrNotRunning, http.StatusBadRequest, "the instance is not running"},
		{errors.New("boom"), http.StatusInternalServerError, `device "d": boom`},
	}

	for _, tt := range tests {
		h.failErr = tt.err
		err = m.Update(ctx, "c1", put)
		code, msg := httpError(t, err)
		if code != tt.code || msg != tt.msg {
			t.Fatalf("got %d %q, want %d %q", code, msg, tt.code, tt.msg)
		}

		inst, err := m.Get(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}

		if len(inst.Devices) != 0 {
			t.Fatalf("got devices %v after a failed hotplug, want none", inst.Devices)
		}
	}
}

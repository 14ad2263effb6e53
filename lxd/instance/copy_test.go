package instance

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
)

// TestCopyRefusesPrivilegeChange: a copy that would change security.privileged is refused as the API always did,
// and leaves neither a row nor storage.
func TestCopyRefusesPrivilegeChange(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = m.Copy(ctx, CopyArgs{Source: "c1", Name: "c2", Config: map[string]string{"security.privileged": "true"}})
	code, msg := httpError(t, err)
	if code != http.StatusBadRequest || msg != "a copy cannot change security.privileged" {
		t.Fatalf("got %d %q, want the refusal of a privilege change", code, msg)
	}

	_, err = m.Get(ctx, "c2")
	if httpStatus(t, err) != http.StatusNotFound {
		t.Fatalf("got %v, want no row for the refused copy", err)
	}

	_, err = os.Stat(m.pool.ContainerPath("c2"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want no storage for the refused copy", err)
	}
}

// TestCopyVolatileKeys: a copy gets volatile keys of its own: a new uuid, the id map, a stopped power state, and no
// templates left to render.
func TestCopyVolatileKeys(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = m.Copy(ctx, CopyArgs{Source: "c1", Name: "c2"})
	if err != nil {
		t.Fatal(err)
	}

	src, err := m.load(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	dst, err := m.load(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}

	if dst.Config[KeyUUID] == "" || dst.Config[KeyUUID] == src.Config[KeyUUID] {
		t.Fatalf("got uuid %q (source %q), want a new one", dst.Config[KeyUUID], src.Config[KeyUUID])
	}

	if dst.Config[KeyIdmapBase] != "1000000" || dst.Config[KeyLastIdmap] != m.idmap.JSON() ||
		dst.Config[KeyLastStatePower] != "STOPPED" || dst.Config[KeyApplyTemplate] != "" {
		t.Fatalf("got config %v, want the id map, a stopped state and no pending templates", dst.Config)
	}
}

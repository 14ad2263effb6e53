package image

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// eventRecorder keeps the lifecycle actions sent.
type eventRecorder struct {
	mu      sync.Mutex
	actions []string
}

func (r *eventRecorder) SendLifecycle(project string, ev api.EventLifecycle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, ev.Action+" "+ev.Source)
}

func (r *eventRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.actions
	r.actions = nil
	return out
}

// copyReq is the request "lxc image copy SRC:name local:" sends for a simplestreams source.
func copyReq(server string, name string, autoUpdate bool, public bool, aliases ...string) api.ImagesPost {
	req := api.ImagesPost{Source: &api.ImagesPostSource{ImageSource: api.ImageSource{Server: server, Protocol: "simplestreams"},
		Fingerprint: name, Type: "image", Mode: "pull"}}
	req.AutoUpdate = autoUpdate
	req.Public = public
	for _, a := range aliases {
		req.Aliases = append(req.Aliases, api.ImageAlias{Name: a})
	}

	return req
}

// A copy of an image the store holds downloads nothing and updates it as LXD does: auto_update and public switched
// on, the aliases added and the source recorded for auto-update.
func TestCopyUpdatesExistingImage(t *testing.T) {
	ctx := context.Background()
	source := newTestEnv(t, nil)
	img := source.mustAdd(t, "v1", StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "tiny"}}})
	srv, files := streamsServer(t, source.m)

	e := newTestEnv(t, nil)
	events := &eventRecorder{}
	e.m.events = events
	e.mustAdd(t, "v1", StoreArgs{Properties: map[string]string{"note": "local"}})
	events.take()

	var last map[string]any
	got, err := e.m.Copy(ctx, copyReq(srv.URL, "tiny", true, true, "x"), PullArgs{Progress: func(md map[string]any) { last = md }})
	if err != nil {
		t.Fatal(err)
	}

	if got.Fingerprint != img.Fingerprint || files.Load() != 0 || last["fingerprint"] != img.Fingerprint {
		t.Fatalf("got %s after %d downloads (last report %v), want %s from the store", got.Fingerprint, files.Load(), last, img.Fingerprint)
	}

	row := e.row(t, img.Fingerprint)
	want := db.ImageSource{Server: srv.URL, Protocol: "simplestreams", Alias: "tiny"}
	if !row.Public || !row.AutoUpdate || row.Source == nil || *row.Source != want || row.Properties["note"] != "local" {
		t.Fatalf("got row %+v (source %+v), want public, auto-updating, source %+v, properties kept", row, row.Source, want)
	}

	aliases := e.aliasTargets(t)
	if aliases["x"] != img.Fingerprint {
		t.Fatalf("got aliases %v, want x -> %s", aliases, img.Fingerprint)
	}

	if got := events.take(); len(got) != 1 || got[0] != "image-updated "+URL(img.Fingerprint) {
		t.Fatalf("got events %v, want one image-updated", got)
	}

	// The same copy again changes nothing and says nothing.
	_, err = e.m.Copy(ctx, copyReq(srv.URL, "tiny", true, true, "x"), PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	if got := events.take(); len(got) != 0 {
		t.Fatalf("got events %v for a copy that changed nothing", got)
	}

	// A copy without the flags never switches them off, and one by fingerprint keeps the source with the alias.
	_, err = e.m.Copy(ctx, copyReq(srv.URL, img.Fingerprint, false, false), PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	row = e.row(t, img.Fingerprint)
	if !row.Public || !row.AutoUpdate || row.Source == nil || *row.Source != want {
		t.Fatalf("got row %+v (source %+v) after a plain copy by fingerprint, want it unchanged", row, row.Source)
	}
}

// The source of an image is recorded when it had none or another one; a copy by fingerprint records one only where
// there was none.
func TestCopyRecordsSource(t *testing.T) {
	ctx := context.Background()
	source := newTestEnv(t, nil)
	img := source.mustAdd(t, "v1", StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "tiny"}, {Name: "other"}}})
	srv, _ := streamsServer(t, source.m)
	mirror, _ := streamsServer(t, source.m)

	for _, tc := range []struct {
		name string
		have *db.ImageSource
		req  api.ImagesPost
		want db.ImageSource
	}{
		{name: "none, by fingerprint", req: copyReq(srv.URL, img.Fingerprint[:12], false, false),
			want: db.ImageSource{Server: srv.URL, Protocol: "simplestreams"}},
		{name: "another server", have: &db.ImageSource{Server: mirror.URL, Protocol: "simplestreams", Alias: "tiny"},
			req: copyReq(srv.URL, "tiny", false, false), want: db.ImageSource{Server: srv.URL, Protocol: "simplestreams", Alias: "tiny"}},
		{name: "another alias", have: &db.ImageSource{Server: srv.URL, Protocol: "simplestreams", Alias: "tiny"},
			req: copyReq(srv.URL, "other", false, false), want: db.ImageSource{Server: srv.URL, Protocol: "simplestreams", Alias: "other"}},
		{name: "by fingerprint over an alias", have: &db.ImageSource{Server: mirror.URL, Protocol: "simplestreams", Alias: "tiny"},
			req: copyReq(srv.URL, img.Fingerprint, false, false), want: db.ImageSource{Server: mirror.URL, Protocol: "simplestreams", Alias: "tiny"}},
		{name: "alias over a fingerprint", have: &db.ImageSource{Server: mirror.URL, Protocol: "simplestreams"},
			req: copyReq(srv.URL, "tiny", false, false), want: db.ImageSource{Server: srv.URL, Protocol: "simplestreams", Alias: "tiny"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			e.mustAdd(t, "v1", StoreArgs{Source: tc.have})
			_, err := e.m.Copy(ctx, tc.req, PullArgs{})
			if err != nil {
				t.Fatal(err)
			}

			row := e.row(t, img.Fingerprint)
			if row.Source == nil || *row.Source != tc.want {
				t.Fatalf("got source %+v, want %+v", row.Source, tc.want)
			}
		})
	}
}

// A cached image copied explicitly is kept for good; the daemon's own pull (Pull) changes nothing.
func TestCopyKeepsCachedImage(t *testing.T) {
	ctx := context.Background()
	source := newTestEnv(t, nil)
	img := source.mustAdd(t, "v1", StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "tiny"}}})
	srv, _ := streamsServer(t, source.m)

	e := newTestEnv(t, nil)
	fp, err := e.m.CacheRemote(ctx, api.InstanceSource{Server: srv.URL, Protocol: "simplestreams", Alias: "tiny"}, PullArgs{})
	if err != nil || fp != img.Fingerprint {
		t.Fatalf("got %s, %v, want %s cached", fp, err, img.Fingerprint)
	}

	before := e.row(t, fp)
	_, err = e.m.Pull(ctx, copyReq(srv.URL, "tiny", true, true, "x"), PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	after := e.row(t, fp)
	if !after.Cached || after.Public != before.Public || len(e.aliasTargets(t)) != 0 {
		t.Fatalf("got row %+v and aliases %v after Pull, want it unchanged", after, e.aliasTargets(t))
	}

	_, err = e.m.Copy(ctx, copyReq(srv.URL, "tiny", false, false), PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	if e.row(t, fp).Cached {
		t.Fatalf("image still cached after an explicit copy")
	}
}

// An alias of that name on another image refuses the copy, and nothing of it is applied.
func TestCopyAliasConflict(t *testing.T) {
	ctx := context.Background()
	source := newTestEnv(t, nil)
	img := source.mustAdd(t, "v1", StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "tiny"}}})
	srv, _ := streamsServer(t, source.m)

	e := newTestEnv(t, nil)
	e.mustAdd(t, "v1", StoreArgs{})
	other := e.mustAdd(t, "v2", StoreArgs{Aliases: []api.ImageAlias{{Name: "x"}}})
	_, err := e.m.Copy(ctx, copyReq(srv.URL, "tiny", true, true, "y", "x"), PullArgs{})
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v, want a conflict", err)
	}

	row := e.row(t, img.Fingerprint)
	aliases := e.aliasTargets(t)
	if row.Public || row.AutoUpdate || row.Source != nil || aliases["x"] != other.Fingerprint || len(aliases) != 1 {
		t.Fatalf("got row %+v (source %+v), aliases %v, want nothing changed", row, row.Source, aliases)
	}
}

// aliasTargets maps each alias to its target.
func (e *testEnv) aliasTargets(t *testing.T) map[string]string {
	t.Helper()
	aliases, err := e.m.Aliases(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	out := map[string]string{}
	for _, a := range aliases {
		out[a.Name] = a.Target
	}

	return out
}

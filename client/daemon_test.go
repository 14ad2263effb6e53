package client_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/daemon"
	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// startDaemon runs a daemon on a temporary directory and connects to its unix socket.
func startDaemon(t *testing.T) (*daemon.Daemon, *client.ProtocolLXD) {
	t.Helper()
	dir := t.TempDir()
	d := daemon.New(dir)
	err := d.Init()
	if err != nil {
		d.Stop()
		t.Fatal(err)
	}

	t.Cleanup(d.Stop)
	c, err := client.ConnectLXDUnix(filepath.Join(dir, "unix.socket"), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(c.Disconnect)
	return d, c.(*client.ProtocolLXD)
}

// clientOp returns the client's view of a server operation, as an async call would.
func clientOp(t *testing.T, c *client.ProtocolLXD, id string) client.Operation {
	t.Helper()
	op, _, err := c.GetOperation(id)
	if err != nil {
		t.Fatal(err)
	}

	return c.NewOperationForTest(*op)
}

func TestOperationWaitOverEvents(t *testing.T) {
	tests := []struct {
		name    string
		runErr  error
		wantErr string
	}{
		{"success", nil, ""},
		{"failure", errors.New("unpack failed: no space left"), "unpack failed: no space left"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, c := startDaemon(t)
			proceed := make(chan struct{})
			op, err := d.State().Ops.Create(operations.Args{
				Class:       api.OperationClassTask,
				Description: "Downloading image",
				Run: func(ctx context.Context, op *operations.Operation) error {
					<-proceed
					for _, p := range []string{"10%", "50%", "90%"} {
						err := op.UpdateMetadata(map[string]any{"download_progress": p})
						if err != nil {
							return err
						}
					}

					return tt.runErr
				},
			})
			if err != nil {
				t.Fatal(err)
			}

			err = op.Start()
			if err != nil {
				t.Fatal(err)
			}

			cop := clientOp(t, c, op.ID())
			var mu sync.Mutex
			var seen []string
			_, err = cop.AddHandler(func(o api.Operation) {
				mu.Lock()
				defer mu.Unlock()
				p, ok := o.Metadata["download_progress"].(string)
				if ok && o.StatusCode == api.Running {
					seen = append(seen, p)
				}
			})
			if err != nil {
				t.Fatal(err)
			}

			close(proceed)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = cop.WaitContext(ctx)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("got %v, want success", err)
			}

			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}

			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 3 || seen[0] != "10%" || seen[2] != "90%" {
				t.Fatalf("progress handler saw %v, want the three updates in order", seen)
			}

			if !cop.Get().StatusCode.IsFinal() {
				t.Fatalf("got status %d after Wait, want final", cop.Get().StatusCode)
			}
		})
	}
}

func TestOperationFinishedBeforeWait(t *testing.T) {
	d, c := startDaemon(t)
	op, err := d.State().Ops.Create(operations.Args{
		Class: api.OperationClassTask,
		Run:   func(ctx context.Context, op *operations.Operation) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	// The client holds the Running state of the 202 answer; the final event is gone before it listens.
	stale := op.Render()
	stale.StatusCode = api.Running
	cop := c.NewOperationForTest(stale)
	waitCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = op.Wait(waitCtx)
	if err != nil {
		t.Fatal(err)
	}

	err = cop.WaitContext(waitCtx)
	if err != nil {
		t.Fatalf("got %v, want success from the refresh after connecting", err)
	}

	if cop.Get().StatusCode != api.Success {
		t.Fatalf("got status %d, want Success", cop.Get().StatusCode)
	}
}

func TestOperationCancel(t *testing.T) {
	d, c := startDaemon(t)
	op, err := d.State().Ops.Create(operations.Args{
		Class:    api.OperationClassToken,
		Metadata: map[string]any{"secret": "abc"},
	})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	cop := clientOp(t, c, op.ID())
	ids, err := c.GetOperationUUIDs()
	if err != nil || len(ids) != 1 || ids[0] != op.ID() {
		t.Fatalf("got %v %v, want [%s]", ids, err, op.ID())
	}

	ops, err := c.GetOperations()
	if err != nil || len(ops) != 1 || !ops[0].MayCancel || ops[0].Metadata["secret"] != "abc" {
		t.Fatalf("got %+v %v, want the running token", ops, err)
	}

	// Cancel once the waiter is listening, so the Cancelled event reaches it: AddHandler returns with the
	// operation's event listener connected, and Wait uses that listener.
	listen(t, cop)
	waited := make(chan error, 1)
	go func() {
		waited <- cop.Wait()
	}()

	err = cop.Cancel()
	if err != nil {
		t.Fatal(err)
	}

	select {
	case err = <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the cancel")
	}

	if err == nil || err.Error() != "operation cancelled" {
		t.Fatalf("got %v, want operation cancelled", err)
	}

	err = c.DeleteOperation(op.ID())
	if !api.StatusErrorCheck(err, http.StatusBadRequest) {
		t.Fatalf("second delete: got %v, want a 400", err)
	}

	final, _, err := c.GetOperationWait(op.ID(), 1)
	if err != nil || final.StatusCode != api.Cancelled {
		t.Fatalf("got %+v %v, want the cancelled operation", final, err)
	}

	_, _, err = c.GetOperation("nope")
	if !api.StatusErrorCheck(err, http.StatusNotFound) {
		t.Fatalf("unknown operation: got %v, want a 404", err)
	}
}

func TestEventsOverUnixSocket(t *testing.T) {
	d, c := startDaemon(t)
	l, err := c.GetEvents()
	if err != nil {
		t.Fatal(err)
	}

	got := make(chan api.Event, 100)
	_, err = l.AddHandler([]string{api.EventTypeLifecycle, api.EventTypeLogging}, func(ev api.Event) {
		got <- ev
	})
	if err != nil {
		t.Fatal(err)
	}

	d.State().Events.SendLifecycle("", api.EventLifecycle{Action: "image-created", Source: "/1.0/images/abc"})
	slog.Warn("events test marker", "key", "value")

	var sawLifecycle, sawLogging bool
	timeout := time.After(5 * time.Second)
	for !sawLifecycle || !sawLogging {
		select {
		case ev := <-got:
			switch ev.Type {
			case api.EventTypeLifecycle:
				var lc api.EventLifecycle
				_ = json.Unmarshal(ev.Metadata, &lc)
				sawLifecycle = lc.Action == "image-created" && ev.Project == "default" && ev.Location == "none"
			case api.EventTypeLogging:
				var rec api.EventLogging
				_ = json.Unmarshal(ev.Metadata, &rec)
				if rec.Message == "events test marker" {
					sawLogging = rec.Level == "warning" && rec.Context["key"] == "value"
				}
			}

		case <-timeout:
			t.Fatalf("lifecycle seen %v, logging seen %v; want both", sawLifecycle, sawLogging)
		}
	}

	l.Disconnect()
	err = l.Wait()
	if err != nil {
		t.Fatalf("Wait after Disconnect: got %v, want nil", err)
	}

	_, err = l.AddHandler(nil, func(api.Event) {})
	if err == nil {
		t.Fatal("adding a handler to a disconnected listener succeeded")
	}
}

func TestEventsEndOnDaemonStop(t *testing.T) {
	d, c := startDaemon(t)
	release := make(chan struct{})
	defer close(release)
	op, err := d.State().Ops.Create(operations.Args{
		Class: api.OperationClassTask,
		Run: func(ctx context.Context, op *operations.Operation) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-release:
				return nil
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	cop := clientOp(t, c, op.ID())
	listen(t, cop)
	waited := make(chan error, 1)
	go func() {
		waited <- cop.Wait()
	}()

	d.Stop()
	select {
	case err = <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return when the daemon stopped")
	}

	// Shutdown cancels the operation and flushes its last event before closing the listeners.
	if err == nil || err.Error() != "operation cancelled" {
		t.Fatalf("got %v, want operation cancelled", err)
	}
}

// listen connects the event listener of op and returns once it is connected, with the operation read again
// after the connection; a later Wait uses that listener.
func listen(t *testing.T, op client.Operation) {
	t.Helper()
	_, err := op.AddHandler(func(api.Operation) {})
	if err != nil {
		t.Fatal(err)
	}
}

// tlsEventsServer serves the events websocket over HTTPS; callers presenting a client certificate are trusted.
func tlsEventsServer(t *testing.T) (*events.Server, *httptest.Server, []byte) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.GeneratePEM(false)
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	ev := events.NewServer()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trusted := r.TLS != nil && len(r.TLS.PeerCertificates) > 0
		req := &request.Requestor{Trusted: trusted, Protocol: "tls", Address: r.RemoteAddr}
		_ = ev.ServeWebsocket(w, r.WithContext(request.WithRequestor(r.Context(), req)))
	}))
	srv.TLS = tlsutil.ServerConfig(&tlsutil.CertInfo{KeyPair: pair, PEM: certPEM})
	srv.StartTLS()
	t.Cleanup(func() {
		ev.Close(time.Second)
		srv.Close()
	})

	return ev, srv, certPEM
}

func TestEventsOverHTTPS(t *testing.T) {
	ev, srv, serverPEM := tlsEventsServer(t)
	clientCert, clientKey, err := tlsutil.GeneratePEM(true)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    client.ConnectionArgs
		wantErr func(error) bool
	}{
		{
			name: "trusted client certificate",
			args: client.ConnectionArgs{TLSClientCert: string(clientCert), TLSClientKey: string(clientKey),
				TLSServerCert: string(serverPEM)},
		},
		{
			name:    "no client certificate",
			args:    client.ConnectionArgs{TLSServerCert: string(serverPEM)},
			wantErr: func(err error) bool { return api.StatusErrorCheck(err, http.StatusForbidden) },
		},
		{
			name: "wrong pinned certificate",
			args: client.ConnectionArgs{TLSClientCert: string(clientCert), TLSClientKey: string(clientKey),
				TLSServerCert: string(clientCert)},
			wantErr: func(err error) bool { return err != nil && !api.StatusErrorCheck(err) },
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.NewHTTPSForTest(srv.URL, &tt.args)
			if err != nil {
				t.Fatal(err)
			}

			l, err := c.GetEvents()
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("got %v, want a refusal", err)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			defer l.Disconnect()
			got := make(chan api.Event, 1)
			_, err = l.AddHandler(nil, func(e api.Event) { got <- e })
			if err != nil {
				t.Fatal(err)
			}

			// The server subscribes a listener before it answers the upgrade: it is registered once GetEvents
			// has returned.
			if ev.ListenerCount() != 1 {
				t.Fatalf("got %d listeners once connected, want 1", ev.ListenerCount())
			}

			ev.SendLifecycle("", api.EventLifecycle{Action: "image-deleted"})
			select {
			case e := <-got:
				if e.Type != api.EventTypeLifecycle {
					t.Fatalf("got %s event, want lifecycle", e.Type)
				}

			case <-time.After(5 * time.Second):
				t.Fatal("no event over HTTPS")
			}
		})
	}
}

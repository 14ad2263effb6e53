package migration

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A receiver that goes away in the middle of a transfer ends the sender's session with an error, instead of leaving
// rsync blocked on output nobody reads (and the migration, with the instance's lock, running for ever).
func TestRsyncSendReceiverGone(t *testing.T) {
	_, err := exec.LookPath("rsync")
	if err != nil {
		t.Skip("no rsync")
	}

	src := t.TempDir()
	big := make([]byte, 64<<20)
	_, _ = rand.Read(big)
	err = os.WriteFile(filepath.Join(src, "big"), big, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	server, client := pair(t)
	dst := t.TempDir()

	// A real receiver takes the first bytes; once its temporary file appears, its connection drops without a
	// close handshake, as a killed daemon's does.
	go func() {
		_ = rsyncRecv(context.Background(), server, dst, &RsyncFeatures{}, nil)
	}()

	go func() {
		for range 600 {
			entries, _ := os.ReadDir(dst)
			if len(entries) > 0 {
				break
			}

			time.Sleep(10 * time.Millisecond)
		}

		_ = server.UnderlyingConn().Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rsyncSend(ctx, client, []string{filepath.Join(src, "big")}, &RsyncFeatures{}, nil) }()
	select {
	case err = <-done:
		if err == nil {
			t.Fatal("a transfer whose receiver went away succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sender is still waiting 30 s after its receiver went away")
	}
}

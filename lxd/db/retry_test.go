package db

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// A transaction on the cluster database that finds it held by another writer runs again until it can; an error of
// the transaction's own is returned at once.
func TestTransactionRetriesBusyClusterDatabase(t *testing.T) {
	d := newTestDB(t)
	path := filepath.Join(t.TempDir(), "global.db")
	params := url.Values{}
	params.Set("_busy_timeout", "0")
	params.Set("_txlock", "exclusive")
	dsnNoWait := (&url.URL{Scheme: "file", Path: path, RawQuery: params.Encode()}).String()
	global, err := sql.Open(driverName, dsnNoWait)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = global.Close() })
	err = d.UseCluster(context.Background(), ClusterArgs{Global: global, NodeConfig: testNodeConfig})
	if err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open(driverName, dsnNoWait)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = other.Close() })
	held, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}

	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = held.Commit()
	}()

	start := time.Now()
	calls := 0
	err = d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		calls++
		return tx.UpdateConfig(ctx, map[string]string{"user.k": "v"})
	})
	if err != nil {
		t.Fatalf("a transaction that waited for another writer: %v", err)
	}

	// It could only succeed once the other writer committed.
	if calls == 0 || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("ran %d times in %v, want it to wait for the other writer", calls, time.Since(start))
	}

	calls = 0
	err = d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		calls++
		return errs.Busy("not the database's")
	})
	if !errors.Is(err, errs.ErrBusy) || calls != 1 {
		t.Fatalf("an error of the transaction's own: %v after %d calls", err, calls)
	}
}

package storage

import (
	"errors"
	"reflect"
	"testing"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
)

func TestCheckJoin(t *testing.T) {
	cluster := []ClusterPool{{Name: "default", Driver: "dir"}, {Name: "fast", Driver: "btrfs"}}
	local := []db.StoragePool{{Name: "default", Driver: "dir"}}

	err := CheckJoin(local, cluster, map[string]map[string]string{"fast": {"source": "/dev/sdb", "size": "5GiB"}})
	if err != nil {
		t.Fatalf("a matching join: %v", err)
	}

	for name, c := range map[string]struct {
		local  []db.StoragePool
		member map[string]map[string]string
	}{
		"pool the cluster lacks": {[]db.StoragePool{{Name: "mine", Driver: "dir"}}, nil},
		"other driver":           {[]db.StoragePool{{Name: "fast", Driver: "dir"}}, nil},
		"config of no pool":      {nil, map[string]map[string]string{"nope": {"source": "/x"}}},
		"shared key":             {nil, map[string]map[string]string{"fast": {"btrfs.mount_options": "x"}}},
	} {
		err := CheckJoin(c.local, cluster, c.member)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestSharedConfig(t *testing.T) {
	got := SharedConfig(map[string]string{"source": "/a", "size": "1GiB", "rsync.bwlimit": "5", "volatile.initial_source": "/b"})
	if !reflect.DeepEqual(got, map[string]string{"rsync.bwlimit": "5"}) {
		t.Fatalf("SharedConfig = %v", got)
	}
}

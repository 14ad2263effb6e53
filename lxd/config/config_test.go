package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestChange(t *testing.T) {
	current := New(map[string]string{AutoUpdateInterval: "12", RemoteCacheExpiry: "3"})

	next, changed, err := current.Change(map[string]any{HTTPSAddress: "127.0.0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}

	if next[HTTPSAddress] != "127.0.0.1:8443" || next[AutoUpdateInterval] != "12" {
		t.Fatalf("PATCH: got %v, want the address with its default port and the other keys kept", next)
	}

	if len(changed) != 1 || changed[HTTPSAddress] != "127.0.0.1:8443" {
		t.Fatalf("PATCH changed: got %v", changed)
	}

	next, changed, err = current.Change(map[string]any{AutoUpdateInterval: "12"}, true)
	if err != nil {
		t.Fatal(err)
	}

	_, kept := next[RemoteCacheExpiry]
	if kept || changed[RemoteCacheExpiry] != "" || len(changed) != 1 {
		t.Fatalf("PUT must unset absent keys: got next %v, changed %v", next, changed)
	}

	bad := []map[string]any{
		{"core.nope": "1"},
		{AutoUpdateInterval: "-1"},
		{AutoUpdateInterval: "six"},
		{CompressionAlgorithm: "xz; rm -rf /"},
		{AutoUpdateCached: "maybe"},
		{HTTPSAddress: "127.0.0.1:99999"},
		{HTTPSAddress: "notanaddress"},
		{HTTPSAddress: "example.org:8443"},
		{AutoUpdateInterval: []any{1}},
	}

	for _, b := range bad {
		_, _, err := current.Change(b, false)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("change %v: got %v, want an invalid error", b, err)
		}
	}
}

func TestListenAddressAcceptedWithoutLookup(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		":8443":          ":8443",
		"127.0.0.1":      "127.0.0.1:8443",
		"[::1]:9000":     "[::1]:9000",
		"::":             "[::]:8443",
		"localhost:8444": "localhost:8444",
		"[fe80::1%lo]:1": "[fe80::1%lo]:1",
		"0.0.0.0:443":    "0.0.0.0:443",
	} {
		got, err := NormalizeListenAddress(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v, want %q", in, got, err, want)
		}
	}
}

func TestTrustPassword(t *testing.T) {
	c := New(nil)
	next, _, err := c.Change(map[string]any{TrustPassword: "s3cret"}, false)
	if err != nil {
		t.Fatal(err)
	}

	stored := next[TrustPassword]
	if strings.Contains(stored, "s3cret") || !CheckPassword(stored, "s3cret") || CheckPassword(stored, "wrong") {
		t.Fatalf("stored password %q: must be a hash that checks only the right password", stored)
	}

	c = New(next)
	if c.Render()[TrustPassword] != true {
		t.Fatalf("render: got %v, want the password masked as true", c.Render())
	}

	// A client sending the masked value back keeps the password.
	again, changed, err := c.Change(c.Render(), true)
	if err != nil {
		t.Fatal(err)
	}

	if again[TrustPassword] != stored || len(changed) != 0 {
		t.Fatalf("masked value sent back: got %v, changed %v", again, changed)
	}
}

func TestDefaults(t *testing.T) {
	c := New(nil)
	if c.Int(AutoUpdateInterval) != 6 || c.Int(RemoteCacheExpiry) != 10 || !c.Bool(AutoUpdateCached) ||
		c.Get(CompressionAlgorithm) != "gzip" {
		t.Fatalf("defaults: got %d %d %v %q", c.Int(AutoUpdateInterval), c.Int(RemoteCacheExpiry),
			c.Bool(AutoUpdateCached), c.Get(CompressionAlgorithm))
	}
}

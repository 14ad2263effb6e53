package oci

import (
	"strings"
	"testing"
)

func TestReference(t *testing.T) {
	cases := []struct {
		server, image, want string
	}{
		{"https://docker.io", "busybox", "index.docker.io/library/busybox:latest"},
		{"https://registry-1.docker.io", "busybox:1.36", "index.docker.io/library/busybox:1.36"},
		{"https://docker.io", "user/app:v1", "index.docker.io/user/app:v1"},
		{"https://127.0.0.1:5000", "busybox", "127.0.0.1:5000/busybox:latest"},
		{"https://127.0.0.1:5000", "a/b:t", "127.0.0.1:5000/a/b:t"},
		{"https://ghcr.io", "org/img@sha256:" + strings.Repeat("a", 64), "ghcr.io/org/img@sha256:" + strings.Repeat("a", 64)},
		{"https://ghcr.io", "org/img:tag@sha256:" + strings.Repeat("b", 64), "ghcr.io/org/img@sha256:" + strings.Repeat("b", 64)},
	}

	for _, c := range cases {
		r, err := NewRegistry(c.server)
		if err != nil {
			t.Fatal(err)
		}

		ref, err := r.Reference(c.image)
		if err != nil {
			t.Fatalf("%s %s: %v", c.server, c.image, err)
		}

		if ref.Name() != c.want {
			t.Errorf("%s %s: got %s, want %s", c.server, c.image, ref.Name(), c.want)
		}
	}

	r, _ := NewRegistry("https://127.0.0.1:5000")
	for _, bad := range []string{"", "UPPER", "a b", "x@sha256:short", "https://x/y", "a/../b"} {
		_, err := r.Reference(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		}
	}

	for _, bad := range []string{"ftp://x", "https://", "https://host/path", "host:5000"} {
		_, err := NewRegistry(bad)
		if err == nil {
			t.Errorf("registry %q accepted", bad)
		}
	}
}

func TestRegistryCredentials(t *testing.T) {
	r, err := NewRegistry("https://alice:secret@127.0.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}

	if r.URL != "https://127.0.0.1:5000" {
		t.Fatalf("credentials kept in the URL: %s", r.URL)
	}
}

func TestFingerprint(t *testing.T) {
	// sha256("sha256:aasha256:bb")
	got := Fingerprint([]string{"sha256:aa", "sha256:bb"})
	if got != "97a77dfe44a08a743390c23c65e12269f883b0f8e7ddf057b967c4a16966848e" {
		t.Fatalf("got %s", got)
	}

	if Fingerprint([]string{"sha256:aa", "sha256:bb"}) == Fingerprint([]string{"sha256:bb", "sha256:aa"}) {
		t.Fatal("the layer order does not count")
	}
}

func FuzzReference(f *testing.F) {
	f.Add("https://docker.io", "busybox:1.36")
	f.Add("https://127.0.0.1:5000", "a/b@sha256:"+strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, server string, image string) {
		r, err := NewRegistry(server)
		if err != nil {
			return
		}

		ref, err := r.Reference(image)
		if err != nil {
			return
		}

		// A parsed reference always names the registry it was parsed for.
		if ref.Context().RegistryStr() == "" || strings.Contains(ref.Context().RepositoryStr(), "..") {
			t.Fatalf("%q %q: %s", server, image, ref.Name())
		}
	})
}

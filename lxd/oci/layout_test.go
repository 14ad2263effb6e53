package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lxd-go/lxd/lxd/errs"
	registry "github.com/lxd-go/lxd/shared/oci"
)

// layoutSource pulls a two-layer image into a fresh store and writes it as a layout; it returns the layout, the
// layer blobs as the registry served them and the image's fingerprint.
func layoutSource(t *testing.T, zstd bool) ([]byte, [][]byte, string) {
	t.Helper()
	base := layer(t, dir("bin"), file("bin/busybox", "bb"), dir("etc"), file("etc/gone", "g"))
	top := layer(t, file("etc/.wh.gone", ""), file("etc/new", "n"))
	info, s, _ := pushAndPull(t, "app:1", testImage(t, runtime.GOARCH, zstd, v1.Config{Cmd: []string{"/bin/busybox"}}, base, top))
	l, err := s.OpenLayout(info.Fingerprint, "app:1", info.RawConfig)
	if err != nil {
		t.Fatal(err)
	}

	defer l.Close()
	var buf bytes.Buffer
	err = l.Write(&buf)
	if err != nil {
		t.Fatal(err)
	}

	var blobs [][]byte
	for _, d := range info.Layers {
		f, err := s.Open(d.Digest.String())
		if err != nil {
			t.Fatal(err)
		}

		data, _ := io.ReadAll(f)
		_ = f.Close()
		blobs = append(blobs, data)
	}

	return buf.Bytes(), blobs, info.Fingerprint
}

func TestLayoutCopiesImage(t *testing.T) {
	for _, zstd := range []bool{false, true} {
		data, _, fp := layoutSource(t, zstd)

		// What a layout holds, in its order.
		var names []string
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}

			names = append(names, hdr.Name)
		}

		if len(names) != 8 || !slices.Equal(names[:4], []string{"blobs/", "blobs/sha256/", "oci-layout", "index.json"}) {
			t.Fatalf("layout entries: %v", names)
		}

		s, is := newStores(t)
		img, err := s.ReadLayout(context.Background(), bytes.NewReader(data), fp, "app:1", "app")
		if err != nil {
			t.Fatal(err)
		}

		if img.Fingerprint != fp || img.Name != "app" || img.Reference != "app:1" || len(img.Layers) != 2 {
			t.Fatalf("image: %+v", img)
		}

		pending, err := s.Pull(context.Background(), img, is, nil)
		if err != nil {
			t.Fatal(err)
		}

		if pending.Fingerprint != fp || pending.Metadata.Properties["description"] != "app (OCI)" {
			t.Fatalf("pending: %+v %+v", pending, pending.Metadata)
		}

		err = pending.Commit()
		if err != nil {
			t.Fatal(err)
		}

		got := tree(t, unpackImage(t, is, fp))
		want := []string{"bin/", "bin/busybox", "etc/", "etc/new"}
		if !slices.Equal(got, want) {
			t.Fatalf("tree: got %v, want %v", got, want)
		}
	}
}

func TestLayoutRefusals(t *testing.T) {
	data, blobs, fp := layoutSource(t, false)
	tampered := bytes.Clone(data)
	at := bytes.Index(tampered, blobs[1])
	if at < 0 {
		t.Fatal("the second layer is not in the layout")
	}

	tampered[at+len(blobs[1])/2] ^= 0xff
	other := "0000000000000000000000000000000000000000000000000000000000000000"
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"a tampered layer", tampered, "content hashes to"},
		{"another fingerprint", data, "its layers make the image " + fp + ", not " + other},
		{"a cut stream", data[:len(data)-2048], "invalid OCI image layout"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStores(t)
			want := fp
			if tt.name == "another fingerprint" {
				want = other
			}

			_, err := s.ReadLayout(context.Background(), bytes.NewReader(tt.data), want, "app:1", "app")
			if err == nil || !errors.Is(err, errs.ErrInvalid) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("got %v, want a refusal saying %q", err, tt.want)
			}

			// The caller forgets the image after a refusal: nothing is left.
			err = s.Forget(want)
			if err != nil {
				t.Fatal(err)
			}

			left, _ := s.Blobs()
			if len(left) != 0 {
				t.Fatalf("blobs left: %v", left)
			}
		})
	}
}

// fuzzLayout is a layout of one small layer, written by a store without a registry: the seed of FuzzReadLayout.
func fuzzLayout(f *testing.F) ([]byte, string) {
	f.Helper()
	s, err := NewStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}

	blob := layer(f, dir("bin"), file("bin/x", "x"))
	config := []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)
	digests := make([]string, 0, 2)
	for _, data := range [][]byte{blob, config} {
		sum := sha256.Sum256(data)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		err = s.Put(context.Background(), digest, int64(len(data)), bytes.NewReader(data), nil)
		if err != nil {
			f.Fatal(err)
		}

		digests = append(digests, digest)
	}

	fp := registry.Fingerprint(digests[:1])
	err = s.Record(fp, record{Reference: "x:1", Config: digests[1], Layers: digests[:1]})
	if err != nil {
		f.Fatal(err)
	}

	l, err := s.OpenLayout(fp, "x:1", config)
	if err != nil {
		f.Fatal(err)
	}

	defer l.Close()
	var buf bytes.Buffer
	err = l.Write(&buf)
	if err != nil {
		f.Fatal(err)
	}

	return buf.Bytes(), fp
}

// FuzzReadLayout checks that no layout makes ReadLayout panic, store a blob that does not match its digest, or
// accept an image of another fingerprint; and that a refused one leaves nothing once forgotten.
func FuzzReadLayout(f *testing.F) {
	seed, fp := fuzzLayout(f)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}

		img, err := s.ReadLayout(context.Background(), bytes.NewReader(data), fp, "x:1", "x")
		if err != nil {
			err = s.Forget(fp)
			if err != nil {
				t.Fatal(err)
			}

			left, _ := s.Blobs()
			if len(left) != 0 {
				t.Fatalf("blobs left after a refusal: %v", left)
			}

			return
		}

		if img.Fingerprint != fp {
			t.Fatalf("accepted the image %s for %s", img.Fingerprint, fp)
		}

		blobs, _ := s.Blobs()
		for _, digest := range blobs {
			bf, err := s.Open(digest)
			if err != nil {
				t.Fatal(err)
			}

			h := sha256.New()
			_, _ = io.Copy(h, bf)
			_ = bf.Close()
			if "sha256:"+hex.EncodeToString(h.Sum(nil)) != digest {
				t.Fatalf("blob %s does not match its digest", digest)
			}
		}
	})
}

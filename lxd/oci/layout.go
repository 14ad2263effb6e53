package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lxd-go/lxd/lxd/errs"
	registry "github.com/lxd-go/lxd/shared/oci"
)

// An OCI image travels between servers as an OCI image layout in a tar stream: oci-layout, index.json (one
// manifest), then the blobs under blobs/sha256/ in the order the manifest needs them: the manifest, the
// configuration, the layers. The receiver checks each blob against its digest as it streams and recomputes the
// fingerprint from the layers, so the image it stores is the one its fingerprint names, as after a registry pull.

// maxLayoutJSON bounds the index, manifest and configuration of a layout.
const maxLayoutJSON = 4 << 20

// refNameAnnotation names the image of an index entry (the OCI image layout's annotation).
const refNameAnnotation = "org.opencontainers.image.ref.name"

// readRecord returns the record of the image fp.
func (s *Store) readRecord(fp string) (record, error) {
	var rec record
	data, err := os.ReadFile(s.recordPath(fp))
	if errors.Is(err, os.ErrNotExist) {
		return rec, errs.NotFound("image %s has no OCI blobs here", fp)
	}

	if err != nil {
		return rec, err
	}

	err = json.Unmarshal(data, &rec)
	return rec, err
}

// layerMediaType tells the media type of a layer blob from its first bytes: gzip, zstd or a plain tar.
func layerMediaType(f *os.File) (types.MediaType, error) {
	magic := make([]byte, 4)
	n, err := f.ReadAt(magic, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}

	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return types.OCILayer, nil
	case n == 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return types.OCILayerZStd, nil
	}

	return types.OCIUncompressedLayer, nil
}

// Layout is an image of the store ready to be written as an OCI image layout, its blobs open: a deletion of the
// image while they stream leaves them readable.
type Layout struct {
	manifest    v1.Manifest
	rawManifest []byte
	rawConfig   []byte
	reference   string
	files       []*os.File
}

// OpenLayout prepares the image fp of the store to be written as an OCI image layout (see above). Its manifest is
// made again from what the store recorded, with OCI media types (the registry's may have been a Docker one): the
// fingerprint, which depends on the layers' digests only, stays. rawConfig is the image's configuration, as its
// digest was checked at the pull; reference names the image in the index. The caller closes the layout.
func (s *Store) OpenLayout(fp string, reference string, rawConfig []byte) (*Layout, error) {
	rec, err := s.readRecord(fp)
	if err != nil {
		return nil, err
	}

	sum := sha256.Sum256(rawConfig)
	if "sha256:"+hex.EncodeToString(sum[:]) != rec.Config {
		return nil, fmt.Errorf("image %s: its configuration does not match the digest recorded (%s)", fp, rec.Config)
	}

	l := &Layout{rawConfig: rawConfig, reference: reference}
	l.manifest = v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	l.manifest.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(rawConfig))}
	l.manifest.Config.Digest, err = v1.NewHash(rec.Config)
	if err != nil {
		return nil, err
	}

	for _, digest := range rec.Layers {
		err = l.addLayer(s, digest)
		if err != nil {
			l.Close()
			return nil, err
		}
	}

	l.rawManifest, err = json.Marshal(l.manifest)
	if err != nil {
		l.Close()
		return nil, err
	}

	return l, nil
}

// addLayer opens the layer blob digest and adds it to the manifest.
func (l *Layout) addLayer(s *Store, digest string) error {
	f, err := s.Open(digest)
	if err != nil {
		return err
	}

	l.files = append(l.files, f)
	st, err := f.Stat()
	if err != nil {
		return err
	}

	mediaType, err := layerMediaType(f)
	if err != nil {
		return err
	}

	hash, err := v1.NewHash(digest)
	if err != nil {
		return err
	}

	l.manifest.Layers = append(l.manifest.Layers, v1.Descriptor{MediaType: mediaType, Size: st.Size(), Digest: hash})
	return nil
}

// Close closes the blobs of the layout.
func (l *Layout) Close() {
	for _, f := range l.files {
		_ = f.Close()
	}
}

// Write writes the layout as a tar stream.
func (l *Layout) Write(w io.Writer) error {
	rawManifest, manifest, rawConfig := l.rawManifest, l.manifest, l.rawConfig

	msum := sha256.Sum256(rawManifest)
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType:   types.OCIManifestSchema1,
		Size:        int64(len(rawManifest)),
		Digest:      v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(msum[:])},
		Annotations: map[string]string{refNameAnnotation: l.reference},
	}}}

	rawIndex, err := json.Marshal(index)
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	now := time.Now().UTC().Truncate(time.Second)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: now})
		if err != nil {
			return err
		}
	}

	small := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", rawIndex},
		{"blobs/sha256/" + hex.EncodeToString(msum[:]), rawManifest},
		{"blobs/sha256/" + manifest.Config.Digest.Hex, rawConfig},
	}

	for _, e := range small {
		err = writeLayoutFile(tw, e.name, int64(len(e.data)), bytes.NewReader(e.data), now)
		if err != nil {
			return err
		}
	}

	written := map[string]bool{}
	for i, f := range l.files {
		// A layer listed twice is one blob.
		layer := manifest.Layers[i]
		if written[layer.Digest.Hex] {
			continue
		}

		written[layer.Digest.Hex] = true
		err = writeLayoutFile(tw, "blobs/sha256/"+layer.Digest.Hex, layer.Size, io.NewSectionReader(f, 0, layer.Size), now)
		if err != nil {
			return err
		}
	}

	return tw.Close()
}

// writeLayoutFile writes one file of a layout.
func writeLayoutFile(tw *tar.Writer, name string, size int64, r io.Reader, mtime time.Time) error {
	err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: mtime})
	if err != nil {
		return err
	}

	_, err = io.CopyN(tw, r, size)
	return err
}

// layoutReader follows a layout as ReadLayout reads it.
type layoutReader struct {
	store    *Store
	want     string
	manifest *v1.Descriptor
	rawMan   []byte
	rawConf  []byte
	layers   map[string]int64
	seen     map[string]bool
}

// invalidLayout is the refusal of a layout.
func invalidLayout(format string, args ...any) error {
	return errs.Invalid("invalid OCI image layout: %s", fmt.Sprintf(format, args...))
}

// ReadLayout reads an OCI image layout written by Layout.Write from r and returns the image it holds, described as
// reference of repository. Each blob is checked against its digest and size as it streams; the layers go to the
// store, recorded for the image once its manifest shows that its fingerprint is want (another fingerprint is
// refused before any layer is stored). A refused layout stores nothing the store keeps: the caller forgets the
// image (Forget(want)) on any error, as after a failed pull.
func (s *Store) ReadLayout(ctx context.Context, r io.Reader, want string, reference string, repository string) (*registry.Image, error) {
	lr := &layoutReader{store: s, want: want, seen: map[string]bool{}}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			return nil, invalidLayout("%v", err)
		}

		if hdr.Typeflag == tar.TypeDir {
			continue
		}

		if hdr.Typeflag != tar.TypeReg {
			return nil, invalidLayout("%s is not a regular file", hdr.Name)
		}

		err = lr.entry(ctx, strings.TrimPrefix(hdr.Name, "./"), hdr.Size, tr)
		if err != nil {
			return nil, err
		}
	}

	if lr.rawConf == nil {
		return nil, invalidLayout("no image configuration")
	}

	for digest := range lr.layers {
		if !lr.seen[digest] {
			return nil, invalidLayout("layer %s is missing", digest)
		}
	}

	img, err := registry.FromLayout(reference, repository, lr.rawMan, lr.rawConf)
	if err != nil {
		return nil, invalidLayout("%v", err)
	}

	return img, nil
}

// readSmall reads a JSON file of a layout, checking it against digest when not empty.
func readSmall(name string, size int64, r io.Reader, digest string) ([]byte, error) {
	if size > maxLayoutJSON {
		return nil, invalidLayout("%s is larger than %d bytes", name, maxLayoutJSON)
	}

	data, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return nil, invalidLayout("%s: %v", name, err)
	}

	sum := sha256.Sum256(data)
	if digest != "" && "sha256:"+hex.EncodeToString(sum[:]) != digest {
		return nil, invalidLayout("%s does not match its digest %s", name, digest)
	}

	return data, nil
}

// entry reads one file of a layout.
func (lr *layoutReader) entry(ctx context.Context, name string, size int64, r io.Reader) error {
	if name == "oci-layout" {
		return nil
	}

	if name == "index.json" {
		if lr.manifest != nil {
			return invalidLayout("index.json appears twice")
		}

		data, err := readSmall(name, size, r, "")
		if err != nil {
			return err
		}

		index, err := v1.ParseIndexManifest(bytes.NewReader(data))
		if err != nil || len(index.Manifests) != 1 || index.Manifests[0].Digest.Algorithm != "sha256" {
			return invalidLayout("index.json must name one manifest by its sha256")
		}

		lr.manifest = &index.Manifests[0]
		return nil
	}

	hexDigest, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok || lr.manifest == nil {
		return invalidLayout("unexpected entry %s (the index and then the blobs are expected)", name)
	}

	digest := "sha256:" + hexDigest
	switch {
	case lr.rawMan == nil:
		if digest != lr.manifest.Digest.String() || size != lr.manifest.Size {
			return invalidLayout("the manifest %s must come first, not %s", lr.manifest.Digest, name)
		}

		return lr.readManifest(name, size, r)
	case lr.rawConf == nil:
		data, err := readSmall(name, size, r, digest)
		if err != nil {
			return err
		}

		man, _ := v1.ParseManifest(bytes.NewReader(lr.rawMan))
		if digest != man.Config.Digest.String() || size != man.Config.Size {
			return invalidLayout("the configuration %s must follow the manifest, not %s", man.Config.Digest, name)
		}

		lr.rawConf = data
		return nil
	}

	wantSize, ok := lr.layers[digest]
	if !ok || lr.seen[digest] {
		return invalidLayout("unexpected blob %s", name)
	}

	if size != wantSize {
		return invalidLayout("layer %s has %d bytes, the manifest says %d", digest, size, wantSize)
	}

	lr.seen[digest] = true
	var err error
	if lr.store.Has(digest) {
		_, err = io.Copy(io.Discard, r)
	} else {
		err = lr.store.Put(ctx, digest, size, r, nil)
	}

	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidLayout("the stream ends inside %s", name)
	}

	return err
}

// readManifest reads the manifest, checks that its layers make the fingerprint asked for and records them for the
// image, so that no prune removes them before the image is stored.
func (lr *layoutReader) readManifest(name string, size int64, r io.Reader) error {
	data, err := readSmall(name, size, r, lr.manifest.Digest.String())
	if err != nil {
		return err
	}

	man, err := v1.ParseManifest(bytes.NewReader(data))
	if err != nil || len(man.Layers) == 0 {
		return invalidLayout("the manifest is not an image manifest with layers")
	}

	rec := record{Config: man.Config.Digest.String()}
	lr.layers = map[string]int64{}
	for _, l := range man.Layers {
		if l.Digest.Algorithm != "sha256" || l.Size < 0 {
			return invalidLayout("layer %s: only sha256 digests are taken", l.Digest)
		}

		rec.Layers = append(rec.Layers, l.Digest.String())
		lr.layers[l.Digest.String()] = l.Size
	}

	fp := registry.Fingerprint(rec.Layers)
	if fp != lr.want {
		return invalidLayout("its layers make the image %s, not %s", fp, lr.want)
	}

	rec.Reference = lr.manifest.Annotations[refNameAnnotation]
	err = lr.store.Record(fp, rec)
	if err != nil {
		return err
	}

	lr.rawMan = data
	return nil
}

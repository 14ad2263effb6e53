package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// Store keeps the blobs of OCI images by digest, once each however many images share them
// (blobs/sha256/<hex>), and which image of the image store needs which blobs (images/<fingerprint>.json). A blob
// no recorded image needs is removed when the last image needing it goes.
type Store struct {
	dir string
	mu  sync.Mutex

	// bg counts the removals of temporary trees still running.
	bg sync.WaitGroup
}

// record lists the blobs an image was built from.
type record struct {
	Reference string   `json:"reference"`
	Config    string   `json:"config"`
	Layers    []string `json:"layers"`
}

// NewStore opens (creating it if needed) the blob store under dir, and removes unfinished downloads.
func NewStore(dir string) (*Store, error) {
	for _, sub := range []string{"blobs/sha256", "images", "tmp"} {
		err := os.MkdirAll(filepath.Join(dir, sub), 0o700)
		if err != nil {
			return nil, err
		}
	}

	s := &Store{dir: dir}
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return nil, err
	}

	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(s.tmpDir(), e.Name()))
	}

	return s, nil
}

func (s *Store) tmpDir() string {
	return filepath.Join(s.dir, "tmp")
}

// splitDigest checks a digest ("sha256:<64 hex>") and returns its hex part.
func splitDigest(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 {
		return "", errs.Invalid("unsupported digest %q", digest)
	}

	_, err := hex.DecodeString(hexPart)
	if err != nil || strings.ToLower(hexPart) != hexPart {
		return "", errs.Invalid("invalid digest %q", digest)
	}

	return hexPart, nil
}

// blobPath is where the blob digest is kept.
func (s *Store) blobPath(digest string) (string, error) {
	h, err := splitDigest(digest)
	if err != nil {
		return "", err
	}

	return filepath.Join(s.dir, "blobs", "sha256", h), nil
}

// Has tells whether the store holds the blob digest.
func (s *Store) Has(digest string) bool {
	p, err := s.blobPath(digest)
	if err != nil {
		return false
	}

	_, err = os.Stat(p)
	return err == nil
}

// Open opens the blob digest.
func (s *Store) Open(digest string) (*os.File, error) {
	p, err := s.blobPath(digest)
	if err != nil {
		return nil, err
	}

	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", digest, errs.ErrNotFound)
	}

	return f, err
}

// ErrDigestMismatch is wrapped by the error of a blob whose bytes do not match its digest or size.
var ErrDigestMismatch = errors.New("blob does not match its digest")

// Put stores the blob digest of size bytes read from r. The bytes are hashed and counted as they stream to a
// temporary file, which becomes the blob only if both match: a blob that is too long, too short or different is
// refused (wrapping ErrDigestMismatch and errs.ErrInvalid) and nothing is kept. progress, if set, gets the bytes
// read so far.
func (s *Store) Put(ctx context.Context, digest string, size int64, r io.Reader, progress func(int64)) error {
	final, err := s.blobPath(digest)
	if err != nil {
		return err
	}

	if size < 0 {
		return errs.Invalid("blob %s: invalid size %d", digest, size)
	}

	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return err
	}

	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()

	h := sha256.New()
	w := io.MultiWriter(f, h)
	n, err := copyCtx(ctx, w, io.LimitReader(r, size+1), progress)
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("blob %s: %w", digest, err)
	}

	if n != size {
		_ = f.Close()
		return fmt.Errorf("blob %s: %d bytes received, %d expected: %w: %w", digest, n, size, ErrDigestMismatch, errs.ErrInvalid)
	}

	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if got != digest {
		_ = f.Close()
		return fmt.Errorf("blob %s: content hashes to %s: %w: %w", digest, got, ErrDigestMismatch, errs.ErrInvalid)
	}

	err = f.Sync()
	if err == nil {
		err = f.Chmod(0o400)
	}

	closeErr := f.Close()
	if err == nil {
		err = closeErr
	}

	if err != nil {
		return err
	}

	err = os.Rename(tmp, final)
	if err != nil {
		return err
	}

	return fsutil.SyncDir(filepath.Dir(final))
}

// copyCtx copies r to w, stopping when ctx is done, reporting the bytes copied so far.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader, progress func(int64)) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		err := ctx.Err()
		if err != nil {
			return n, err
		}

		m, rerr := r.Read(buf)
		if m > 0 {
			_, err = w.Write(buf[:m])
			if err != nil {
				return n, err
			}

			n += int64(m)
			if progress != nil {
				progress(n)
			}
		}

		if errors.Is(rerr, io.EOF) {
			return n, nil
		}

		if rerr != nil {
			return n, rerr
		}
	}
}

func (s *Store) recordPath(fp string) string {
	return filepath.Join(s.dir, "images", fp+".json")
}

// Record notes that the image fp of the image store was built from the given blobs, which are kept as long as it
// is recorded.
func (s *Store) Record(fp string, rec record) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(s.recordPath(fp), data, 0o600)
}

// Forget drops the record of the image fp, if any, and removes the blobs no other image needs.
func (s *Store) Forget(fp string) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	err := os.Remove(s.recordPath(fp))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	return s.prune()
}

// Reconcile forgets the records of images the image store no longer has (known tells which it has) and removes
// the blobs no recorded image needs.
func (s *Store) Reconcile(known func(fp string) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	entries, err := os.ReadDir(filepath.Join(s.dir, "images"))
	if err != nil {
		return err
	}

	for _, e := range entries {
		fp, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !known(fp) {
			slog.Info("removing the blob record of a deleted OCI image", "fingerprint", fp)
			err = os.Remove(filepath.Join(s.dir, "images", e.Name()))
			if err != nil {
				return err
			}
		}
	}

	return s.prune()
}

// prune removes the blobs no record lists. The caller holds s.mu.
func (s *Store) prune() error {
	used := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(s.dir, "images"))
	if err != nil {
		return err
	}

	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(s.dir, "images", e.Name()))
		if err != nil {
			return err
		}

		var rec record
		err = json.Unmarshal(data, &rec)
		if err != nil {
			// An unreadable record keeps every blob: better too many than one missing.
			return fmt.Errorf("blob record %s: %w", e.Name(), err)
		}

		used[rec.Config] = true
		for _, l := range rec.Layers {
			used[l] = true
		}
	}

	blobs, err := os.ReadDir(filepath.Join(s.dir, "blobs", "sha256"))
	if err != nil {
		return err
	}

	for _, b := range blobs {
		if used["sha256:"+b.Name()] {
			continue
		}

		err = os.Remove(filepath.Join(s.dir, "blobs", "sha256", b.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}

	return nil
}

// Wait waits for the removals of temporary trees the store started.
func (s *Store) Wait() {
	s.bg.Wait()
}

// Blobs lists the digests of the blobs held.
func (s *Store) Blobs() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "blobs", "sha256"))
	if err != nil {
		return nil, err
	}

	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, "sha256:"+e.Name())
	}

	return out, nil
}

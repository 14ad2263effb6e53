package images

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// Store is the content-addressed image store: images/<fingerprint> holds a unified image or the metadata part
// of a split image, and images/<fingerprint>.rootfs the rootfs part of a split image. Uploads are staged in
// images/.tmp/ and renamed into place on commit.
type Store struct {
	dir string
	tmp string

	// mu serialises commits and deletes, so the existence check and the renames are one step.
	mu sync.Mutex

	// hashes caches the per-file sha256 of split images' parts (images are immutable once stored).
	hashes sync.Map

	// stager stages the base an import writes (see SetBaseStager).
	stager BaseStager
}

const (
	tmpDirName   = ".tmp"
	rootfsSuffix = ".rootfs"
)

// NewStore opens the store in dir ($LXD_DIR/images), creating it and its .tmp directory (mode 0700).
func NewStore(dir string) (*Store, error) {
	s := &Store{dir: dir, tmp: filepath.Join(dir, tmpDirName)}
	for _, d := range []string{s.dir, s.tmp} {
		err := os.MkdirAll(d, 0o700)
		if err != nil {
			return nil, fmt.Errorf("creating the image store: %w", err)
		}

		err = os.Chmod(d, 0o700)
		if err != nil {
			return nil, fmt.Errorf("creating the image store: %w", err)
		}
	}

	return s, nil
}

// Dir returns the store directory.
func (s *Store) Dir() string {
	return s.dir
}

// CleanTemp removes what interrupted imports left: everything in .tmp/ and any <fp>.rootfs whose <fp> is missing
// (a crash between the two renames of a split commit). Call it at daemon start, before any import.
func (s *Store) CleanTemp() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	tmpEntries, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("cleaning the image store: %w", err)
	}

	for _, e := range tmpEntries {
		err = os.RemoveAll(filepath.Join(s.tmp, e.Name()))
		if err != nil {
			return fmt.Errorf("cleaning the image store: %w", err)
		}
	}

	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("cleaning the image store: %w", err)
	}

	for _, e := range entries {
		fp, ok := strings.CutSuffix(e.Name(), rootfsSuffix)
		if !ok || !ValidFingerprint(fp) {
			continue
		}

		_, err = os.Lstat(filepath.Join(s.dir, fp))
		if errors.Is(err, fs.ErrNotExist) {
			err = os.Remove(filepath.Join(s.dir, e.Name()))
			if err != nil {
				return fmt.Errorf("cleaning the image store: %w", err)
			}
		}
	}

	return nil
}

// ValidFingerprint reports whether fp is a full fingerprint: 64 lowercase hexadecimal digits.
func ValidFingerprint(fp string) bool {
	if len(fp) != 64 {
		return false
	}

	for _, c := range fp {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}

	return true
}

func (s *Store) finalPaths(fp string) (string, string) {
	return filepath.Join(s.dir, fp), filepath.Join(s.dir, fp+rootfsSuffix)
}

// Paths returns the files of an image: meta is the unified image or the metadata part, rootfs is the rootfs part
// of a split image or "" for a unified one. A missing image wraps errs.ErrNotFound.
func (s *Store) Paths(fp string) (string, string, error) {
	if !ValidFingerprint(fp) {
		return "", "", fmt.Errorf("image %q: bad fingerprint: %w", fp, errs.ErrInvalid)
	}

	meta, rootfs := s.finalPaths(fp)
	_, err := os.Lstat(meta)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("image %q: %w", fp, errs.ErrNotFound)
	}

	if err != nil {
		return "", "", err
	}

	_, err = os.Lstat(rootfs)
	if errors.Is(err, fs.ErrNotExist) {
		return meta, "", nil
	}

	if err != nil {
		return "", "", err
	}

	return meta, rootfs, nil
}

// Delete removes an image's files. A missing image wraps errs.ErrNotFound.
func (s *Store) Delete(fp string) error {
	if !ValidFingerprint(fp) {
		return fmt.Errorf("image %q: bad fingerprint: %w", fp, errs.ErrInvalid)
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	meta, rootfs := s.finalPaths(fp)
	s.hashes.Delete(fp)

	// The metadata file goes first: it is what makes the image exist.
	err := os.Remove(meta)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image %q: %w", fp, errs.ErrNotFound)
	}

	if err != nil {
		return fmt.Errorf("deleting image %q: %w", fp, err)
	}

	err = os.Remove(rootfs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting image %q: %w", fp, err)
	}

	return fsutil.SyncDir(s.dir)
}

package images

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// FileHashes are the sha256 of each file of an image.
type FileHashes struct {
	Meta   string
	Rootfs string
}

// Hashes returns the sha256 of each file of an image, as simplestreams items list them: for a unified image the
// fingerprint itself; for a split image each part is hashed once and remembered.
func (s *Store) Hashes(fp string) (FileHashes, error) {
	meta, rootfs, err := s.Paths(fp)
	if err != nil {
		return FileHashes{}, err
	}

	if rootfs == "" {
		return FileHashes{Meta: fp}, nil
	}

	cached, ok := s.hashes.Load(fp)
	if ok {
		return cached.(FileHashes), nil
	}

	var h FileHashes
	h.Meta, err = hashFile(meta)
	if err != nil {
		return FileHashes{}, err
	}

	h.Rootfs, err = hashFile(rootfs)
	if err != nil {
		return FileHashes{}, err
	}

	s.hashes.Store(fp, h)
	return h, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}

	defer func() { _ = f.Close() }()
	sum := sha256.New()
	_, err = io.Copy(sum, f)
	if err != nil {
		return "", err
	}

	return hex.EncodeToString(sum.Sum(nil)), nil
}

package images

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// FileHashes are the sha256 of each file of an image, and of all of them.
type FileHashes struct {
	Meta   string
	Rootfs string

	// Content is the sha256 of the files one after the other (the metadata part, then the rootfs part), as an
	// export serves them: the fingerprint, but for an OCI image, whose fingerprint is of its layers.
	Content string
}

// Hashes returns the sha256 of each file of an image, as simplestreams items list them, and of all of them: for a
// unified image the fingerprint itself; for a split image each part is hashed once and remembered.
func (s *Store) Hashes(fp string) (FileHashes, error) {
	meta, rootfs, err := s.Paths(fp)
	if err != nil {
		return FileHashes{}, err
	}

	if rootfs == "" {
		return FileHashes{Meta: fp, Content: fp}, nil
	}

	cached, ok := s.hashes.Load(fp)
	if ok {
		return cached.(FileHashes), nil
	}

	var h FileHashes
	all := sha256.New()
	h.Meta, err = hashFile(meta, all)
	if err != nil {
		return FileHashes{}, err
	}

	h.Rootfs, err = hashFile(rootfs, all)
	if err != nil {
		return FileHashes{}, err
	}

	h.Content = hex.EncodeToString(all.Sum(nil))
	s.hashes.Store(fp, h)
	return h, nil
}

// hashFile returns the sha256 of the file at path, whose content also goes to also.
func hashFile(path string, also io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}

	defer func() { _ = f.Close() }()
	sum := sha256.New()
	_, err = io.Copy(io.MultiWriter(sum, also), f)
	if err != nil {
		return "", err
	}

	return hex.EncodeToString(sum.Sum(nil)), nil
}

package simplestreams

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// Paths of the documents of a tree, relative to its root.
const (
	IndexPath    = "streams/v1/index.json"
	ProductsPath = "streams/v1/images.json"
)

// tmpPrefix names the temporary files and directories of an export; a later export removes those a crash left.
const tmpPrefix = ".export-"

// FetchFunc downloads the files of an image: the unified tarball or the metadata tarball to meta, the rootfs of a
// split image to rootfs. It returns the names the server gives the files ("" for the rootfs of a unified image).
type FetchFunc func(img api.Image, meta io.Writer, rootfs io.Writer) (metaName string, rootfsName string, err error)

// ExportResult says what an export did, by fingerprint.
type ExportResult struct {
	// Fetched are the images downloaded into the tree.
	Fetched []string

	// Kept are the images whose files were already in the tree and were left untouched.
	Kept []string

	// Pruned are the images removed from the tree.
	Pruned []string
}

// Export writes the tree publishing images into dir, as Build lays it out: the files of each image under
// images/<fingerprint>/, then streams/v1/images.json and streams/v1/index.json. It is incremental: an image whose
// files the tree's current products list, with files of the listed size, is not fetched again and its files are not
// rewritten; the files of images not in the list are removed. The documents are written last, each to a temporary
// file renamed over the old one, and removals come after them, so that a web server serving dir never offers a
// document listing a missing or partial file. A failed fetch leaves the previous documents in place.
func Export(dir string, images []api.Image, fetch FetchFunc) (*ExportResult, error) {
	err := os.MkdirAll(filepath.Join(dir, "images"), 0o755)
	if err != nil {
		return nil, err
	}

	err = os.MkdirAll(filepath.Join(dir, "streams", "v1"), 0o755)
	if err != nil {
		return nil, err
	}

	// One export at a time: each removes the temporaries it finds.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}

	defer func() { _ = lock.Close() }()
	err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err != nil {
		return nil, fmt.Errorf("another export is writing %s: %w", dir, err)
	}

	removeTemporaries(dir)
	existing := existingFiles(dir)
	result := &ExportResult{}
	wanted := map[string]bool{}
	sources := make([]SourceImage, 0, len(images))
	for _, img := range images {
		if !isHex64(img.Fingerprint) {
			return nil, fmt.Errorf("invalid fingerprint %q", img.Fingerprint)
		}

		if wanted[img.Fingerprint] {
			continue
		}

		wanted[img.Fingerprint] = true
		src, ok := existing[img.Fingerprint]
		if ok {
			result.Kept = append(result.Kept, img.Fingerprint)
		} else {
			fetched, err := fetchImage(dir, img, fetch)
			if err != nil {
				return nil, fmt.Errorf("fetching image %s: %w", img.Fingerprint, err)
			}

			src = *fetched
			result.Fetched = append(result.Fetched, img.Fingerprint)
		}

		src.Image = img
		sources = append(sources, src)
	}

	index, products := Build(sources)
	err = writeDocument(dir, ProductsPath, products)
	if err != nil {
		return nil, err
	}

	err = writeDocument(dir, IndexPath, index)
	if err != nil {
		return nil, err
	}

	entries, err := os.ReadDir(filepath.Join(dir, "images"))
	if err != nil {
		return nil, err
	}

	for _, e := range entries {
		if !isHex64(e.Name()) || wanted[e.Name()] {
			continue
		}

		err = os.RemoveAll(filepath.Join(dir, "images", e.Name()))
		if err != nil {
			return nil, err
		}

		result.Pruned = append(result.Pruned, e.Name())
	}

	sort.Strings(result.Fetched)
	sort.Strings(result.Kept)
	sort.Strings(result.Pruned)
	return result, nil
}

// removeTemporaries deletes what an interrupted export left.
func removeTemporaries(dir string) {
	for _, sub := range []string{"images", filepath.Join("streams", "v1")} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}

		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				_ = os.RemoveAll(filepath.Join(dir, sub, e.Name()))
			}
		}
	}
}

// existingFiles reads the tree's current products and returns, by fingerprint, the images whose files are all in
// place under images/<fingerprint>/ with the size listed. The listed sha256 is trusted: the fingerprint in the path
// names the content, and only an export writes there.
func existingFiles(dir string) map[string]SourceImage {
	out := map[string]SourceImage{}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ProductsPath)))
	if err != nil {
		return out
	}

	products, err := ParseProducts(data)
	if err != nil {
		return out
	}

	for fp, prod := range products.Products {
		if !isHex64(fp) || len(prod.Versions) != 1 {
			continue
		}

		for _, v := range prod.Versions {
			src, ok := itemsSource(dir, fp, v.Items)
			if ok {
				out[fp] = src
			}
		}
	}

	return out
}

// itemsSource rebuilds the files of an image from the items Build wrote for it, if they are all present.
func itemsSource(dir string, fp string, items map[string]Item) (SourceImage, bool) {
	present := func(it Item) (FileInfo, bool) {
		name := path.Base(it.Path)
		if it.Path != ItemPath(fp, name) || !isHex64(it.SHA256) {
			return FileInfo{}, false
		}

		info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(it.Path)))
		if err != nil || !info.Mode().IsRegular() || info.Size() != it.Size {
			return FileInfo{}, false
		}

		return FileInfo{Name: name, SHA256: it.SHA256, Size: it.Size}, true
	}

	var src SourceImage
	combined, ok := items[ftypeCombined]
	if ok {
		if len(items) != 1 || combined.SHA256 != fp {
			return src, false
		}

		src.Meta, ok = present(combined)
		return src, ok
	}

	meta, ok := items[ftypeMeta]
	if !ok || len(items) != 2 || (meta.CombinedSHA256 != fp && meta.CombinedSquashfsSHA256 != fp) {
		return src, false
	}

	src.Meta, ok = present(meta)
	if !ok {
		return src, false
	}

	for ftype, it := range items {
		if ftype == ftypeMeta {
			continue
		}

		root, ok := present(it)
		if !ok {
			return src, false
		}

		src.Rootfs = &root
	}

	return src, src.Rootfs != nil
}

// hashingFile is a file being written with the sha256 of what went into it.
type hashingFile struct {
	f    *os.File
	hash io.Writer
	sum  func() string
	size int64
	head []byte
}

func newHashingFile(f *os.File, combined io.Writer) *hashingFile {
	h := sha256.New()
	return &hashingFile{
		f:    f,
		hash: io.MultiWriter(h, combined),
		sum:  func() string { return hex.EncodeToString(h.Sum(nil)) },
	}
}

// Write writes to the file and the hashes.
func (w *hashingFile) Write(p []byte) (int, error) {
	if len(w.head) < 4 {
		w.head = append(w.head, p[:min(len(p), 4-len(w.head))]...)
	}

	n, err := w.f.Write(p)
	w.size += int64(n)
	_, _ = w.hash.Write(p[:n])
	return n, err
}

// fetchImage downloads an image into a temporary directory of the tree, checks its fingerprint and moves it to
// images/<fingerprint>/.
func fetchImage(dir string, img api.Image, fetch FetchFunc) (*SourceImage, error) {
	tmp, err := os.MkdirTemp(filepath.Join(dir, "images"), tmpPrefix)
	if err != nil {
		return nil, err
	}

	defer func() { _ = os.RemoveAll(tmp) }()
	metaFile, err := os.Create(filepath.Join(tmp, "meta"))
	if err != nil {
		return nil, err
	}

	defer func() { _ = metaFile.Close() }()
	rootFile, err := os.Create(filepath.Join(tmp, "rootfs"))
	if err != nil {
		return nil, err
	}

	defer func() { _ = rootFile.Close() }()
	combined := sha256.New()
	meta := newHashingFile(metaFile, combined)
	root := newHashingFile(rootFile, combined)
	metaName, rootName, err := fetch(img, meta, root)
	if err != nil {
		return nil, err
	}

	got := hex.EncodeToString(combined.Sum(nil))
	if got != img.Fingerprint {
		return nil, fmt.Errorf("image fingerprint doesn't match: got %s, expected %s", got, img.Fingerprint)
	}

	for _, f := range []*os.File{metaFile, rootFile} {
		err = f.Sync()
		if err != nil {
			return nil, err
		}

		err = f.Chmod(0o644)
		if err != nil {
			return nil, err
		}
	}

	src := &SourceImage{Meta: FileInfo{Name: fileName(metaName, "meta"), SHA256: meta.sum(), Size: meta.size}}
	if root.size > 0 {
		rootName = fileName(rootName, "rootfs")
		if bytes.Equal(root.head, []byte("hsqs")) && !strings.HasSuffix(rootName, ".squashfs") {
			rootName += ".squashfs"
		}

		if rootName == src.Meta.Name {
			rootName = "rootfs-" + rootName
		}

		src.Rootfs = &FileInfo{Name: rootName, SHA256: root.sum(), Size: root.size}
	}

	err = os.Rename(metaFile.Name(), filepath.Join(tmp, src.Meta.Name))
	if err != nil {
		return nil, err
	}

	if src.Rootfs != nil {
		err = os.Rename(rootFile.Name(), filepath.Join(tmp, src.Rootfs.Name))
	} else {
		err = os.Remove(rootFile.Name())
	}

	if err != nil {
		return nil, err
	}

	err = os.Chmod(tmp, 0o755)
	if err != nil {
		return nil, err
	}

	err = fsutil.SyncDir(tmp)
	if err != nil {
		return nil, err
	}

	final := filepath.Join(dir, "images", img.Fingerprint)
	err = os.RemoveAll(final)
	if err != nil {
		return nil, err
	}

	err = os.Rename(tmp, final)
	if err != nil {
		return nil, err
	}

	// The documents written next list these files: the rename must reach the disk first.
	err = fsutil.SyncDir(filepath.Dir(final))
	if err != nil {
		return nil, err
	}

	return src, nil
}

// fileName keeps the base of a name a server gives a file when it is a plain file name, and uses fallback otherwise.
func fileName(name string, fallback string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "" || name == "." || name == ".." || name == "/" || strings.HasPrefix(name, ".") {
		return fallback
	}

	return name
}

// writeDocument writes v as JSON to rel under dir through a temporary file renamed over the old one. The temporary
// file has the prefix removeTemporaries looks for.
func writeDocument(dir string, rel string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}

	data = append(data, '\n')
	return fsutil.WriteAtomicTemp(filepath.Join(dir, filepath.FromSlash(rel)), tmpPrefix, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

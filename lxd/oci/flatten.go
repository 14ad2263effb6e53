package oci

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// errNotFlat is the answer of a merge plan for layers that only an application on disk merges as ApplyLayer does:
// a name resolved through a symbolic link, a directory a layer implies without an entry, a hard link whose target
// changes later.
var errNotFlat = errors.New("the layers need to be applied on disk")

// flatNode is what a path of the merged root filesystem holds: the entry that put it there.
type flatNode struct {
	// ord is the ordinal of the entry (counted over all layers' entries) that put it there.
	ord int

	// at is the ordinal where the merged tarball writes it: ord, or for a directory the entry that made the
	// path a directory, so that it comes before what it holds.
	at int

	// hdr is the entry's header; for a directory, that of its last entry.
	hdr *tar.Header

	// linkTarget and linkOrd are, for a hard link, its target and the ordinal of what the target was then.
	linkTarget string
	linkOrd    int
}

// flatPlan merges the headers of an image's layers, in order, with the rules of ApplyLayer, without writing
// anything: the merged root filesystem is then the entries it keeps, read again from the layers. Reading the
// layers twice costs less than writing a tree and reading it back.
type flatPlan struct {
	nodes map[string]*flatNode
	ord   int

	// written holds the paths the current layer wrote (and their parents).
	written map[string]bool

	// err is errNotFlat once the layers are known to need an application on disk.
	err error
}

func newFlatPlan() *flatPlan {
	return &flatPlan{nodes: map[string]*flatNode{}}
}

// layer reads the headers of one uncompressed layer tarball. It returns the entry errors ApplyLayer would; that the
// layers are not mergeable as a stream is not an error here but noted in p.err.
func (p *flatPlan) layer(ctx context.Context, r io.Reader) error {
	if p.err != nil {
		return nil
	}

	p.written = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}

		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}

		err = ctx.Err()
		if err != nil {
			return err
		}

		err = p.entry(hdr)
		p.ord++
		if errors.Is(err, errNotFlat) {
			p.err = err
			return nil
		}

		if err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
}

func (p *flatPlan) entry(hdr *tar.Header) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}

	base := path.Base(rel)
	dir := path.Dir(rel)
	if base == whiteoutOpaque {
		return p.opaque(dir)
	}

	if target, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if target == "" || target == "." || target == ".." {
			return errors.New("invalid whiteout")
		}

		return p.whiteout(path.Join(dir, target))
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		return p.dir(rel, hdr)
	case tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo, tar.TypeChar:
	case tar.TypeBlock:
		return fmt.Errorf("block device %d:%d is not allowed", hdr.Devmajor, hdr.Devminor)
	default:
		return fmt.Errorf("unsupported entry type %q", string(rune(hdr.Typeflag)))
	}

	if rel == "." {
		return errors.New("the root must be a directory")
	}

	n := &flatNode{ord: p.ord, at: p.ord, hdr: hdr}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.ContainsRune(hdr.Linkname, 0) {
			return errors.New("invalid symlink target")
		}
	case tar.TypeChar:
		if !allowedCharDevices[[2]int64{hdr.Devmajor, hdr.Devminor}] {
			return fmt.Errorf("character device %d:%d is not one of null, zero, full, random, urandom, tty, console, ptmx", hdr.Devmajor, hdr.Devminor)
		}
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link target: %w", err)
		}

		if target == "." || target == rel {
			return errors.New("invalid hard link target")
		}

		t := p.nodes[target]
		if t == nil || t.hdr.Typeflag == tar.TypeDir {
			// Missing, behind a symbolic link, or a directory: ApplyLayer decides.
			return errNotFlat
		}

		n.linkTarget, n.linkOrd = target, t.ord
	}

	err = p.parentIsDir(rel)
	if err != nil {
		return err
	}

	p.remove(rel)
	p.nodes[rel] = n
	p.mark(rel)
	return nil
}

// parentIsDir checks that rel's parent is a directory of the merged tree (the root is one).
func (p *flatPlan) parentIsDir(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}

	n := p.nodes[dir]
	if n == nil || n.hdr.Typeflag != tar.TypeDir {
		return errNotFlat
	}

	return nil
}

// dir merges a directory entry: a directory there keeps its contents and takes the entry's attributes.
func (p *flatPlan) dir(rel string, hdr *tar.Header) error {
	n := p.nodes[rel]
	if rel != "." {
		err := p.parentIsDir(rel)
		if err != nil {
			return err
		}
	}

	if n != nil && n.hdr.Typeflag == tar.TypeDir {
		n.hdr, n.ord = hdr, p.ord
	} else {
		p.remove(rel)
		p.nodes[rel] = &flatNode{ord: p.ord, at: p.ord, hdr: hdr}
	}

	p.mark(rel)
	return nil
}

// whiteout deletes rel, unless this layer wrote it.
func (p *flatPlan) whiteout(rel string) error {
	if p.written[rel] {
		return nil
	}

	// A name under something other than a directory resolves (or not) on disk.
	for a := path.Dir(rel); a != "."; a = path.Dir(a) {
		n := p.nodes[a]
		if n != nil && n.hdr.Typeflag != tar.TypeDir {
			return errNotFlat
		}
	}

	p.remove(rel)
	return nil
}

// opaque empties the directory dir of what the layers below put there.
func (p *flatPlan) opaque(dir string) error {
	if dir != "." {
		n := p.nodes[dir]
		if n == nil || n.hdr.Typeflag != tar.TypeDir {
			// ApplyLayer makes it.
			return errNotFlat
		}
	}

	p.mark(dir)
	prefix := dir + "/"
	for k := range p.nodes {
		if (dir == "." || strings.HasPrefix(k, prefix)) && k != "." && !p.written[k] {
			delete(p.nodes, k)
		}
	}

	return nil
}

// remove deletes what is at rel, a directory with its contents.
func (p *flatPlan) remove(rel string) {
	n := p.nodes[rel]
	if n == nil {
		return
	}

	delete(p.nodes, rel)
	if n.hdr.Typeflag != tar.TypeDir {
		return
	}

	prefix := rel + "/"
	if rel == "." {
		prefix = ""
	}

	for k := range p.nodes {
		if strings.HasPrefix(k, prefix) {
			delete(p.nodes, k)
		}
	}
}

// mark records rel and its parents as written by this layer.
func (p *flatPlan) mark(rel string) {
	for a := rel; a != "." && a != "/" && !p.written[a]; a = path.Dir(a) {
		p.written[a] = true
	}
}

// entries returns what the merged tarball writes, by the ordinal of the entry written there, or errNotFlat.
func (p *flatPlan) entries() (map[int]*flatNode, error) {
	if p.err != nil {
		return nil, p.err
	}

	out := make(map[int]*flatNode, len(p.nodes))
	for _, n := range p.nodes {
		if n.hdr.Typeflag == tar.TypeLink {
			t := p.nodes[n.linkTarget]
			if t == nil || t.ord != n.linkOrd {
				// The target was replaced or deleted after the link was made: the link keeps what it was.
				return nil, errNotFlat
			}
		}

		out[n.at] = n
	}

	return out, nil
}

// flatHeader is the header the merged tarball gives the path rel of node n.
func flatHeader(rel string, n *flatNode) *tar.Header {
	h := n.hdr
	out := &tar.Header{
		Typeflag: h.Typeflag,
		Name:     rel,
		Mode:     h.Mode & 0o7777,
		Uid:      h.Uid,
		Gid:      h.Gid,
		ModTime:  h.ModTime,
		Format:   tar.FormatPAX,
	}

	switch h.Typeflag {
	case tar.TypeDir:
		out.Name = rel + "/"
		if rel == "." {
			out.Name = "./"
		}
	case tar.TypeReg:
		out.Size = h.Size
		for key, value := range h.PAXRecords {
			if strings.HasPrefix(key, "SCHILY.xattr.") {
				if out.PAXRecords == nil {
					out.PAXRecords = map[string]string{}
				}

				out.PAXRecords[key] = value
			}
		}
	case tar.TypeSymlink:
		out.Linkname = h.Linkname
	case tar.TypeLink:
		out.Linkname = n.linkTarget
	case tar.TypeChar:
		out.Devmajor, out.Devminor = h.Devmajor, h.Devminor
	}

	return out
}

// writeFlat writes the merged root filesystem of the planned layers as an uncompressed tarball to w, reading the
// layers again (open returns layer i, uncompressed): the root first, then each kept entry where the layers have it.
// The image store keeps it uncompressed: the registry's compressed blobs are kept too, and compressing costs a pull
// more than the disk space it saves.
func writeFlat(ctx context.Context, w io.Writer, entries map[int]*flatNode, root *flatNode, layers int, open func(i int) (io.Reader, func(), error)) error {
	tw := tar.NewWriter(w)
	if root == nil {
		root = &flatNode{hdr: &tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}}
	}

	err := tw.WriteHeader(flatHeader(".", root))
	if err != nil {
		return err
	}

	ord := 0
	for i := range layers {
		r, closeFn, err := open(i)
		if err != nil {
			return err
		}

		err = copyKept(ctx, tw, tar.NewReader(r), entries, &ord)
		closeFn()
		if err != nil {
			return err
		}
	}

	return tw.Close()
}

// copyKept copies the kept entries of one layer, counting the ordinals from *ord on.
func copyKept(ctx context.Context, tw *tar.Writer, tr *tar.Reader, entries map[int]*flatNode, ord *int) error {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}

		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}

		err = ctx.Err()
		if err != nil {
			return err
		}

		n := entries[*ord]
		*ord++
		if n == nil {
			continue
		}

		rel, err := cleanName(hdr.Name)
		if err != nil || rel == "." {
			// The root is written first; the plan refused bad names.
			continue
		}

		err = tw.WriteHeader(flatHeader(rel, n))
		if err != nil {
			return err
		}

		if n.hdr.Typeflag == tar.TypeReg {
			_, err = io.Copy(tw, tr)
			if err != nil {
				return err
			}
		}
	}
}

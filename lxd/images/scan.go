package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"path/filepath"
	"strings"
)

// layout is the expected shape of a tarball.
type layout int

const (
	// layoutUnified holds metadata.yaml, rootfs/ and templates/.
	layoutUnified layout = iota

	// layoutMeta is the metadata part of a split image: metadata.yaml, templates/ and, as LXD unpacks it, an
	// optional rootfs/ tree that the rootfs part is laid over. It is read as a unified image is.
	layoutMeta

	// layoutRootfs is the rootfs part of a split image: the filesystem at the root.
	layoutRootfs

	// layoutUnifiedOrMeta is a part that is a unified image or the metadata part of a split one, as the first part
	// of a download is: both are read the same way.
	layoutUnifiedOrMeta
)

// section is the part of an image tree an entry belongs to.
type section int

const (
	sectionTop section = iota
	sectionMetadata
	sectionRootfs
	sectionTemplates

	// sectionIgnored holds the entries a layout does not use (a README beside metadata.yaml): checked for what makes
	// an entry hostile anywhere, never passed to visit and so never extracted.
	sectionIgnored
)

const metadataName = "metadata.yaml"

// maxTemplateFiles bounds the template file names remembered while scanning.
const maxTemplateFiles = 10000

// Kinds remembered per path, so later entries can be checked against earlier ones.
const (
	kindDir uint8 = iota + 1
	kindFile
	kindSymlink
)

// allowedCharDevices are the character devices an image may carry: the harmless ones every container's /dev has.
var allowedCharDevices = map[[2]int64]string{
	{1, 3}: "null", {1, 5}: "zero", {1, 7}: "full", {1, 8}: "random", {1, 9}: "urandom",
	{5, 0}: "tty", {5, 1}: "console", {5, 2}: "ptmx",
}

// entry is one validated tar entry.
type entry struct {
	hdr *tar.Header

	// name is the normalised archive path ("rootfs/etc/passwd"; "" for the archive root), as normaliseName gives it.
	name string

	section section

	// rel is the path relative to the section root ("etc/passwd"; "" for the section root itself).
	rel string

	// linkRel is a hard link's target relative to the same section root.
	linkRel string
}

// scanner walks a tarball once, applying the validation rules to each entry.
type scanner struct {
	part   string
	layout layout

	seed maphash.Seed

	// kinds records the kind of every path seen, keyed by a seeded hash of the path, so memory stays small.
	kinds map[uint64]uint8

	metadata      *Metadata
	metadataCount int

	templateFiles map[string]struct{}
	entries       int
	last          string

	// stopAfterMetadata ends the scan with errStop once metadata.yaml has been read.
	stopAfterMetadata bool
}

func newScanner(part string, l layout) *scanner {
	if l != layoutRootfs {
		l = layoutUnified
	}

	return &scanner{
		part:          part,
		layout:        l,
		seed:          maphash.MakeSeed(),
		kinds:         map[uint64]uint8{},
		templateFiles: map[string]struct{}{},
	}
}

func (s *scanner) kind(name string) uint8 {
	return s.kinds[maphash.String(s.seed, name)]
}

func (s *scanner) setKind(name string, k uint8) {
	s.kinds[maphash.String(s.seed, name)] = k
}

// normaliseName reads an archive member name as GNU tar does when it extracts: leading slashes are stripped
// ("/rootfs/etc" is "rootfs/etc", "/" the archive root), and so are "./" elements, repeated and trailing slashes.
// A name with a NUL byte or a ".." element is refused, wherever it is and whether or not the entry is used: GNU tar
// would write it outside the directory it extracts to. The archive root is "". Validation and unpacking both see
// entries and hard link targets through this one function, so they agree on every name.
func normaliseName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", errors.New("name contains a NUL byte")
	}

	if hasDotDot(name) {
		return "", errors.New(`path contains ".."`)
	}

	clean := strings.TrimLeft(path.Clean("/"+name), "/")
	if clean == "" {
		return "", nil
	}

	if !filepath.IsLocal(clean) {
		return "", errors.New("path is not local")
	}

	return clean, nil
}

// locate maps a normalised archive path to its section and the path relative to that section. What the layout
// does not use is sectionIgnored.
func (s *scanner) locate(name string) (section, string) {
	if s.layout == layoutRootfs {
		return sectionRootfs, name
	}

	if name == "" {
		return sectionTop, ""
	}

	if name == metadataName {
		return sectionMetadata, ""
	}

	first, rest, _ := strings.Cut(name, "/")
	switch {
	case first == "templates":
		return sectionTemplates, rest
	case first == "rootfs" && s.layout == layoutUnified:
		return sectionRootfs, rest
	}

	return sectionIgnored, ""
}

// scan reads every entry of tr. visit, if not nil, is called for each validated entry, with the entry's content.
// metadata.yaml is parsed by the scanner itself and not passed to visit.
func (s *scanner) scan(tr *tar.Reader, visit func(e *entry, r io.Reader) error) error {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}

		if err != nil {
			reason := "malformed or truncated archive"
			if s.last != "" {
				reason += fmt.Sprintf(" after entry %q", s.last)
			}

			return &InvalidError{Part: s.part, Reason: reason, Err: err}
		}

		s.last = hdr.Name
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}

		s.entries++
		e, err := s.check(hdr)
		if err != nil {
			return &InvalidError{Part: s.part, Entry: hdr.Name, Reason: err.Error()}
		}

		if e.section == sectionMetadata {
			s.metadata, err = ParseMetadata(tr)
			if err != nil {
				return &InvalidError{Part: s.part, Entry: hdr.Name, Reason: err.Error()}
			}

			if s.stopAfterMetadata {
				return errStop
			}

			continue
		}

		if visit != nil && e.section != sectionIgnored {
			err = visit(e, tr)
			if err != nil {
				return err
			}
		}
	}
}

// check applies the per-entry rules and records what the entry creates.
func (s *scanner) check(hdr *tar.Header) (*entry, error) {
	name, err := normaliseName(hdr.Name)
	if err != nil {
		return nil, err
	}

	sec, rel := s.locate(name)
	e := &entry{hdr: hdr, name: name, section: sec, rel: rel}
	if sec == sectionIgnored {
		return e, checkIgnored(e)
	}

	return e, s.checkUsed(e)
}

// checkUsed applies the rules of the section an entry the layout uses is in, and records what it creates.
func (s *scanner) checkUsed(e *entry) error {
	hdr, name, sec, rel := e.hdr, e.name, e.section, e.rel
	err := s.checkParents(name)
	if err != nil {
		return err
	}

	if sec == sectionMetadata {
		if hdr.Typeflag != tar.TypeReg {
			return errors.New("metadata.yaml is not a regular file")
		}

		s.metadataCount++
		if s.metadataCount > 1 {
			return errors.New("duplicate metadata.yaml")
		}

		if hdr.Size > MaxMetadataSize {
			return fmt.Errorf("metadata.yaml is larger than 1 MiB (%d bytes)", hdr.Size)
		}

		return nil
	}

	// The archive root and the rootfs/ and templates/ directories themselves must be directories.
	if (sec == sectionTop || rel == "") && hdr.Typeflag != tar.TypeDir {
		return errors.New("must be a directory")
	}

	if sec == sectionTemplates && hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeReg {
		return errors.New("templates/ may only hold regular files and directories")
	}

	err = s.checkType(e)
	if err != nil {
		return err
	}

	if sec == sectionTemplates && hdr.Typeflag == tar.TypeReg {
		if len(s.templateFiles) >= maxTemplateFiles {
			return errors.New("too many files under templates/")
		}

		s.templateFiles[name] = struct{}{}
	}

	return nil
}

// checkIgnored applies to an entry the layout does not use the rules that make an entry hostile wherever it is
// (its name was checked already): a hard link target must be a local name, a symlink must have a target, and a
// device node is refused. Unsupported entry types are refused as everywhere else.
func checkIgnored(e *entry) error {
	hdr := e.hdr
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeFifo:
		return nil
	case tar.TypeSymlink:
		return checkSymlink(hdr)
	case tar.TypeLink:
		_, err := normaliseName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
		}

		return nil
	case tar.TypeChar:
		return fmt.Errorf("character device %d:%d is outside rootfs/", hdr.Devmajor, hdr.Devminor)
	}

	return unsupportedType(hdr)
}

// checkParents refuses an entry that would be written through a symlink seen earlier in the archive.
func (s *scanner) checkParents(name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}

		parent := name[:i]
		if s.kind(parent) == kindSymlink {
			return fmt.Errorf("written through the symlink %q", parent)
		}
	}

	return nil
}

// checkType applies the rules of each entry type.
func (s *scanner) checkType(e *entry) error {
	hdr := e.hdr
	switch hdr.Typeflag {
	case tar.TypeDir:
		s.setKind(e.name, kindDir)
	case tar.TypeReg, tar.TypeFifo:
		s.setKind(e.name, kindFile)
	case tar.TypeSymlink:
		err := checkSymlink(hdr)
		if err != nil {
			return err
		}

		s.setKind(e.name, kindSymlink)
	case tar.TypeLink:
		return s.checkHardLink(e)
	case tar.TypeChar:
		err := checkCharDevice(hdr)
		if err != nil {
			return err
		}

		s.setKind(e.name, kindFile)
	default:
		return unsupportedType(hdr)
	}

	return nil
}

// checkHardLink refuses a hard link whose target is outside the entry's section, not seen earlier in the archive,
// a directory, or the entry itself.
func (s *scanner) checkHardLink(e *entry) error {
	hdr := e.hdr
	target, err := normaliseName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}

	sec, rel := s.locate(target)
	if sec != e.section || rel == "" {
		return fmt.Errorf("hard link target %q is outside %s", hdr.Linkname, s.sectionName(e.section))
	}

	if target == e.name {
		return errors.New("hard link to itself")
	}

	k := s.kind(target)
	if k == 0 {
		return fmt.Errorf("hard link target %q does not appear earlier in the archive", hdr.Linkname)
	}

	if k == kindDir {
		return fmt.Errorf("hard link target %q is a directory", hdr.Linkname)
	}

	e.linkRel = rel
	s.setKind(e.name, k)
	return nil
}

// checkSymlink refuses a symlink without a target or with a NUL byte in it. Targets are otherwise free: they are
// only ever resolved inside the container root.
func checkSymlink(hdr *tar.Header) error {
	if hdr.Linkname == "" {
		return errors.New("symlink with an empty target")
	}

	if strings.ContainsRune(hdr.Linkname, 0) {
		return errors.New("symlink target contains a NUL byte")
	}

	return nil
}

// checkCharDevice refuses a character device other than the harmless ones of allowedCharDevices.
func checkCharDevice(hdr *tar.Header) error {
	_, ok := allowedCharDevices[[2]int64{hdr.Devmajor, hdr.Devminor}]
	if !ok {
		return fmt.Errorf("character device %d:%d is not one of null, zero, full, random, urandom, tty, console, ptmx",
			hdr.Devmajor, hdr.Devminor)
	}

	return nil
}

// unsupportedType is the refusal of an entry type no image may hold.
func unsupportedType(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeBlock:
		return fmt.Errorf("block device %d:%d is not allowed", hdr.Devmajor, hdr.Devminor)
	case tar.TypeGNUSparse:
		return errors.New("GNU sparse files are not supported")
	case tar.TypeCont:
		return errors.New("contiguous files are not supported")
	}

	return fmt.Errorf("unsupported entry type %q", string(rune(hdr.Typeflag)))
}

func (s *scanner) sectionName(sec section) string {
	switch {
	case s.layout == layoutRootfs:
		return "the archive root"
	case sec == sectionRootfs:
		return "rootfs/"
	case sec == sectionTemplates:
		return "templates/"
	}

	return "the archive"
}

// finish applies the whole-archive rules once every entry has been seen.
func (s *scanner) finish() error {
	if s.layout == layoutRootfs {
		if s.entries == 0 {
			return invalidf(s.part, "the archive has no entries")
		}

		return nil
	}

	if s.metadata == nil {
		return invalidf(s.part, "metadata.yaml is missing")
	}

	for _, target := range sortedKeys(s.metadata.Templates) {
		tpl := s.metadata.Templates[target]
		name, err := templateEntry(tpl.Template)
		if err != nil {
			return invalidf(s.part, "metadata.yaml: template for %q: %v", target, err)
		}

		_, ok := s.templateFiles[name]
		if !ok {
			return invalidEntry(s.part, name, "template file for %q listed in metadata.yaml is missing", target)
		}
	}

	return nil
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdImageImport struct {
	global      *cmdGlobal
	flagPublic  bool
	flagAliases []string
}

func (c *cmdImageImport) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import <tarball>|<directory>|<URL> [<rootfs tarball>] [<remote>:] [key=value...]",
		Short: "Import images into the image store",
		Long: `Import image into the image store

Directory import is only available on Linux and must be performed as root.`,
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagPublic, "public", false, "Make image public")
	cmd.Flags().StringArrayVar(&c.flagAliases, "alias", nil, "New aliases to add to the image")
	return cmd
}

// importArgs are the positional arguments of "lxc image import".
type importArgs struct {
	remote     string
	imageFile  string
	rootfsFile string
	properties map[string]string
}

// parseImportArgs sorts the arguments the way the stock client does: "key=value" (unless a file has that name) is
// a property, "remote:" names the server, the first other argument is the image and the second the rootfs.
func (g *cmdGlobal) parseImportArgs(args []string) (*importArgs, error) {
	parsed := &importArgs{remote: g.conf.DefaultRemote, properties: map[string]string{}}
	for _, arg := range args {
		key, value, isProperty := strings.Cut(arg, "=")
		if isProperty {
			_, err := os.Stat(arg)
			isProperty = err != nil
		}

		switch {
		case isProperty:
			if key == "" {
				return nil, fmt.Errorf("bad property: %s", arg)
			}

			parsed.properties[key] = value
		case strings.HasSuffix(arg, ":"):
			remote, _, err := g.conf.ParseRemote(arg)
			if err != nil {
				return nil, err
			}

			parsed.remote = remote
		case parsed.imageFile == "":
			parsed.imageFile = arg
		case parsed.rootfsFile == "":
			parsed.rootfsFile = arg
		default:
			return nil, fmt.Errorf("unexpected argument %q: an image has at most two files", arg)
		}
	}

	if parsed.imageFile == "" {
		return nil, errors.New("image file missing")
	}

	return parsed, nil
}

func (c *cmdImageImport) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	parsed, err := c.global.parseImportArgs(args)
	if err != nil {
		return err
	}

	if strings.HasPrefix(parsed.imageFile, "http://") {
		return errors.New("only https:// is supported for remote image import")
	}

	d, err := c.global.conf.GetInstanceServer(parsed.remote)
	if err != nil {
		return err
	}

	image := api.ImagesPost{ImagePut: api.ImagePut{Public: c.flagPublic, Properties: parsed.properties}}
	progress := newProgress(cmd.OutOrStdout(), "Transferring image: %s", c.global.flagQuiet)
	var op client.Operation
	if strings.HasPrefix(parsed.imageFile, "https://") {
		image.Source = &api.ImagesPostSource{Type: "url", Mode: "pull", URL: parsed.imageFile}
		image.Source.Protocol = "direct"
		op, err = d.CreateImage(image, nil)
	} else {
		op, err = uploadImage(d, image, parsed, progress)
	}

	if err == nil {
		err = progress.wait(op)
	}

	if err != nil {
		progress.done("")
		return err
	}

	fp, _ := op.Get().Metadata["fingerprint"].(string)
	if fp == "" {
		progress.done("")
		return errors.New("the server did not report the fingerprint of the new image")
	}

	progress.done("Image imported with fingerprint: " + fp)
	return ensureImageAliases(d, c.flagAliases, fp)
}

// uploadImage sends the image files (a directory is packed into a tarball first).
func uploadImage(d client.InstanceServer, image api.ImagesPost, parsed *importArgs, progress *progressRenderer) (client.Operation, error) {
	imageFile := parsed.imageFile
	info, err := os.Stat(imageFile)
	if err == nil && info.IsDir() {
		imageFile, err = packImageDir(imageFile)
		if err != nil {
			return nil, err
		}

		defer func() { _ = os.Remove(imageFile) }()
	}

	meta, err := os.Open(imageFile)
	if err != nil {
		return nil, err
	}

	defer func() { _ = meta.Close() }()
	args := &client.ImageCreateArgs{
		MetaFile:        meta,
		MetaName:        filepath.Base(imageFile),
		ProgressHandler: progress.transferHandler(),
	}

	if parsed.rootfsFile != "" {
		rootfs, err := os.Open(parsed.rootfsFile)
		if err != nil {
			return nil, err
		}

		defer func() { _ = rootfs.Close() }()
		isQcow2, err := hasQcow2Magic(rootfs)
		if err != nil {
			return nil, err
		}

		if isQcow2 {
			args.Type = "virtual-machine"
		}

		args.RootfsFile = rootfs
		args.RootfsName = filepath.Base(parsed.rootfsFile)
	}

	return d.CreateImage(image, args)
}

// hasQcow2Magic reports whether f starts as a qcow2 disk (a virtual machine rootfs) and rewinds it.
func hasQcow2Magic(f *os.File) (bool, error) {
	magic := make([]byte, 4)
	n, err := io.ReadFull(f, magic)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}

	_, err = f.Seek(0, io.SeekStart)
	if err != nil {
		return false, err
	}

	return n == 4 && string(magic) == "QFI\xfb", nil
}

// packImageDir packs an unpacked image (metadata.yaml, rootfs/ and optional templates/) into a temporary
// tarball, keeping numeric owners, and returns its path.
func packImageDir(dir string) (string, error) {
	entries := []string{"metadata.yaml", "rootfs"}
	for _, e := range entries {
		_, err := os.Lstat(filepath.Join(dir, e))
		if err != nil {
			return "", fmt.Errorf("invalid image directory %s: %w", dir, err)
		}
	}

	_, err := os.Lstat(filepath.Join(dir, "templates"))
	if err == nil {
		entries = append(entries, "templates")
	}

	f, err := os.CreateTemp("", "lxd_image_*.tar.gz")
	if err != nil {
		return "", err
	}

	path := f.Name()
	_ = f.Close()
	tarArgs := append([]string{"-C", dir, "--numeric-owner", "--xattrs", "-czf", path}, entries...)
	out, err := exec.Command("tar", tarArgs...).CombinedOutput()
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("pack image directory %s: %w (%s)", dir, err, strings.TrimSpace(string(out)))
	}

	return path, nil
}

// ensureImageAliases points each alias name at fingerprint, replacing an alias of that name if there is one.
func ensureImageAliases(d client.InstanceServer, names []string, fingerprint string) error {
	if len(names) == 0 {
		return nil
	}

	existing, err := d.GetImageAliases()
	if err != nil {
		return err
	}

	have := map[string]bool{}
	for _, a := range existing {
		have[a.Name] = true
	}

	for _, name := range names {
		if have[name] {
			err = d.DeleteImageAlias(name)
			if err != nil {
				return err
			}
		}

		alias := api.ImageAliasesPost{}
		alias.Name = name
		alias.Target = fingerprint
		err = d.CreateImageAlias(alias)
		if err != nil {
			return err
		}

		have[name] = true
	}

	return nil
}

type cmdImageExport struct {
	global *cmdGlobal
	flagVM bool
}

func (c *cmdImageExport) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export [<remote>:]<image> [<target>]",
		Short: "Export and download images",
		Long: `Export and download images

The output target is optional and defaults to the working directory.`,
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagVM, "vm", false, "Query virtual machine images")
	return cmd
}

func (c *cmdImageExport) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	d, name, err := c.global.imageSource(args[0])
	if err != nil {
		return err
	}

	fp := dereferenceAlias(d, imageTypeFlag(c.flagVM), name)
	target := "."
	if len(args) == 2 {
		target = args[1]
	}

	files, err := createExportFiles(target)
	if err != nil {
		return err
	}

	progress := newProgress(cmd.OutOrStdout(), "Exporting the image: %s", c.global.flagQuiet)
	resp, err := d.GetImageFile(fp, client.ImageFileRequest{
		MetaFile:        files.meta,
		RootfsFile:      files.rootfs,
		ProgressHandler: progress.transferHandler(),
	})
	if err == nil {
		err = files.finish(resp)
	}

	if err != nil {
		progress.done("")
		files.abort()
		return err
	}

	progress.done("Image exported successfully!")
	return nil
}

// exportFiles are the files an export writes to. In a directory they are temporary files renamed after the names
// the server gives; otherwise they are the target (the unified tarball, or the metadata) and target.root (the
// rootfs of a split image), and a unified tarball gets the extension of the server's name.
type exportFiles struct {
	dir        string
	meta       *os.File
	rootfs     *os.File
	metaPath   string
	rootfsPath string
	final      []string
}

func createExportFiles(target string) (*exportFiles, error) {
	f := &exportFiles{metaPath: target, rootfsPath: target + ".root"}
	info, err := os.Stat(target)
	var create func(path string) (*os.File, error)
	if err == nil && info.IsDir() {
		f.dir = target
		create = func(string) (*os.File, error) {
			tmp, err := os.CreateTemp(target, ".lxc-export-*")
			if err != nil {
				return nil, err
			}

			err = tmp.Chmod(0o644)
			if err != nil {
				_ = tmp.Close()
				_ = os.Remove(tmp.Name())
				return nil, err
			}

			return tmp, nil
		}
	} else {
		create = os.Create
	}

	f.meta, err = create(f.metaPath)
	if err != nil {
		return nil, err
	}

	f.metaPath = f.meta.Name()
	f.rootfs, err = create(f.rootfsPath)
	if err != nil {
		f.abort()
		return nil, err
	}

	f.rootfsPath = f.rootfs.Name()
	return f, nil
}

// abort closes and removes every file of the export.
func (f *exportFiles) abort() {
	for _, file := range []*os.File{f.meta, f.rootfs} {
		if file != nil {
			_ = file.Close()
			_ = os.Remove(file.Name())
		}
	}

	for _, path := range f.final {
		_ = os.Remove(path)
	}
}

// finish closes the files and gives them their final names.
func (f *exportFiles) finish(resp *client.ImageFileResponse) error {
	for _, file := range []*os.File{f.meta, f.rootfs} {
		err := file.Close()
		if err != nil {
			return err
		}
	}

	split := resp.RootfsName != "" || resp.RootfsSize > 0
	if !split {
		err := os.Remove(f.rootfsPath)
		if err != nil {
			return err
		}
	}

	rename := func(from string, to string) error {
		err := os.Rename(from, to)
		if err != nil {
			return err
		}

		f.final = append(f.final, to)
		return nil
	}

	if f.dir != "" {
		names := []string{resp.MetaName}
		if split {
			names = append(names, resp.RootfsName)
		}

		for _, name := range names {
			if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
				return fmt.Errorf("invalid file name %q from the server", name)
			}
		}

		err := rename(f.metaPath, filepath.Join(f.dir, resp.MetaName))
		if err != nil {
			return err
		}

		if split {
			return rename(f.rootfsPath, filepath.Join(f.dir, resp.RootfsName))
		}

		return nil
	}

	_, ext, found := strings.Cut(resp.MetaName, ".")
	if !split && found && ext != "" {
		return rename(f.metaPath, f.metaPath+"."+ext)
	}

	return nil
}

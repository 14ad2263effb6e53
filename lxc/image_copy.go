package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdImageCopy struct {
	global          *cmdGlobal
	flagAliases     []string
	flagCopyAliases bool
	flagAutoUpdate  bool
	flagPublic      bool
	flagMode        string
	flagVM          bool
}

func (c *cmdImageCopy) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "copy [<remote>:]<image> <remote>:",
		Short: "Copy images between servers",
		Long: `Copy images between servers

The auto-update flag instructs the server to keep this image up to date.
It requires the source to be an alias and for it to be public.

In pull mode (the default) the destination server downloads the image from the source; in push mode the source
server uploads it to the destination; in relay mode this client downloads it and uploads it to the destination.`,
		RunE: c.run,
	}

	cmd.Flags().StringSliceVar(&c.flagAliases, "alias", nil, "New aliases to add to the image")
	cmd.Flags().BoolVar(&c.flagCopyAliases, "copy-aliases", false, "Copy aliases from source")
	cmd.Flags().BoolVar(&c.flagAutoUpdate, "auto-update", false, "Keep the image up to date after initial copy")
	cmd.Flags().BoolVar(&c.flagPublic, "public", false, "Make image public")
	cmd.Flags().StringVar(&c.flagMode, "mode", "pull", "Transfer mode. One of pull (default), push or relay")
	cmd.Flags().BoolVar(&c.flagVM, "vm", false, "Copy virtual machine images")
	return cmd
}

func (c *cmdImageCopy) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	if c.flagMode != "pull" && c.flagMode != "push" && c.flagMode != "relay" {
		return fmt.Errorf("invalid mode %q: pull, push or relay", c.flagMode)
	}

	srcRemote, name, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	dstRemote, dstName, err := c.global.conf.ParseRemote(args[1])
	if err != nil {
		return err
	}

	if name == "" || dstName != "" {
		return errors.New("usage: lxc image copy [<remote>:]<image> <remote>: [flags]")
	}

	src, err := c.global.conf.GetImageServer(srcRemote)
	if err != nil {
		return err
	}

	dst, err := c.global.conf.GetInstanceServer(dstRemote)
	if err != nil {
		return err
	}

	// An alias is tried first, then a fingerprint or prefix, as everywhere else.
	imageType := imageTypeFlag(c.flagVM)
	fp := name
	byAlias := false
	alias, _, err := src.GetImageAliasType(imageType, name)
	if err == nil {
		fp = alias.Target
		byAlias = true
	}

	img, _, err := src.GetImage(fp)
	if err != nil {
		return err
	}

	progress := newProgress(cmd.OutOrStdout(), "Copying the image: %s", c.global.flagQuiet)
	info, err := src.GetConnectionInfo()
	if err != nil {
		return err
	}

	// A source reached through the local socket cannot be reached by another server: relay through this client.
	mode := c.flagMode
	if info.SocketPath != "" {
		mode = "relay"
	}

	var op client.Operation
	switch mode {
	case "relay":
		op, err = c.relay(src, dst, img, progress)
	case "push":
		op, err = c.push(src, dst, img)
	default:
		op, err = c.pull(src, dst, info, img, name, byAlias)
	}

	if err != nil {
		return err
	}

	err = progress.wait(op)
	if err != nil {
		return err
	}

	newFP, _ := op.Get().Metadata["fingerprint"].(string)
	if newFP == "" {
		newFP = img.Fingerprint
	}

	names := append([]string{}, c.flagAliases...)
	if c.flagCopyAliases {
		for _, a := range img.Aliases {
			names = append(names, a.Name)
		}
	}

	err = ensureImageAliases(dst, names, newFP)
	if err != nil {
		return err
	}

	progress.done("Image copied successfully!")
	return nil
}

// pull asks the destination to download the image from the source; a private image of an LXD server goes with a
// one-time secret obtained from the source.
func (c *cmdImageCopy) pull(src client.ImageServer, dst client.InstanceServer, info *client.ConnectionInfo, img *api.Image,
	name string, byAlias bool) (client.Operation, error) {
	source := &api.ImagesPostSource{Type: "image", Mode: "pull"}
	source.Server = info.URL
	source.Protocol = info.Protocol
	source.Certificate = info.Certificate
	source.Fingerprint = img.Fingerprint
	if byAlias && (img.Public || info.Protocol == "simplestreams") {
		// The alias lets the destination keep the image up to date.
		source.Fingerprint = name
	}

	if !img.Public && info.Protocol != "simplestreams" {
		server, ok := src.(client.InstanceServer)
		if !ok {
			return nil, errors.New("private image on a server that cannot issue image secrets")
		}

		secretOp, err := server.CreateImageSecret(img.Fingerprint)
		if err != nil {
			return nil, err
		}

		secret, _ := secretOp.Get().Metadata["secret"].(string)
		if secret == "" {
			return nil, errors.New("the source server returned no image secret")
		}

		source.Secret = secret
	}

	req := api.ImagesPost{Source: source}
	req.AutoUpdate = c.flagAutoUpdate
	req.Public = c.flagPublic
	return dst.CreateImage(req, nil)
}

// push has the destination hand out an upload secret and the source server upload the image with it.
func (c *cmdImageCopy) push(src client.ImageServer, dst client.InstanceServer, img *api.Image) (client.Operation, error) {
	server, ok := src.(client.InstanceServer)
	if !ok {
		return nil, errors.New("push mode needs an LXD server as the source")
	}

	dstInfo, err := dst.GetConnectionInfo()
	if err != nil {
		return nil, err
	}

	if dstInfo.SocketPath != "" {
		return nil, errors.New("push mode needs a destination the source server can reach (use relay for the local socket)")
	}

	req := api.ImagesPost{Source: &api.ImagesPostSource{Mode: "push", Fingerprint: img.Fingerprint}}
	req.Public = c.flagPublic
	req.Properties = img.Properties
	token, err := dst.CreateImage(req, nil)
	if err != nil {
		return nil, err
	}

	secret, _ := token.Get().Metadata["secret"].(string)
	if secret == "" {
		return nil, errors.New("the destination server returned no upload secret")
	}

	op, err := server.ExportImage(img.Fingerprint, api.ImageExportPost{
		Target:      dstInfo.URL,
		Secret:      secret,
		Certificate: dstInfo.Certificate,
	})
	if err != nil {
		_ = token.Cancel()
		return nil, err
	}

	return op, nil
}

// relay downloads the image through this client and uploads it to the destination.
func (c *cmdImageCopy) relay(src client.ImageServer, dst client.InstanceServer, img *api.Image,
	progress *progressRenderer) (client.Operation, error) {
	tmp, err := os.MkdirTemp("", "lxc-image-copy-")
	if err != nil {
		return nil, err
	}

	defer func() { _ = os.RemoveAll(tmp) }()
	meta, err := os.Create(filepath.Join(tmp, "meta"))
	if err != nil {
		return nil, err
	}

	defer func() { _ = meta.Close() }()
	rootfs, err := os.Create(filepath.Join(tmp, "rootfs"))
	if err != nil {
		return nil, err
	}

	defer func() { _ = rootfs.Close() }()
	resp, err := src.GetImageFile(img.Fingerprint, client.ImageFileRequest{
		MetaFile: meta, RootfsFile: rootfs, ProgressHandler: progress.transferHandler(),
	})
	if err != nil {
		return nil, err
	}

	for _, f := range []*os.File{meta, rootfs} {
		_, err = f.Seek(0, 0)
		if err != nil {
			return nil, err
		}
	}

	args := &client.ImageCreateArgs{MetaFile: meta, MetaName: resp.MetaName, ProgressHandler: progress.transferHandler()}
	if resp.RootfsSize > 0 {
		args.RootfsFile = rootfs
		args.RootfsName = resp.RootfsName
	}

	req := api.ImagesPost{}
	req.Public = c.flagPublic
	req.Properties = img.Properties
	return dst.CreateImage(req, args)
}

type cmdImageRefresh struct {
	global *cmdGlobal
}

func (c *cmdImageRefresh) command() *cobra.Command {
	return &cobra.Command{
		Use:   "refresh [<remote>:]<image> [[<remote>:]<image>...]",
		Short: "Refresh images",
		RunE:  c.run,
	}
}

func (c *cmdImageRefresh) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	for _, arg := range args {
		d, name, err := c.global.imageTarget(arg)
		if err != nil {
			return err
		}

		fp := dereferenceAlias(d, "", name)
		img, _, err := d.GetImage(fp)
		if err != nil {
			return err
		}

		progress := newProgress(cmd.OutOrStdout(), "Refreshing the image: %s", c.global.flagQuiet)
		op, err := d.RefreshImage(img.Fingerprint)
		if err != nil {
			return err
		}

		err = progress.wait(op)
		if err != nil {
			return err
		}

		refreshed, _ := op.Get().Metadata["refreshed"].(bool)
		if refreshed {
			progress.done("Image refreshed successfully!")
		} else {
			progress.done("Image already up to date.")
		}
	}

	return nil
}

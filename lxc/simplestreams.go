package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/simplestreams"
)

type cmdSimplestreams struct {
	global *cmdGlobal
}

func (c *cmdSimplestreams) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simplestreams",
		Short: "Manage simplestreams trees",
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}

	cmd.AddCommand((&cmdSimplestreamsExport{global: c.global}).command())
	return cmd
}

type cmdSimplestreamsExport struct {
	global *cmdGlobal
}

func (c *cmdSimplestreamsExport) command() *cobra.Command {
	return &cobra.Command{
		Use:   "export [<remote>:] <dir>",
		Short: "Write the public images of a server as a simplestreams tree",
		Long: `Write the public images of a server as a simplestreams tree

The tree (streams/v1/index.json, streams/v1/images.json and the image files under images/<fingerprint>/) can be
served by any web server over HTTPS and added with "lxc remote add NAME URL --protocol simplestreams".
Running the command again updates the tree: only new images are downloaded, files of unchanged images are left
as they are, and images no longer public are removed. The JSON files are replaced last, atomically.`,
		RunE: c.run,
	}
}

func (c *cmdSimplestreamsExport) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	remote := c.global.conf.DefaultRemote
	dir := args[len(args)-1]
	if len(args) == 2 {
		var name string
		remote, name, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		if name != "" {
			return errors.New("usage: lxc simplestreams export [<remote>:] <dir>")
		}
	}

	d, err := c.global.conf.GetImageServer(remote)
	if err != nil {
		return err
	}

	all, err := d.GetImages()
	if err != nil {
		return err
	}

	public := make([]api.Image, 0, len(all))
	for _, img := range all {
		if img.Public && img.Type != "virtual-machine" {
			public = append(public, img)
		}
	}

	fetch := func(img api.Image, meta io.Writer, rootfs io.Writer) (string, string, error) {
		progress := newProgress(cmd.OutOrStdout(), "Exporting "+shortFingerprint(img.Fingerprint)+": %s",
			c.global.flagQuiet)
		defer progress.done("")
		resp, err := d.GetImageFile(img.Fingerprint, client.ImageFileRequest{
			MetaFile:        meta,
			RootfsFile:      rootfs,
			ProgressHandler: progress.transferHandler(),
		})
		if err != nil {
			return "", "", err
		}

		return resp.MetaName, resp.RootfsName, nil
	}

	res, err := simplestreams.Export(dir, public, fetch)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "Exported %d images: %d downloaded, %d unchanged, %d removed\n",
			len(res.Fetched)+len(res.Kept), len(res.Fetched), len(res.Kept), len(res.Pruned))
	}

	return err
}

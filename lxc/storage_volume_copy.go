package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
)

// cmdStorageVolumeCopy is "lxc storage volume copy" and "move" of custom volumes, on one server.
type cmdStorageVolumeCopy struct {
	volume *cmdStorageVolume

	flagMode              string
	flagVolumeOnly        bool
	flagRefresh           bool
	flagTargetProject     string
	flagDestinationTarget string
}

func (c *cmdStorageVolumeCopy) command(move bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "copy [<remote>:]<pool>/<volume>[/<snapshot>] [<remote>:]<pool>/<volume>",
		Aliases: []string{"cp"},
		Short:   "Copy storage volumes",
		RunE:    func(cmd *cobra.Command, args []string) error { return c.run(cmd, args, move) },
	}

	if move {
		cmd.Use = "move [<remote>:]<pool>/<volume> [<remote>:]<pool>/<volume>"
		cmd.Aliases = []string{"mv"}
		cmd.Short = "Move storage volumes between pools"
		cmd.Flags().StringVar(&c.flagMode, "mode", "pull", "Transfer mode, one of pull (default), push or relay")
		cmd.Flags().StringVar(&c.flagTargetProject, "target-project", "", "Move to a project different from the source")
	} else {
		cmd.Flags().StringVar(&c.flagMode, "mode", "pull", "Transfer mode. One of pull (default), push or relay.")
		cmd.Flags().BoolVar(&c.flagVolumeOnly, "volume-only", false, "Copy the volume without its snapshots")
		cmd.Flags().BoolVar(&c.flagRefresh, "refresh", false, "Refresh and update the existing storage volume copies")
		cmd.Flags().StringVar(&c.flagTargetProject, "target-project", "", "Copy to a project different from the source")
	}

	cmd.Long = cmd.Short
	cmd.Flags().StringVar(&c.volume.storage.flagTarget, "target", "", "Cluster member name")
	cmd.Flags().StringVar(&c.flagDestinationTarget, "destination-target", "", "Destination cluster member name")
	return cmd
}

// poolAndVolume splits "<pool>/<volume>[/<snapshot>]"; the pool is "" when the argument has no "/".
func poolAndVolume(s string) (string, string) {
	pool, vol, found := strings.Cut(s, "/")
	if !found {
		return "", s
	}

	return pool, vol
}

func (c *cmdStorageVolumeCopy) run(cmd *cobra.Command, args []string, move bool) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	conf := c.volume.storage.global.conf
	srcRemote, srcPath, err := conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	dstRemote, dstPath, err := conf.ParseRemote(args[1])
	if err != nil {
		return err
	}

	if srcPath == "" {
		return errors.New("missing source volume name")
	}

	srcPool, srcName := poolAndVolume(srcPath)
	if srcPool == "" {
		return errors.New("no storage pool for source volume specified")
	}

	dstPool, dstName := poolAndVolume(dstPath)
	if dstPool == "" {
		return errors.New("no storage pool for target volume specified")
	}

	switch c.flagMode {
	case "pull", "push", "relay":
	default:
		return fmt.Errorf("invalid transfer mode %q: one of pull, push or relay", c.flagMode)
	}

	src, err := conf.GetInstanceServer(srcRemote)
	if err != nil {
		return err
	}

	dst := src
	if dstRemote != srcRemote {
		dst, err = conf.GetInstanceServer(dstRemote)
		if err != nil {
			return err
		}
	}

	err = checkTarget(src, c.volume.storage.flagTarget)
	if err == nil {
		err = checkTarget(dst, c.flagDestinationTarget)
	}

	if err != nil {
		return err
	}

	if c.flagTargetProject != "" {
		dst = dst.UseProject(c.flagTargetProject)
	}

	volName, snapName, err := splitSnapshot(srcName)
	if err != nil {
		return err
	}

	if move && snapName != "" {
		return errors.New("a snapshot cannot be moved, copy it instead")
	}

	if snapName != "" {
		_, _, err = src.GetStoragePoolVolumeSnapshot(srcPool, "custom", volName, snapName)
		if err != nil {
			return err
		}
	}

	vol, _, err := src.GetStoragePoolVolume(srcPool, "custom", volName)
	if err != nil {
		return err
	}

	// A copy names its source "<volume>/<snapshot>" to copy a snapshot.
	vol.Name = srcName
	args2 := &client.StoragePoolVolumeCopyArgs{Name: dstName, Mode: c.flagMode, VolumeOnly: c.flagVolumeOnly, Refresh: c.flagRefresh}
	op, err := dst.CopyStoragePoolVolume(dstPool, src, srcPool, *vol, args2)
	if err == nil {
		err = op.Wait()
	}

	if err != nil {
		return err
	}

	msg := "Storage volume copied successfully!"
	if move {
		// As the stock client moves a volume: a copy, then the source is deleted.
		err = src.DeleteStoragePoolVolume(srcPool, "custom", volName)
		if err != nil {
			return err
		}

		msg = "Storage volume moved successfully!"
	}

	if !c.volume.quiet() {
		fmt.Fprintln(cmd.OutOrStdout(), msg)
	}

	return nil
}

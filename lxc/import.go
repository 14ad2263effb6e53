package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
)

type cmdImport struct {
	global *cmdGlobal

	flagStorage string
}

func (c *cmdImport) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import [<remote>:] <backup file> [<instance name>]",
		Short: "Import instance backups",
		Long: `Import backups of instances including their snapshots

The instance is created from a backup tarball made by lxc export, under the name it was exported with unless one is
given, on the storage pool it was on unless --storage names another.
    lxc import backup0.tar.gz`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagStorage, "storage", "s", "", "Storage pool name")
	return cmd
}

func (c *cmdImport) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 3)
	if exit {
		return err
	}

	remote := c.global.conf.DefaultRemote
	if len(args) > 1 && strings.HasSuffix(args[0], ":") {
		remote, _, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		args = args[1:]
	}

	if len(args) > 2 {
		return fmt.Errorf("too many arguments")
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	f, err := os.Open(args[0])
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	importArgs := client.InstanceBackupImportArgs{BackupFile: f, PoolName: c.flagStorage}
	if len(args) > 1 {
		importArgs.Name = args[1]
	}

	progress := newProgress(cmd.OutOrStdout(), "Importing instance: %s", c.global.flagQuiet)
	importArgs.ProgressHandler = progress.transferHandler()
	op, err := d.CreateInstanceFromBackup(importArgs)
	if err != nil {
		progress.done("")
		return err
	}

	err = progress.follow(op)
	progress.done("")
	return err
}

package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
)

type cmdRename struct {
	global *cmdGlobal
}

func (c *cmdRename) command() *cobra.Command {
	return &cobra.Command{
		Use:   "rename [<remote>:]<instance>[/<snapshot>] <instance>[/<snapshot>]",
		Short: "Rename instances and snapshots",
		Long: `Rename instances and snapshots

"lxc move" within one server: the new name stays on the remote of the old one.
    lxc rename c1 c2
    lxc rename other:c1 c2
    lxc rename c1/snap0 c1/first`,
		RunE: c.run,
	}
}

// renameArgs puts the new name on the remote of the old one, as the stock client does: a new name naming another
// remote is refused, one without a remote gets the old one's.
func (c *cmdRename) renameArgs(args []string) ([]string, error) {
	srcRemote, _, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return nil, err
	}

	dstRemote, _, err := c.global.conf.ParseRemote(args[1])
	if err != nil {
		return nil, err
	}

	if srcRemote == dstRemote {
		return args, nil
	}

	if strings.Contains(args[1], ":") {
		return nil, errors.New("can't specify a different remote for rename")
	}

	return []string{args[0], srcRemote + ":" + args[1]}, nil
}

func (c *cmdRename) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	args, err = c.renameArgs(args)
	if err != nil {
		return err
	}

	return (&cmdMove{global: c.global}).run(cmd, args)
}

package main

//lint:file-ignore ST1005 the messages are those of LXD 5.0.2's client, capitalised as they are

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// evacuateCommand is "lxc cluster evacuate" (action "evacuate") or "lxc cluster restore" (action "restore").
func (c *cmdCluster) evacuateCommand(action string, short string) *cobra.Command {
	var force bool
	cmd := c.sub(action+" [<remote>:]<member>", short, 1, 1, func(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
		if !force {
			yes, err := askYesNo(newAsker(cmd), fmt.Sprintf("Are you sure you want to %s cluster member %q? (yes/no) [default=no]: ", action, name))
			if err != nil || !yes {
				return err
			}
		}

		op, err := d.UpdateClusterMemberState(name, api.ClusterMemberStatePost{Action: action})
		if err != nil {
			return fmt.Errorf("Failed to update cluster member state: %w", err)
		}

		format := "Evacuating cluster member: %s"
		if action == "restore" {
			format = "Restoring cluster member: %s"
		}

		progress := newProgress(cmd.OutOrStdout(), format, c.global.flagQuiet)
		err = progress.wait(op)
		progress.done("")
		return err
	})

	cmd.Flags().BoolVar(&force, "force", false, "Force evacuation without user confirmation")
	return cmd
}

// askYesNo asks a yes/no question whose default is no, again until the answer is one of yes, y, no, n or empty.
func askYesNo(a *asker, question string) (bool, error) {
	for {
		answer, err := a.askString(question)
		if err != nil {
			return false, err
		}

		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "yes", "y":
			return true, nil
		case "no", "n", "":
			return false, nil
		}

		_, _ = fmt.Fprint(a.out, "Invalid input, try again.\n\n")
	}
}

package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdMove struct {
	global *cmdGlobal

	flagStorage string
	flagTarget  string
}

func (c *cmdMove) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "move [<remote>:]<instance>[/<snapshot>] [<remote>:][<instance>[/<snapshot>]]",
		Aliases: []string{"mv"},
		Short:   "Move instances within or in between LXD servers",
		Long: `Move instances within or in between LXD servers

The instance must be stopped; its snapshots follow it, and its rename templates are rendered.
    lxc move c1 c2
    lxc move c1/snap0 c1/first
    lxc move c1 --storage pool2     (to another storage pool of the same server)`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagStorage, "storage", "s", "", "Storage pool name")
	cmd.Flags().StringVar(&c.flagTarget, "target-project", "", "Copy to a project different from the source")
	return cmd
}

// moveTarget is one side of a move: the instance and, for a snapshot rename, the snapshot.
type moveTarget struct {
	remote   string
	instance string
	snapshot string
	isSnap   bool
}

// parseMoveTarget reads "[<remote>:]<instance>[/<snapshot>]".
func (c *cmdMove) parseMoveTarget(arg string) (moveTarget, error) {
	remote, name, err := c.global.conf.ParseRemote(arg)
	if err != nil {
		return moveTarget{}, err
	}

	t := moveTarget{remote: remote}
	t.instance, t.snapshot, t.isSnap = strings.Cut(name, "/")
	return t, nil
}

// moveRequest checks a move from src to dst and says whether it renames a snapshot (and then its new name) or
// the instance.
func moveRequest(src moveTarget, dst moveTarget) (snapshot bool, newName string, err error) {
	if src.instance == "" {
		return false, "", errors.New("the source instance name is missing")
	}

	if src.remote != dst.remote {
		return false, "", errors.New("moving instances between servers is not supported")
	}

	if src.isSnap {
		if src.snapshot == "" {
			return false, "", errors.New("the source snapshot name is missing")
		}

		if dst.instance != src.instance {
			return false, "", errors.New("invalid new snapshot name, parent must be the same as source")
		}

		if !dst.isSnap || dst.snapshot == "" {
			return false, "", errors.New("invalid new snapshot name, parent snapshot must be the same as source")
		}

		return true, dst.snapshot, nil
	}

	if dst.isSnap {
		return false, "", errors.New("an instance cannot be renamed to a snapshot")
	}

	if dst.instance == "" {
		return false, "", errors.New("the destination instance name is missing")
	}

	return false, dst.instance, nil
}

func (c *cmdMove) run(cmd *cobra.Command, args []string) error {
	minArgs := 2
	if c.flagStorage != "" {
		minArgs = 1
	}

	exit, err := checkArgs(cmd, args, minArgs, 2)
	if exit {
		return err
	}

	src, err := c.parseMoveTarget(args[0])
	if err != nil {
		return err
	}

	dst := src
	if len(args) > 1 {
		dst, err = c.parseMoveTarget(args[1])
		if err != nil {
			return err
		}
	}

	if c.flagStorage != "" {
		return c.movePool(src, dst)
	}

	if c.flagTarget != "" {
		return c.moveProject(src, dst)
	}

	if src.remote != dst.remote && !src.isSnap && !dst.isSnap {
		return c.moveRemote(src, dst)
	}

	isSnap, newName, err := moveRequest(src, dst)
	if err != nil {
		return err
	}

	d, err := c.global.conf.GetInstanceServer(src.remote)
	if err != nil {
		return err
	}

	if isSnap {
		op, err := d.RenameInstanceSnapshot(src.instance, src.snapshot, api.InstanceSnapshotPost{Name: newName})
		if err != nil {
			return err
		}

		return op.Wait()
	}

	op, err := d.RenameInstance(src.instance, api.InstancePost{Name: newName})
	if err != nil {
		return err
	}

	return op.Wait()
}

// moveProject moves an instance to another project of its server, as the stock client does: a copy with its
// snapshots into the target project, then the deletion of the source.
func (c *cmdMove) moveProject(src moveTarget, dst moveTarget) error {
	if src.remote != dst.remote || src.isSnap || dst.isSnap {
		return errors.New("--target-project moves an instance within one server")
	}

	d, err := c.global.conf.GetInstanceServer(src.remote)
	if err != nil {
		return err
	}

	req := api.InstancesPost{Name: dst.instance, Type: api.InstanceTypeContainer, Source: api.InstanceSource{
		Type: "copy", Source: src.instance, Project: c.global.conf.ProjectOf(src.remote)}}
	op, err := d.UseProject(c.flagTarget).CreateInstance(req)
	if err != nil {
		return err
	}

	err = op.Wait()
	if err != nil {
		return err
	}

	op, err = d.DeleteInstance(src.instance)
	if err != nil {
		return err
	}

	return op.Wait()
}

// movePool moves an instance to another storage pool of its server, renaming it when dst names another instance.
func (c *cmdMove) movePool(src moveTarget, dst moveTarget) error {
	if src.isSnap || dst.isSnap {
		return errors.New("snapshots cannot be moved to another storage pool on their own")
	}

	_, newName, err := moveRequest(src, dst)
	if err != nil {
		return err
	}

	d, err := c.global.conf.GetInstanceServer(src.remote)
	if err != nil {
		return err
	}

	if !d.HasExtension("instance_pool_move") {
		return errors.New("the server is missing the required \"instance_pool_move\" API extension")
	}

	op, err := d.RenameInstance(src.instance, api.InstancePost{Name: newName, Migration: true, Pool: c.flagStorage})
	if err != nil {
		return err
	}

	return op.Wait()
}

// moveRemote moves an instance to another server: a copy with the migration API, then the deletion of the source.
func (c *cmdMove) moveRemote(src moveTarget, dst moveTarget) error {
	if src.instance == "" {
		return errors.New("the source instance name is missing")
	}

	if dst.instance == "" {
		dst.instance = src.instance
	}

	s, err := c.global.conf.GetInstanceServer(src.remote)
	if err != nil {
		return err
	}

	d, err := c.global.conf.GetInstanceServer(dst.remote)
	if err != nil {
		return err
	}

	err = migrateInstance(s, d, src.instance, migrateArgs{Name: dst.instance})
	if err != nil {
		return err
	}

	op, err := s.DeleteInstance(src.instance)
	if err != nil {
		return err
	}

	return op.Wait()
}

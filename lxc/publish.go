package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdPublish struct {
	global *cmdGlobal

	flagAliases     []string
	flagPublic      bool
	flagForce       bool
	flagCompression string
}

func (c *cmdPublish) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publish [<remote>:]<instance>[/<snapshot>] [<remote>:] [flags] [key=value...]",
		Short: "Publish instances as images",
		Long: `Publish instances as images

The key=value pairs become the image properties; without any, the instance's image.* keys are used.
    lxc publish c1 --alias mine description="my image"`,
		RunE: c.run,
	}

	cmd.Flags().StringArrayVar(&c.flagAliases, "alias", nil, "New alias to define at target")
	cmd.Flags().BoolVar(&c.flagPublic, "public", false, "Make the image public")
	cmd.Flags().BoolVarP(&c.flagForce, "force", "f", false, "Stop the instance if currently running")
	cmd.Flags().StringVar(&c.flagCompression, "compression", "", "Compression algorithm to use (none for uncompressed)")
	return cmd
}

func (c *cmdPublish) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	remote, name, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	if name == "" {
		return fmt.Errorf("missing instance name in %q", args[0])
	}

	props := map[string]string{}
	for _, arg := range args[1:] {
		k, v, ok := strings.Cut(arg, "=")
		if ok {
			props[k] = v
			continue
		}

		target, rest, err := c.global.conf.ParseRemote(arg)
		if err != nil {
			return err
		}

		if rest != "" || target != remote {
			return errors.New("publishing to another server is not supported: publish, then lxc image copy")
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	instName, snap, isSnap := strings.Cut(name, "/")
	req := api.ImagesPost{CompressionAlgorithm: c.flagCompression}
	req.Public = c.flagPublic
	if len(props) > 0 {
		req.Properties = props
	}

	for _, a := range c.flagAliases {
		req.Aliases = append(req.Aliases, api.ImageAlias{Name: a})
	}

	restart := false
	if isSnap {
		req.Source = &api.ImagesPostSource{Type: "snapshot", Name: instName + "/" + snap}
	} else {
		req.Source = &api.ImagesPostSource{Type: "instance", Name: name}
		inst, _, err := d.GetInstance(name)
		if err != nil {
			return err
		}

		if inst.StatusCode != api.Stopped {
			if !c.flagForce {
				return errors.New("the instance is currently running, use --force to have it stopped and restarted")
			}

			op, err := d.UpdateInstanceState(name, api.InstanceStatePut{Action: "stop", Timeout: -1}, "")
			if err != nil {
				return err
			}

			err = op.Wait()
			if err != nil {
				return fmt.Errorf("stopping the instance: %w", err)
			}

			restart = true
		}
	}

	op, err := d.CreateImage(req, nil)
	if err == nil {
		err = op.Wait()
	}

	if restart {
		startOp, startErr := d.UpdateInstanceState(name, api.InstanceStatePut{Action: "start", Timeout: -1}, "")
		if startErr == nil {
			startErr = startOp.Wait()
		}

		if startErr != nil && err == nil {
			err = fmt.Errorf("starting the instance again: %w", startErr)
		}
	}

	if err != nil {
		return err
	}

	fp, _ := op.Get().Metadata["fingerprint"].(string)
	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Instance published with fingerprint: %s\n", fp)
	}

	return nil
}

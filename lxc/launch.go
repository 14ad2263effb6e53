package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdLaunch struct {
	init cmdInit

	flagConsole string
}

func (c *cmdLaunch) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "launch [<remote>:]<image> [<remote>:][<name>]",
		Short: "Create and start instances from images",
		Long: `Create and start instances from images

    lxc launch bb c1 -c security.privileged=true`,
		RunE: c.run,
	}

	c.init.addFlags(cmd)
	cmd.Flags().StringVar(&c.flagConsole, "console", "", "Immediately attach to the console")
	cmd.Flags().Lookup("console").NoOptDefVal = "console"
	return cmd
}

func (c *cmdLaunch) run(cmd *cobra.Command, args []string) error {
	d, remote, name, err := c.init.create(cmd, args, true)
	if err != nil || d == nil {
		return err
	}

	if !c.init.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Starting %s\n", name)
	}

	op, err := d.UpdateInstanceState(name, api.InstanceStatePut{Action: "start", Timeout: -1}, "")
	if err != nil {
		return err
	}

	err = op.Wait()
	if err != nil || c.flagConsole == "" {
		return err
	}

	console := &cmdConsole{global: c.init.global, flagType: c.flagConsole}
	return console.run(cmd, []string{remote + ":" + name})
}

// imageSecret looks the image up on its LXD server; a private one is named by its fingerprint and goes with a
// one-time secret from that server, as the target daemon is not trusted by it.
func imageSecret(server client.InstanceServer, src *api.InstanceSource) error {
	fp := src.Fingerprint
	if src.Alias != "" {
		alias, _, err := server.GetImageAlias(src.Alias)
		if err != nil {
			return fmt.Errorf("image %q not found on %s: %w", src.Alias, src.Server, err)
		}

		fp = alias.Target
	}

	img, _, err := server.GetImage(fp)
	if err != nil {
		return err
	}

	if img.Public {
		return nil
	}

	op, err := server.CreateImageSecret(img.Fingerprint)
	if err != nil {
		return err
	}

	secret, _ := op.Get().Metadata["secret"].(string)
	if secret == "" {
		return errors.New("the image server returned no image secret")
	}

	src.Alias = ""
	src.Fingerprint = img.Fingerprint
	src.Secret = secret
	return nil
}

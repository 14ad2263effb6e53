package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

type cmdImageGetProp struct {
	global *cmdGlobal
}

func (c *cmdImageGetProp) command() *cobra.Command {
	return &cobra.Command{
		Use:   "get-property [<remote>:]<image> <key>",
		Short: "Get image properties",
		RunE:  c.run,
	}
}

func (c *cmdImageGetProp) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	d, name, err := c.global.imageSource(args[0])
	if err != nil {
		return err
	}

	img, _, err := d.GetImage(dereferenceAlias(d, "", name))
	if err != nil {
		return err
	}

	prop, ok := img.Properties[args[1]]
	if !ok {
		return errors.New("property not found")
	}

	_, err = fmt.Fprintln(cmd.OutOrStdout(), prop)
	return err
}

type cmdImageSetProp struct {
	global *cmdGlobal
}

func (c *cmdImageSetProp) command() *cobra.Command {
	return &cobra.Command{
		Use:   "set-property [<remote>:]<image> <key> <value>",
		Short: "Set image properties",
		RunE:  c.run,
	}
}

func (c *cmdImageSetProp) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 3, 3)
	if exit {
		return err
	}

	return c.global.updateImageProperty(args[0], args[1], args[2])
}

type cmdImageUnsetProp struct {
	global *cmdGlobal
}

func (c *cmdImageUnsetProp) command() *cobra.Command {
	return &cobra.Command{
		Use:   "unset-property [<remote>:]<image> <key>",
		Short: "Unset image properties",
		Long: `Unset image properties

As with the stock client, the property is set to the empty string: "lxc image get-property" then prints an empty
line. "lxc image edit" removes a key altogether.`,
		RunE: c.run,
	}
}

func (c *cmdImageUnsetProp) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	return c.global.updateImageProperty(args[0], args[1], "")
}

// updateImageProperty sets one property of an image with a PUT of its writable fields, under the ETag they were
// read with, as "lxc image edit" does.
func (g *cmdGlobal) updateImageProperty(arg string, key string, value string) error {
	d, name, err := g.imageTarget(arg)
	if err != nil {
		return err
	}

	img, etag, err := d.GetImage(dereferenceAlias(d, "", name))
	if err != nil {
		return err
	}

	put := img.Writable()
	props := make(map[string]string, len(put.Properties)+1)
	for k, v := range put.Properties {
		props[k] = v
	}

	props[key] = value
	put.Properties = props
	return d.UpdateImage(img.Fingerprint, put, etag)
}

package main

import (
	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdConfigMetadata struct {
	global *cmdGlobal
}

func (c *cmdConfigMetadata) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "metadata",
		Short: "Manage instance metadata files",
		Long:  "Manage instance metadata files",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	cmd.AddCommand(&cobra.Command{
		Use:   "show [<remote>:]<instance>",
		Short: "Show instance metadata files",
		RunE:  c.runShow,
	})

	cmd.AddCommand(&cobra.Command{
		Use:   "edit [<remote>:]<instance>",
		Short: "Edit instance metadata files",
		Long: `Edit instance metadata files

When the input is not a terminal, the new metadata is read from it:
    lxc config metadata edit c1 < metadata.yaml`,
		RunE: c.runEdit,
	})

	return cmd
}

func (c *cmdConfigMetadata) runShow(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	md, _, err := d.GetInstanceMetadata(name)
	if err != nil {
		return err
	}

	out, err := yamlMarshalStock(md)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

const metadataEditHeader = `### This is a YAML representation of the instance metadata.
### Any line starting with a '# will be ignored.
###
### A sample configuration looks like:
###
### architecture: x86_64
### creation_date: 1477146654
### expiry_date: 0
### properties:
###   description: BusyBox x86_64
###   os: BusyBox
### templates:
###   /etc/hostname:
###     when:
###     - start
###     create_only: false
###     template: hostname.tpl
###     properties: {}

`

func (c *cmdConfigMetadata) runEdit(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	load := func() ([]byte, string, error) {
		md, etag, err := d.GetInstanceMetadata(name)
		if err != nil {
			return nil, "", err
		}

		data, err := yamlMarshalStock(md)
		return data, etag, err
	}

	return editYAML(cmd, metadataEditHeader, load, func(md api.ImageMetadata, etag string) error {
		return d.UpdateInstanceMetadata(name, md, etag)
	})
}

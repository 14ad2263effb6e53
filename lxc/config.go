package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdConfig struct {
	global *cmdGlobal
}

func (c *cmdConfig) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage instance and server configuration options",
		Long:  "Manage instance and server configuration options",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	cmd.AddCommand((&cmdDevice{global: c.global}).command())
	cmd.AddCommand((&cmdConfigEdit{config: c}).command())
	cmd.AddCommand((&cmdConfigGet{config: c}).command())
	cmd.AddCommand((&cmdConfigMetadata{global: c.global}).command())
	cmd.AddCommand((&cmdConfigSet{config: c}).command())
	cmd.AddCommand((&cmdConfigShow{config: c}).command())
	cmd.AddCommand((&cmdConfigTemplate{global: c.global}).command())
	cmd.AddCommand((&cmdConfigTrust{global: c.global}).command())
	cmd.AddCommand((&cmdConfigUnset{config: c}).command())
	return cmd
}

// target is what a config command acts on: a remote's server configuration, or an instance on it.
type target struct {
	remote   string
	instance string
}

// parseTarget reads "[<remote>:][<instance>]".
func (c *cmdConfig) parseTarget(arg string) (target, error) {
	remote, name, err := c.global.conf.ParseRemote(arg)
	if err != nil {
		return target{}, err
	}

	return target{remote: remote, instance: name}, nil
}

// isRemoteOnly reports whether arg is of the form "<remote>:" for a known remote.
func (c *cmdConfig) isRemoteOnly(arg string) bool {
	remote, ok := strings.CutSuffix(arg, ":")
	if !ok {
		return false
	}

	_, known := c.global.conf.Remotes[remote]
	return known
}

// serverOnly fails for instance targets.
func (t target) serverOnly() error {
	if t.instance != "" {
		return fmt.Errorf("%q names an instance, not a server", t.instance)
	}

	return nil
}

// getServer connects to the target's remote and returns its server object and ETag.
func (c *cmdConfig) getServer(t target) (*serverConn, error) {
	err := t.serverOnly()
	if err != nil {
		return nil, err
	}

	d, err := c.global.conf.GetInstanceServer(t.remote)
	if err != nil {
		return nil, err
	}

	srv, etag, err := d.GetServer()
	if err != nil {
		return nil, err
	}

	if srv.Config == nil {
		srv.Config = map[string]any{}
	}

	return &serverConn{update: d.UpdateServer, server: srv, etag: etag}, nil
}

// instanceConn is a fetched instance and the way to write it back.
type instanceConn struct {
	inst   *api.Instance
	update func(api.InstancePut) error
}

// getInstance connects to the target's remote and fetches its instance.
func (c *cmdConfig) getInstance(t target) (*instanceConn, error) {
	if strings.Contains(t.instance, "/") {
		return nil, fmt.Errorf("snapshot %q: snapshot configuration cannot be changed", t.instance)
	}

	d, err := c.global.conf.GetInstanceServer(t.remote)
	if err != nil {
		return nil, err
	}

	inst, etag, err := d.GetInstance(t.instance)
	if err != nil {
		return nil, err
	}

	if inst.Config == nil {
		inst.Config = map[string]string{}
	}

	update := func(put api.InstancePut) error {
		op, err := d.UpdateInstance(t.instance, put, etag)
		if err != nil {
			return err
		}

		return op.Wait()
	}

	return &instanceConn{inst: inst, update: update}, nil
}

// serverConn is a fetched server configuration and the way to write it back.
type serverConn struct {
	update func(api.ServerPut, string) error
	server *api.Server
	etag   string
}

// configValueString prints a configuration value as the stock client does: absent values are empty.
func configValueString(v any) string {
	if v == nil {
		return ""
	}

	return fmt.Sprint(v)
}

type cmdConfigGet struct {
	config *cmdConfig

	flagExpanded bool
}

func (c *cmdConfigGet) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get [<remote>:][<instance>] <key>",
		Short: "Get values for instance or server configuration keys",
		RunE:  c.run,
	}

	cmd.Flags().BoolVarP(&c.flagExpanded, "expanded", "e", false, "Access the expanded configuration (with profiles)")
	return cmd
}

func (c *cmdConfigGet) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	t := target{remote: c.config.global.conf.DefaultRemote}
	if len(args) == 2 {
		t, err = c.config.parseTarget(args[0])
		if err != nil {
			return err
		}
	}

	if t.instance != "" {
		ic, err := c.config.getInstance(t)
		if err != nil {
			return err
		}

		config := ic.inst.Config
		if c.flagExpanded {
			config = ic.inst.ExpandedConfig
		}

		_, err = fmt.Fprintln(cmd.OutOrStdout(), config[args[len(args)-1]])
		return err
	}

	conn, err := c.config.getServer(t)
	if err != nil {
		return err
	}

	_, err = fmt.Fprintln(cmd.OutOrStdout(), configValueString(conn.server.Config[args[len(args)-1]]))
	return err
}

type cmdConfigSet struct {
	config *cmdConfig
}

func (c *cmdConfigSet) command() *cobra.Command {
	return &cobra.Command{
		Use:   "set [<remote>:][<instance>] <key>=<value>...",
		Short: "Set instance or server configuration keys",
		Long: `Set instance or server configuration keys

For backward compatibility, a single configuration key may still be set with:
    lxc config set [<remote>:][<instance>] <key> <value>`,
		Example: `  lxc config set core.https_address=127.0.0.1:8443
  lxc config set remote: core.trust_password blah`,
		RunE: c.run,
	}
}

// parseKeyValues reads either "<key> <value>" or any number of "<key>=<value>".
func parseKeyValues(args []string) (map[string]string, error) {
	if len(args) == 2 && !strings.Contains(args[0], "=") {
		return map[string]string{args[0]: args[1]}, nil
	}

	out := map[string]string{}
	for _, arg := range args {
		k, v, ok := strings.Cut(arg, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid key=value configuration: %s", arg)
		}

		out[k] = v
	}

	return out, nil
}

// splitSetArgs separates the target from the key/value arguments of "config set".
func (c *cmdConfigSet) splitSetArgs(args []string) (target, []string, error) {
	conf := c.config.global.conf
	switch {
	case c.config.isRemoteOnly(args[0]):
		return target{remote: strings.TrimSuffix(args[0], ":")}, args[1:], nil
	case strings.Contains(args[0], "="):
		return target{remote: conf.DefaultRemote}, args, nil
	case len(args) == 2 && !strings.Contains(args[1], "="):
		return target{remote: conf.DefaultRemote}, args, nil
	case len(args) == 2 && strings.Contains(args[0], ".") && !strings.Contains(args[0], ":"):
		// Instance names cannot contain dots: this is "<key> <value>" with an "=" in the value.
		return target{remote: conf.DefaultRemote}, args, nil
	}

	t, err := c.config.parseTarget(args[0])
	return t, args[1:], err
}

func (c *cmdConfigSet) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	t, rest, err := c.splitSetArgs(args)
	if err != nil {
		return err
	}

	if len(rest) == 0 {
		return errors.New("invalid number of arguments")
	}

	values, err := parseKeyValues(rest)
	if err != nil {
		return err
	}

	if t.instance != "" {
		ic, err := c.config.getInstance(t)
		if err != nil {
			return err
		}

		for k, v := range values {
			ic.inst.Config[k] = v
		}

		return ic.update(ic.inst.Writable())
	}

	conn, err := c.config.getServer(t)
	if err != nil {
		return err
	}

	for k, v := range values {
		conn.server.Config[k] = v
	}

	return conn.update(conn.server.Writable(), conn.etag)
}

type cmdConfigUnset struct {
	config *cmdConfig
}

func (c *cmdConfigUnset) command() *cobra.Command {
	return &cobra.Command{
		Use:   "unset [<remote>:][<instance>] <key>",
		Short: "Unset instance or server configuration keys",
		RunE:  c.run,
	}
}

func (c *cmdConfigUnset) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	t := target{remote: c.config.global.conf.DefaultRemote}
	if len(args) == 2 {
		t, err = c.config.parseTarget(args[0])
		if err != nil {
			return err
		}
	}

	if t.instance != "" {
		ic, err := c.config.getInstance(t)
		if err != nil {
			return err
		}

		key := args[len(args)-1]
		_, ok := ic.inst.Config[key]
		if !ok {
			return fmt.Errorf("cannot unset key %q, it is not currently set", key)
		}

		delete(ic.inst.Config, key)
		return ic.update(ic.inst.Writable())
	}

	conn, err := c.config.getServer(t)
	if err != nil {
		return err
	}

	// As the stock client does, an unset key is sent as an empty value.
	conn.server.Config[args[len(args)-1]] = ""
	return conn.update(conn.server.Writable(), conn.etag)
}

type cmdConfigShow struct {
	config *cmdConfig

	flagExpanded bool
}

func (c *cmdConfigShow) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show [<remote>:][<instance>]",
		Short: "Show instance or server configurations",
		RunE:  c.run,
	}

	cmd.Flags().BoolVarP(&c.flagExpanded, "expanded", "e", false, "Show the expanded configuration (with profiles)")
	return cmd
}

func (c *cmdConfigShow) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 1)
	if exit {
		return err
	}

	t := target{remote: c.config.global.conf.DefaultRemote}
	if len(args) == 1 {
		t, err = c.config.parseTarget(args[0])
		if err != nil {
			return err
		}
	}

	if t.instance != "" {
		ic, err := c.config.getInstance(t)
		if err != nil {
			return err
		}

		put := ic.inst.Writable()
		if c.flagExpanded {
			put.Config, put.Devices = ic.inst.ExpandedConfig, ic.inst.ExpandedDevices
		}

		out, err := yamlMarshalStock(put)
		if err != nil {
			return err
		}

		_, err = cmd.OutOrStdout().Write(out)
		return err
	}

	conn, err := c.config.getServer(t)
	if err != nil {
		return err
	}

	out, err := yamlMarshalStock(conn.server.Writable())
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

type cmdConfigEdit struct {
	config *cmdConfig
}

func (c *cmdConfigEdit) command() *cobra.Command {
	return &cobra.Command{
		Use:   "edit [<remote>:][<instance>]",
		Short: "Edit instance or server configurations as YAML",
		Long: `Edit instance or server configurations as YAML

When the input is not a terminal, the new configuration is read from it:
    lxc config edit < server.yaml`,
		RunE: c.run,
	}
}

const serverEditHeader = `### This is a YAML representation of the server configuration.
### Any line starting with a '#' will be ignored.
###
### A sample configuration looks like:
### config:
###   core.https_address: 127.0.0.1:8443
###   images.auto_update_interval: "6"

`

func (c *cmdConfigEdit) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 1)
	if exit {
		return err
	}

	t := target{remote: c.config.global.conf.DefaultRemote}
	if len(args) == 1 {
		t, err = c.config.parseTarget(args[0])
		if err != nil {
			return err
		}
	}

	if t.instance != "" {
		return c.editInstance(cmd, t)
	}

	d, err := c.config.global.conf.GetInstanceServer(t.remote)
	if err != nil {
		return err
	}

	load := func() ([]byte, string, error) {
		conn, err := c.config.getServer(t)
		if err != nil {
			return nil, "", err
		}

		data, err := yamlMarshalStock(conn.server.Writable())
		return data, conn.etag, err
	}

	return editYAML(cmd, serverEditHeader, load, d.UpdateServer)
}

const instanceEditHeader = `### This is a YAML representation of the instance configuration.
### Any line starting with a '#' will be ignored.
###
### A sample configuration looks like:
### architecture: x86_64
### config:
###   limits.memory: 256MiB
### devices: {}
### ephemeral: false
### profiles:
### - default
### description: ""
###
### Note that the name is shown but cannot be changed

`

// editInstance edits an instance's writable state as YAML, from stdin or in the text editor.
func (c *cmdConfigEdit) editInstance(cmd *cobra.Command, t target) error {
	ic, err := c.config.getInstance(t)
	if err != nil {
		return err
	}

	load := func() ([]byte, string, error) {
		data, err := yamlMarshalStock(ic.inst.Writable())
		return data, "", err
	}

	return editYAML(cmd, instanceEditHeader, load, func(put api.InstancePut, _ string) error {
		return ic.update(put)
	})
}

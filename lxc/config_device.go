package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// cmdDevice is "lxc config device" (on instances) and "lxc profile device" (on profiles): one set of subcommands
// editing the devices of either.
type cmdDevice struct {
	global  *cmdGlobal
	profile bool
}

// deviceHolder is a fetched instance or profile and the way to write its devices back.
type deviceHolder struct {
	name string

	// devices are the holder's own devices; expanded adds those of an instance's profiles (nil for profiles).
	devices  map[string]map[string]string
	expanded map[string]map[string]string

	save func(devices map[string]map[string]string) error
}

func (c *cmdDevice) command() *cobra.Command {
	what := "instance"
	if c.profile {
		what = "profile"
	}

	cmd := &cobra.Command{
		Use:   "device",
		Short: "Manage devices",
		Long:  "Manage devices",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}

	target := "[<remote>:]<" + what + ">"
	cmd.AddCommand(c.sub("add "+target+" <device> <type> [key=value...]", "Add "+what+" devices", 3, -1, c.add))
	cmd.AddCommand(c.sub("get "+target+" <device> <key>", "Get values for device configuration keys", 3, 3, c.get))
	cmd.AddCommand(c.sub("list "+target, "List "+what+" devices", 1, 1, c.list))
	cmd.AddCommand(c.sub("remove "+target+" <name>...", "Remove "+what+" devices", 2, -1, c.remove))
	cmd.AddCommand(c.sub("set "+target+" <device> <key>=<value>...", "Set device configuration keys", 3, -1, c.set))
	cmd.AddCommand(c.sub("show "+target, "Show full device configuration", 1, 1, c.show))
	cmd.AddCommand(c.sub("unset "+target+" <device> <key>", "Unset device configuration keys", 3, 3, c.unset))
	if !c.profile {
		cmd.AddCommand(c.sub("override "+target+" <device> [key=value...]",
			"Copy profile inherited devices and override configuration keys", 2, -1, c.override))
	}

	return cmd
}

// sub builds a subcommand taking between minArgs and maxArgs arguments (-1: no limit), the first naming the holder.
func (c *cmdDevice) sub(use string, short string, minArgs int, maxArgs int, run func(cmd *cobra.Command, h *deviceHolder, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: short}
	switch {
	case strings.HasPrefix(use, "list"):
		cmd.Aliases = []string{"ls"}
	case strings.HasPrefix(use, "remove"):
		cmd.Aliases = []string{"rm"}
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, minArgs, maxArgs)
		if exit {
			return err
		}

		h, err := c.load(args[0])
		if err != nil {
			return err
		}

		return run(cmd, h, args[1:])
	}

	return cmd
}

// load fetches the instance or profile named by "[<remote>:]<name>".
func (c *cmdDevice) load(arg string) (*deviceHolder, error) {
	what := "instance"
	if c.profile {
		what = "profile"
	}

	d, name, err := namedServer(c.global, arg, what)
	if err != nil {
		return nil, err
	}

	if c.profile {
		p, etag, err := d.GetProfile(name)
		if err != nil {
			return nil, err
		}

		save := func(devices map[string]map[string]string) error {
			put := p.Writable()
			put.Devices = devices
			return d.UpdateProfile(name, put, etag)
		}

		return &deviceHolder{name: name, devices: nonNilDevices(p.Devices), save: save}, nil
	}

	if strings.Contains(name, "/") {
		return nil, fmt.Errorf("snapshot %q: snapshot devices cannot be changed", name)
	}

	inst, etag, err := d.GetInstance(name)
	if err != nil {
		return nil, err
	}

	save := func(devices map[string]map[string]string) error {
		put := inst.Writable()
		put.Devices = devices
		op, err := d.UpdateInstance(name, put, etag)
		if err != nil {
			return err
		}

		return op.Wait()
	}

	return &deviceHolder{name: name, devices: nonNilDevices(inst.Devices), expanded: nonNilDevices(inst.ExpandedDevices), save: save}, nil
}

func nonNilDevices(devices map[string]map[string]string) map[string]map[string]string {
	if devices == nil {
		return map[string]map[string]string{}
	}

	return devices
}

// own returns one of the holder's own devices, telling a device inherited from a profile apart from a missing one.
func (h *deviceHolder) own(name string, verb string) (map[string]string, error) {
	dev, ok := h.devices[name]
	if ok {
		if dev == nil {
			dev = map[string]string{}
			h.devices[name] = dev
		}

		return dev, nil
	}

	_, ok = h.expanded[name]
	if ok {
		return nil, fmt.Errorf("device %q comes from a profile and cannot be %s for an individual instance: override the device or modify the profile instead", name, verb)
	}

	return nil, fmt.Errorf("the device %q does not exist", name)
}

// deviceKeyValues parses "key=value" arguments.
func deviceKeyValues(args []string) (map[string]string, error) {
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

func (c *cmdDevice) add(cmd *cobra.Command, h *deviceHolder, args []string) error {
	name, typ := args[0], args[1]
	_, ok := h.devices[name]
	if ok {
		return fmt.Errorf("the device %q already exists", name)
	}

	dev, err := deviceKeyValues(args[2:])
	if err != nil {
		return err
	}

	dev["type"] = typ
	h.devices[name] = dev
	err = h.save(h.devices)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Device %s added to %s\n", name, h.name)
	}

	return nil
}

func (c *cmdDevice) get(cmd *cobra.Command, h *deviceHolder, args []string) error {
	dev, ok := h.devices[args[0]]
	if !ok {
		_, err := h.own(args[0], "read")
		return err
	}

	fmt.Fprintln(cmd.OutOrStdout(), dev[args[1]])
	return nil
}

func (c *cmdDevice) list(cmd *cobra.Command, h *deviceHolder, args []string) error {
	for _, name := range slices.Sorted(maps.Keys(h.devices)) {
		fmt.Fprintln(cmd.OutOrStdout(), name)
	}

	return nil
}

func (c *cmdDevice) remove(cmd *cobra.Command, h *deviceHolder, args []string) error {
	for _, name := range args {
		_, err := h.own(name, "removed")
		if err != nil {
			return err
		}

		delete(h.devices, name)
	}

	err := h.save(h.devices)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Device %s removed from %s\n", strings.Join(args, ", "), h.name)
	}

	return nil
}

func (c *cmdDevice) set(cmd *cobra.Command, h *deviceHolder, args []string) error {
	rest := args[1:]
	if len(rest) == 2 && !strings.Contains(rest[0], "=") {
		rest = []string{rest[0] + "=" + rest[1]}
	}

	values, err := deviceKeyValues(rest)
	if err != nil {
		return err
	}

	dev, err := h.own(args[0], "modified")
	if err != nil {
		return err
	}

	maps.Copy(dev, values)
	return h.save(h.devices)
}

func (c *cmdDevice) unset(cmd *cobra.Command, h *deviceHolder, args []string) error {
	dev, err := h.own(args[0], "modified")
	if err != nil {
		return err
	}

	delete(dev, args[1])
	return h.save(h.devices)
}

func (c *cmdDevice) show(cmd *cobra.Command, h *deviceHolder, args []string) error {
	out, err := yamlMarshalStock(h.devices)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

func (c *cmdDevice) override(cmd *cobra.Command, h *deviceHolder, args []string) error {
	name := args[0]
	_, ok := h.devices[name]
	if ok {
		return fmt.Errorf("the device %q already exists", name)
	}

	inherited, ok := h.expanded[name]
	if !ok {
		return fmt.Errorf("the profile device %q does not exist", name)
	}

	values, err := deviceKeyValues(args[1:])
	if err != nil {
		return err
	}

	dev := maps.Clone(inherited)
	maps.Copy(dev, values)
	h.devices[name] = dev
	err = h.save(h.devices)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Device %s overridden for %s\n", name, h.name)
	}

	return nil
}

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdInit struct {
	global *cmdGlobal

	flagConfig    []string
	flagProfile   []string
	flagNoProfile bool
	flagEphemeral bool
	flagEmpty     bool
	flagType      string
	flagVM        bool
	flagDevice    []string
	flagNetwork   string
	flagStorage   string
	flagTarget    string
}

func (c *cmdInit) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init [[<remote>:]<image>] [<remote>:][<name>]",
		Short: "Create instances from images",
		Long: `Create instances from images

The image is an alias or a fingerprint (prefix) of an image of the target server.
    lxc init bb c1 -c limits.memory=256MiB`,
		RunE: c.run,
	}

	c.addFlags(cmd)
	return cmd
}

// addFlags adds the creation flags shared with launch.
func (c *cmdInit) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&c.flagConfig, "config", "c", nil, "Config key/value to apply to the new instance")
	cmd.Flags().StringArrayVarP(&c.flagProfile, "profile", "p", nil, "Profile to apply to the new instance")
	cmd.Flags().BoolVarP(&c.flagNoProfile, "no-profiles", "", false, "Create the instance with no profiles applied")
	cmd.Flags().BoolVarP(&c.flagEphemeral, "ephemeral", "e", false, "Ephemeral instance")
	cmd.Flags().BoolVar(&c.flagEmpty, "empty", false, "Create an empty instance")
	cmd.Flags().StringVarP(&c.flagType, "type", "t", "", "Instance type")
	cmd.Flags().BoolVar(&c.flagVM, "vm", false, "Create a virtual machine")
	cmd.Flags().StringArrayVarP(&c.flagDevice, "device", "d", nil, "New key/value to apply to a specific device")
	cmd.Flags().StringVarP(&c.flagNetwork, "network", "n", "", "Network name")
	cmd.Flags().StringVarP(&c.flagStorage, "storage", "s", "", "Storage pool name")
	cmd.Flags().StringVar(&c.flagTarget, "target", "", "Cluster member name")
}

func (c *cmdInit) run(cmd *cobra.Command, args []string) error {
	_, _, _, err := c.create(cmd, args, false)
	return err
}

// isFingerprintLike tells whether an image name may be a fingerprint prefix.
func isFingerprintLike(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}

	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}

	return true
}

// imageSource builds the source of a new instance from an image argument, as the stock client sends it.
func (c *cmdInit) imageSource(imageRemote string, image string, remote string) (api.InstanceSource, error) {
	src := api.InstanceSource{Type: "image"}
	if isFingerprintLike(image) {
		src.Fingerprint = image
	} else {
		src.Alias = image
	}

	if imageRemote == remote {
		return src, nil
	}

	r, ok := c.global.conf.Remotes[imageRemote]
	if !ok {
		return src, fmt.Errorf("the remote %q doesn't exist", imageRemote)
	}

	// An image on another server: the target daemon pulls it.
	src.Server = r.Addr
	src.Protocol = r.Protocol
	if src.Protocol == "" {
		src.Protocol = "lxd"
	}

	src.Mode = "pull"
	server, err := c.global.conf.GetImageServer(imageRemote)
	if err != nil {
		return src, err
	}

	info, err := server.GetConnectionInfo()
	if err != nil {
		return src, err
	}

	src.Server = info.URL
	src.Certificate = info.Certificate
	d, ok := server.(client.InstanceServer)
	if ok && r.Protocol != "simplestreams" {
		err = imageSecret(d, &src)
		if err != nil {
			return src, err
		}
	}

	return src, nil
}

// checkImageType refuses, as the stock client does, an image whose type is not the one of the instance asked for.
// An image it cannot look up is left to the server to refuse.
func (c *cmdInit) checkImageType(imageRemote string, image string, instanceType string) error {
	server, err := c.global.conf.GetImageServer(imageRemote)
	if err != nil {
		return nil
	}

	fp := image
	alias, _, err := server.GetImageAlias(image)
	if err == nil {
		fp = alias.Target
	}

	img, _, err := server.GetImage(fp)
	if err != nil || img.Type == "" || img.Type == instanceType {
		return nil
	}

	if instanceType == api.InstanceTypeVM {
		return errors.New("asked for a VM but image is of type container")
	}

	return errors.New("asked for a container but image is of type virtual-machine")
}

// create creates the instance and returns its server, remote and name.
func (c *cmdInit) create(cmd *cobra.Command, args []string, launch bool) (client.InstanceServer, string, string, error) {
	minArgs := 1
	if c.flagEmpty {
		minArgs = 0
	}

	exit, err := checkArgs(cmd, args, minArgs, 2)
	if exit {
		return nil, "", "", err
	}

	var imageRemote, image, remote, name string
	switch {
	case c.flagEmpty && len(args) == 1:
		remote, name, err = c.global.conf.ParseRemote(args[0])
	case c.flagEmpty:
		remote = c.global.conf.DefaultRemote
	default:
		imageRemote, image, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return nil, "", "", err
		}

		remote = c.global.conf.DefaultRemote
		if len(args) == 2 {
			remote, name, err = c.global.conf.ParseRemote(args[1])
		}
	}

	if err != nil {
		return nil, "", "", err
	}

	if c.flagEmpty && launch {
		return nil, "", "", errors.New("an empty instance cannot be launched")
	}

	// As with the stock client, --type names a cloud instance type (c2-m4, aws:t2.micro) that the server turns into
	// limits, and --vm asks for a virtual machine, which the server refuses when it has none.
	req := api.InstancesPost{Name: name, Type: api.InstanceTypeContainer, InstanceType: c.flagType}
	if c.flagVM {
		req.Type = api.InstanceTypeVM
	}

	req.Config = map[string]string{}
	for _, kv := range c.flagConfig {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, "", "", fmt.Errorf("bad key=value pair: %q", kv)
		}

		req.Config[k] = v
	}

	req.Ephemeral = c.flagEphemeral
	if c.flagNoProfile {
		req.Profiles = []string{}
	} else if len(c.flagProfile) > 0 {
		req.Profiles = c.flagProfile
	}

	if c.flagEmpty {
		req.Source = api.InstanceSource{Type: "none"}
	} else {
		req.Source, err = c.imageSource(imageRemote, image, remote)
		if err != nil {
			return nil, "", "", err
		}

		err = c.checkImageType(imageRemote, image, req.Type)
		if err != nil {
			return nil, "", "", err
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", "", err
	}

	if !c.global.flagQuiet {
		if name == "" {
			fmt.Fprintln(cmd.OutOrStdout(), "Creating the instance")
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "Creating %s\n", name)
		}
	}

	// A cluster member is only for a cluster, as LXD answers.
	if c.flagTarget != "" {
		server, _, err := d.GetServer()
		if err != nil {
			return nil, "", "", err
		}

		if !server.Environment.ServerClustered {
			return nil, "", "", errors.New("target only allowed when clustered")
		}

		d = d.UseTarget(c.flagTarget)
	}

	profiles := req.Profiles
	if profiles == nil {
		profiles = []string{"default"}
	}

	req.Devices, err = c.instanceDevices(d, profiles)
	if err != nil {
		return nil, "", "", err
	}

	op, err := d.CreateInstance(req)
	if err != nil {
		return nil, "", "", err
	}

	err = op.Wait()
	if err != nil {
		return nil, "", "", err
	}

	if name == "" {
		res := op.Get().Resources["instances"]
		if len(res) == 0 {
			return nil, "", "", errors.New("the server did not name the new instance")
		}

		name = res[0][strings.LastIndex(res[0], "/")+1:]
		if !c.global.flagQuiet {
			fmt.Fprintf(cmd.OutOrStdout(), "Instance name is: %s\n", name)
		}
	}

	networkHint(cmd.ErrOrStderr(), d, name)
	return d, remote, name, nil
}

// networkHint tells, as the stock client does, how to give a network to a new instance that has no nic.
func networkHint(w io.Writer, d client.InstanceServer, name string) {
	inst, _, err := d.GetInstance(name)
	if err != nil {
		return
	}

	for _, dev := range inst.ExpandedDevices {
		if dev["type"] == "nic" {
			return
		}
	}

	fmt.Fprint(w, "\nThe instance you are starting doesn't have any network attached to it.\n"+
		"  To create a new network, use: lxc network create\n"+
		"  To attach a network to an instance, use: lxc network attach\n\n")
}

package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// attachCommand builds "attach" (to an instance) or "attach-profile".
func (c *cmdStorageVolume) attachCommand(profile bool) *cobra.Command {
	use, what := "attach [<remote>:]<pool> <volume> <instance> [<device name>] [<path>]", "instances"
	if profile {
		use, what = "attach-profile [<remote:>]<pool> <volume> <profile> [<device name>] [<path>]", "profiles"
	}

	short := "Attach new storage volumes to " + what
	return c.sub(use, short, 3, 5, func(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
		return c.attach(d, pool, args, profile)
	})
}

// attach adds a disk device for a custom volume: "<volume> <holder>" names the device after the volume, a fourth
// argument is the path (the device keeps the volume's name), and with a fifth the device name comes before it.
func (c *cmdStorageVolume) attach(d client.InstanceServer, pool string, args []string, profile bool) error {
	volName, volType := parseVolume("custom", args[0])
	if volType != "custom" {
		return errors.New(`only "custom" volumes can be attached to instances`)
	}

	devName, devPath := volName, ""
	switch len(args) {
	case 3:
		devPath = args[2]
	case 4:
		devName, devPath = args[2], args[3]
	}

	device := map[string]string{"type": "disk", "pool": pool, "source": volName}
	if profile {
		vol, _, err := d.GetStoragePoolVolume(pool, volType, volName)
		if err != nil {
			return err
		}

		if vol.ContentType != "block" && devPath != "" {
			device["path"] = devPath
		}
	} else if devPath != "" {
		device["path"] = devPath
	}

	h, err := c.deviceHolder(d, args[1], profile)
	if err != nil {
		return err
	}

	_, exists := h.devices[devName]
	if exists {
		if profile {
			return fmt.Errorf("device already exists: %s", devName)
		}

		return errors.New("the device already exists")
	}

	h.devices[devName] = device
	return h.save(h.devices)
}

// deviceHolder fetches the instance or profile a volume is attached to or detached from on d.
func (c *cmdStorageVolume) deviceHolder(d client.InstanceServer, name string, profile bool) (*deviceHolder, error) {
	if profile {
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

	return &deviceHolder{name: name, devices: nonNilDevices(inst.Devices), save: save}, nil
}

// detachCommand builds "detach" (from an instance) or "detach-profile".
func (c *cmdStorageVolume) detachCommand(profile bool) *cobra.Command {
	use, what := "detach [<remote>:]<pool> <volume> <instance> [<device name>]", "instances"
	if profile {
		use, what = "detach-profile [<remote:>]<pool> <volume> <profile> [<device name>]", "profiles"
	}

	return c.sub(use, "Detach storage volumes from "+what, 3, 4, func(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
		h, err := c.deviceHolder(d, args[1], profile)
		if err != nil {
			return err
		}

		devName := ""
		if len(args) == 3 {
			devName = args[2]
		} else {
			for name, dev := range h.devices {
				if dev["type"] == "disk" && dev["pool"] == pool && dev["source"] == args[0] {
					if devName != "" {
						return errors.New("more than one device matches, specify the device name")
					}

					devName = name
				}
			}
		}

		if devName == "" {
			return errors.New("no device found for this storage volume")
		}

		_, ok := h.devices[devName]
		if !ok {
			return errors.New("the specified device doesn't exist")
		}

		delete(h.devices, devName)
		return h.save(h.devices)
	})
}

func (c *cmdStorageVolume) snapshot(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	noExpiry, _ := cmd.Flags().GetBool("no-expiry")
	reuse, _ := cmd.Flags().GetBool("reuse")
	name, volType := parseVolume("custom", args[0])
	if volType != "custom" {
		return errors.New(`only "custom" volumes can be snapshotted`)
	}

	_, _, err := d.GetStoragePoolVolume(pool, volType, name)
	if err != nil {
		return err
	}

	req := api.StorageVolumeSnapshotsPost{}
	if len(args) == 2 {
		req.Name = args[1]
	}

	if noExpiry {
		req.ExpiresAt = &time.Time{}
	}

	if reuse && req.Name != "" {
		_, _, err := d.GetStoragePoolVolumeSnapshot(pool, volType, name, req.Name)
		if err == nil {
			op, err := d.DeleteStoragePoolVolumeSnapshot(pool, volType, name, req.Name)
			if err == nil {
				err = op.Wait()
			}

			if err != nil {
				return err
			}
		} else if !api.StatusErrorCheck(err, http.StatusNotFound) {
			return err
		}
	}

	op, err := d.CreateStoragePoolVolumeSnapshot(pool, volType, name, req)
	if err != nil {
		return err
	}

	return op.Wait()
}

// restore restores a custom volume, named as given: as with the stock client, no type prefix is read.
func (c *cmdStorageVolume) restore(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	return d.RestoreStoragePoolVolumeSnapshot(pool, "custom", args[0], args[1])
}

func (c *cmdStorageVolume) info(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	name, volType := parseVolume("custom", args[0])
	if strings.Contains(name, "/") || volType == "image" {
		return errors.New("only instance or custom volumes are supported")
	}

	vol, _, err := d.GetStoragePoolVolume(pool, volType, name)
	if err != nil {
		return err
	}

	state, err := d.GetStoragePoolVolumeState(pool, volType, name)
	if err != nil {
		return err
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Name: %s\n", vol.Name)
	if vol.Description != "" {
		fmt.Fprintf(w, "Description: %s\n", vol.Description)
	}

	fmt.Fprintf(w, "Type: %s\nContent type: %s\n", cmp.Or(vol.Type, "custom"), cmp.Or(vol.ContentType, "filesystem"))
	if vol.Location != "" && server.Environment.ServerClustered {
		fmt.Fprintf(w, "Location: %s\n", vol.Location)
	}

	if state.Usage != nil {
		fmt.Fprintf(w, "Usage: %s\n", byteSizeIEC(int64(state.Usage.Used), 2))
		if state.Usage.Total > 0 {
			fmt.Fprintf(w, "Total: %s\n", byteSizeIEC(state.Usage.Total, 2))
		}
	}

	if volType != "custom" {
		return nil
	}

	snaps, err := d.GetStoragePoolVolumeSnapshots(pool, volType, name)
	if err != nil || len(snaps) == 0 {
		return err
	}

	rows := make([][]string, 0, len(snaps))
	for _, s := range snaps {
		expires := ""
		if s.ExpiresAt != nil && timeIsSet(*s.ExpiresAt) {
			expires = s.ExpiresAt.Local().Format("2006/01/02 15:04 MST")
		}

		_, name, _ := strings.Cut(s.Name, "/")
		rows = append(rows, []string{cmp.Or(name, s.Name), s.Description, expires})
	}

	sortRows(rows)
	fmt.Fprintln(w, "\nSnapshots:")
	return renderTable(w, formatTable, []string{"NAME", "DESCRIPTION", "EXPIRES AT"}, rows, nil)
}

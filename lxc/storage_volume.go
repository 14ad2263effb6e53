package main

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdStorageVolume is "lxc storage volume": the volumes of a pool, "custom" unless a type prefix says otherwise.
type cmdStorageVolume struct {
	storage *cmdStorage
}

// volumeTypes are the type prefixes a volume argument may carry ("container/c1").
var volumeTypes = []string{"custom", "image", "container", "virtual-machine"}

// parseVolume splits "[<type>/]<name>" into the volume's name (which may name a snapshot, "<volume>/<snapshot>")
// and type; without a known type prefix the type is defaultType.
func parseVolume(defaultType string, arg string) (string, string) {
	prefix, rest, found := strings.Cut(arg, "/")
	if !found || !slices.Contains(volumeTypes, prefix) {
		return arg, defaultType
	}

	return rest, prefix
}

// splitSnapshot splits a volume name into the volume and the snapshot ("" when it names no snapshot); a name with
// more than one "/" is refused.
func splitSnapshot(name string) (string, string, error) {
	vol, snap, found := strings.Cut(name, "/")
	if !found {
		return name, "", nil
	}

	if strings.Contains(snap, "/") || vol == "" || snap == "" {
		return "", "", fmt.Errorf("invalid snapshot name")
	}

	return vol, snap, nil
}

func (c *cmdStorageVolume) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage storage volumes",
		Long: `Manage storage volumes

Unless specified through a prefix, all volume operations affect "custom" (user created) volumes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Usage() },
	}

	create := c.sub("create [<remote>:]<pool> <volume> [key=value...]", "Create new custom storage volumes", 2, -1, c.create)
	create.Flags().String("type", "filesystem", "Content type, block or filesystem")
	cmd.AddCommand(create)
	cmd.AddCommand(c.sub("delete [<remote>:]<pool> <volume>[/<snapshot>]", "Delete storage volumes", 2, 2, c.delete))
	cmd.AddCommand(c.sub("show [<remote>:]<pool> <volume>[/<snapshot>]", "Show storage volume configurations", 2, 2, c.show))
	cmd.AddCommand(c.sub("get [<remote>:]<pool> <volume>[/<snapshot>] <key>", "Get values for storage volume configuration keys", 3, 3, c.get))
	cmd.AddCommand(c.sub("set [<remote>:]<pool> <volume> <key>=<value>...", "Set storage volume configuration keys", 3, -1, c.set))
	cmd.AddCommand(c.sub("unset [<remote>:]<pool> <volume> <key>", "Unset storage volume configuration keys", 3, 3, c.unset))
	cmd.AddCommand(c.sub("edit [<remote>:]<pool> <volume>[/<snapshot>]", "Edit storage volume configurations as YAML", 2, 2, c.edit))
	cmd.AddCommand(c.sub("rename [<remote>:]<pool> <old name>[/<old snapshot name>] <new name>[/<new snapshot name>]", "Rename storage volumes and storage volume snapshots", 3, 3, c.rename))
	cmd.AddCommand(c.sub("info [<remote>:]<pool> <volume>", "Show storage volume state information", 2, 2, c.info))
	snapshot := c.sub("snapshot [<remote>:]<pool> <volume> [<snapshot>]", "Snapshot storage volumes", 2, 3, c.snapshot)
	snapshot.Flags().Bool("no-expiry", false, "Ignore any configured auto-expiry for the storage volume")
	snapshot.Flags().Bool("reuse", false, "If the snapshot name already exists, delete and create a new one")
	cmd.AddCommand(snapshot)
	cmd.AddCommand(c.sub("restore [<remote>:]<pool> <volume> <snapshot>", "Restore storage volume snapshots", 3, 3, c.restore))
	cmd.AddCommand(c.attachCommand(false), c.attachCommand(true), c.detachCommand(false), c.detachCommand(true))
	cmd.AddCommand((&cmdStorageVolumeCopy{volume: c}).command(false), (&cmdStorageVolumeCopy{volume: c}).command(true))
	cmd.AddCommand((&cmdStorageVolumeList{volume: c}).command())
	return cmd
}

// sub builds a volume subcommand taking between minArgs and maxArgs arguments (-1: no limit), the first naming the
// pool.
func (c *cmdStorageVolume) sub(use string, short string, minArgs int, maxArgs int, run func(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error) *cobra.Command {
	cmd := c.storage.sub(use, short, minArgs, maxArgs, false, run)
	if !strings.HasPrefix(use, "attach") && !strings.HasPrefix(use, "detach") {
		cmd.Flags().StringVar(&c.storage.flagTarget, "target", "", "Cluster member name")
	}

	return cmd
}

func (c *cmdStorageVolume) quiet() bool {
	return c.storage.global.flagQuiet
}

func (c *cmdStorageVolume) create(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	contentType, _ := cmd.Flags().GetString("type")
	name, volType := parseVolume("custom", args[0])
	config, err := configPairs(args[1:])
	if err != nil {
		return err
	}

	req := api.StorageVolumesPost{
		StorageVolumePut: api.StorageVolumePut{Config: config},
		Name:             name,
		Type:             volType,
		ContentType:      contentType,
	}

	err = d.CreateStoragePoolVolume(pool, req)
	if err != nil {
		return err
	}

	if !c.quiet() {
		fmt.Fprintf(cmd.OutOrStdout(), "Storage volume %s created\n", args[0])
	}

	return nil
}

func (c *cmdStorageVolume) delete(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	name, volType := parseVolume("custom", args[0])
	vol, snap, err := splitSnapshot(name)
	if err != nil {
		return err
	}

	if snap != "" {
		op, err := d.DeleteStoragePoolVolumeSnapshot(pool, volType, vol, snap)
		if err == nil {
			err = op.Wait()
		}

		if err != nil {
			return err
		}
	} else {
		err = d.DeleteStoragePoolVolume(pool, volType, vol)
		if err != nil {
			return err
		}
	}

	if !c.quiet() {
		fmt.Fprintf(cmd.OutOrStdout(), "Storage volume %s deleted\n", args[0])
	}

	return nil
}

// load fetches the volume or snapshot an argument names: one of vol and snap is set.
func (c *cmdStorageVolume) load(d client.InstanceServer, pool string, arg string) (*api.StorageVolume, *api.StorageVolumeSnapshot, string, error) {
	name, volType := parseVolume("custom", arg)
	volName, snapName, err := splitSnapshot(name)
	if err != nil {
		return nil, nil, "", err
	}

	if snapName != "" {
		snap, etag, err := d.GetStoragePoolVolumeSnapshot(pool, volType, volName, snapName)
		return nil, snap, etag, err
	}

	vol, etag, err := d.GetStoragePoolVolume(pool, volType, volName)
	return vol, nil, etag, err
}

func (c *cmdStorageVolume) show(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	vol, snap, _, err := c.load(d, pool, args[0])
	if err != nil {
		return err
	}

	var out []byte
	if snap != nil {
		out, err = yamlMarshalStock(snap)
	} else {
		out, err = yamlMarshalStock(vol)
	}

	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

func (c *cmdStorageVolume) get(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	vol, snap, _, err := c.load(d, pool, args[0])
	if err != nil {
		return err
	}

	config := map[string]string{}
	if snap != nil {
		config = snap.Config
	} else if vol != nil {
		config = vol.Config
	}

	v, ok := config[args[1]]
	if ok {
		fmt.Fprintln(cmd.OutOrStdout(), v)
	}

	return nil
}

// update writes keys into a volume's configuration (an empty value removes the key), guarded by its ETag.
func (c *cmdStorageVolume) update(d client.InstanceServer, pool string, arg string, pairs map[string]string) error {
	name, volType := parseVolume("custom", arg)
	_, snap, err := splitSnapshot(name)
	if err != nil {
		return err
	}

	if snap != "" {
		return fmt.Errorf("snapshots are read-only and can't have their configuration changed")
	}

	vol, etag, err := d.GetStoragePoolVolume(pool, volType, name)
	if err != nil {
		return err
	}

	put := vol.Writable()
	if put.Config == nil {
		put.Config = map[string]string{}
	}

	for k, v := range pairs {
		put.Config[k] = v
	}

	return d.UpdateStoragePoolVolume(pool, volType, name, put, etag)
}

func (c *cmdStorageVolume) set(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	pairs, err := setPairs(args[1:])
	if err != nil {
		return err
	}

	return c.update(d, pool, args[0], pairs)
}

func (c *cmdStorageVolume) unset(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	return c.update(d, pool, args[0], map[string]string{args[1]: ""})
}

const storageVolumeEditHeader = `### This is a YAML representation of a storage volume.
### Any line starting with a '# will be ignored.
###
### A storage volume consists of a set of configuration items.
###
### name: vol1
### type: custom
### used_by: []
### config:
###   size: "61203283968"

`

func (c *cmdStorageVolume) edit(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	name, volType := parseVolume("custom", args[0])
	volName, snapName, err := splitSnapshot(name)
	if err != nil {
		return err
	}

	if snapName != "" {
		load := func() ([]byte, string, error) {
			snap, etag, err := d.GetStoragePoolVolumeSnapshot(pool, volType, volName, snapName)
			if err != nil {
				return nil, "", err
			}

			data, err := yamlMarshalStock(snap)
			return data, etag, err
		}

		return editYAML(cmd, storageVolumeEditHeader, load, func(put api.StorageVolumeSnapshotPut, etag string) error {
			return d.UpdateStoragePoolVolumeSnapshot(pool, volType, volName, snapName, put, etag)
		})
	}

	load := func() ([]byte, string, error) {
		vol, etag, err := d.GetStoragePoolVolume(pool, volType, volName)
		if err != nil {
			return nil, "", err
		}

		data, err := yamlMarshalStock(vol)
		return data, etag, err
	}

	return editYAML(cmd, storageVolumeEditHeader, load, func(put api.StorageVolumePut, etag string) error {
		return d.UpdateStoragePoolVolume(pool, volType, volName, put, etag)
	})
}

func (c *cmdStorageVolume) rename(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	name, volType := parseVolume("custom", args[0])
	volName, snapName, err := splitSnapshot(name)
	if err != nil {
		return err
	}

	if snapName == "" {
		newName, _ := parseVolume(volType, args[1])
		err = d.RenameStoragePoolVolume(pool, volType, volName, api.StorageVolumePost{Name: newName})
		if err != nil {
			return err
		}

		if !c.quiet() {
			fmt.Fprintf(cmd.OutOrStdout(), "Renamed storage volume from %q to %q\n", args[0], newName)
		}

		return nil
	}

	newName, _ := parseVolume(volType, args[1])
	newVol, newSnap, err := splitSnapshot(newName)
	if err != nil {
		return err
	}

	if newVol != volName {
		return fmt.Errorf("invalid new snapshot name, parent volume must be the same as source")
	}

	if newSnap == "" {
		return fmt.Errorf("invalid new snapshot name")
	}

	op, err := d.RenameStoragePoolVolumeSnapshot(pool, volType, volName, snapName, api.StorageVolumeSnapshotPost{Name: newSnap})
	if err == nil {
		err = op.Wait()
	}

	if err != nil {
		return err
	}

	if !c.quiet() {
		fmt.Fprintf(cmd.OutOrStdout(), "Renamed storage volume from %q to %q\n", args[0], newSnap)
	}

	return nil
}

// volumeColumn is one column of "lxc storage volume list"; state marks the usage column, which needs the volume's
// state.
type volumeColumn struct {
	name  string
	data  func(vol api.StorageVolume, state *api.StorageVolumeState) string
	state bool
}

// defaultVolumeColumns is the stock client's column layout of "lxc storage volume list".
const defaultVolumeColumns = "etndcuL"

// volumeTypeLabel is the TYPE column: a snapshot is shown as "<type> (snapshot)".
func volumeTypeLabel(vol api.StorageVolume) string {
	if strings.Contains(vol.Name, "/") {
		return vol.Type + " (snapshot)"
	}

	return vol.Type
}

var volumeColumns = map[rune]volumeColumn{
	'c': {name: "CONTENT-TYPE", data: func(v api.StorageVolume, _ *api.StorageVolumeState) string { return v.ContentType }},
	'd': {name: "DESCRIPTION", data: func(v api.StorageVolume, _ *api.StorageVolumeState) string { return v.Description }},
	'L': {name: "LOCATION", data: func(v api.StorageVolume, _ *api.StorageVolumeState) string { return v.Location }},
	'n': {name: "NAME", data: func(v api.StorageVolume, _ *api.StorageVolumeState) string { return v.Name }},
	't': {name: "TYPE", data: func(v api.StorageVolume, _ *api.StorageVolumeState) string { return volumeTypeLabel(v) }},
	'u': {name: "USED BY", data: func(v api.StorageVolume, _ *api.StorageVolumeState) string { return strconv.Itoa(len(v.UsedBy)) }},
	'U': {name: "USAGE", state: true, data: func(_ api.StorageVolume, s *api.StorageVolumeState) string {
		if s == nil || s.Usage == nil {
			return ""
		}

		return byteSizeIEC(int64(s.Usage.Used), 2)
	}},
}

// parseVolumeColumns reads a -c value. The project column (e) of the default layout is for listings of all
// projects, which this client does not make, so it is dropped; off a cluster the location column is dropped from
// the default layout and refused when asked for.
func parseVolumeColumns(spec string, clustered bool) ([]volumeColumn, error) {
	if spec == defaultVolumeColumns {
		spec = strings.ReplaceAll(spec, "e", "")
		if !clustered {
			spec = strings.ReplaceAll(spec, "L", "")
		}
	} else if !clustered && strings.ContainsRune(spec, 'L') {
		return nil, fmt.Errorf("can't specify column L when not clustered")
	}

	var columns []volumeColumn
	for _, entry := range strings.Split(spec, ",") {
		if entry == "" {
			return nil, fmt.Errorf("empty column entry (redundant, leading or trailing command) in '%s'", spec)
		}

		for _, r := range entry {
			col, ok := volumeColumns[r]
			if !ok {
				return nil, fmt.Errorf("unknown column shorthand char '%c' in '%s'", r, entry)
			}

			columns = append(columns, col)
		}
	}

	return columns, nil
}

// sortVolumeRows sorts the rows as the stock client does, naturally (vol9 before vol10): by the first column, a
// snapshot with its volume's type, then by the second.
func sortVolumeRows(rows [][]string) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		ta, _, _ := strings.Cut(a[0], " ")
		tb, _, _ := strings.Cut(b[0], " ")
		if ta != tb {
			return naturalLess(a[0], b[0])
		}

		if a[1] == "" {
			return false
		}

		if b[1] == "" {
			return true
		}

		return naturalLess(a[1], b[1])
	})
}

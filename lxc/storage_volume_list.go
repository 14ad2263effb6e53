package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdStorageVolumeList struct {
	volume *cmdStorageVolume

	flagColumns string
	flagFormat  string
}

func (c *cmdStorageVolumeList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:]<pool> [<filter>...]",
		Aliases: []string{"ls"},
		Short:   "List storage volumes",
		Long: `List storage volumes

The -c option takes a (optionally comma-separated) list of arguments
that control which image attributes to output when displaying in table
or csv format.

Column shorthand chars:
    c - Content type (filesystem or block)
    d - Description
    L - Location of the instance (e.g. its cluster member)
    n - Name
    t - Type of volume (custom, image, container or virtual-machine)
    u - Number of references (used by)
    U - Current disk usage`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagColumns, "columns", "c", defaultVolumeColumns, "Columns")
	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

func (c *cmdStorageVolumeList) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	d, pool, err := poolServer(c.volume.storage.global, args[0])
	if err != nil {
		return err
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	columns, err := parseVolumeColumns(c.flagColumns, server.Environment.ServerClustered)
	if err != nil {
		return err
	}

	volumes, err := d.GetStoragePoolVolumes(pool)
	if err != nil {
		return err
	}

	volumes = filterVolumes(volumes, args[1:])
	header, rows, err := volumeTable(d, pool, volumes, columns)
	if err != nil {
		return err
	}

	return renderList(cmd.OutOrStdout(), c.flagFormat, header, rows, volumes)
}

// filterVolumes keeps the volumes matching every "key=value" filter, as the stock daemon filters them: on the
// name, type, content type, description or location, or "config.<key>" on a configuration key; any other key
// matches nothing. Filters without "=" are ignored, as the stock client does.
func filterVolumes(volumes []api.StorageVolume, filters []string) []api.StorageVolume {
	out := []api.StorageVolume{}
	for _, vol := range volumes {
		if volumeMatches(vol, filters) {
			out = append(out, vol)
		}
	}

	return out
}

func volumeMatches(vol api.StorageVolume, filters []string) bool {
	for _, f := range filters {
		key, value, found := strings.Cut(f, "=")
		if !found {
			continue
		}

		var got string
		switch key {
		case "name":
			got = vol.Name
		case "type":
			got = vol.Type
		case "content_type":
			got = vol.ContentType
		case "description":
			got = vol.Description
		case "location":
			got = vol.Location
		default:
			configKey, ok := strings.CutPrefix(key, "config.")
			if !ok {
				return false
			}

			got, ok = vol.Config[configKey]
			if !ok {
				return false
			}
		}

		if got != value {
			return false
		}
	}

	return true
}

// volumeTable lays out the list; the usage column reads each volume's state (not for snapshots and images).
func volumeTable(d client.InstanceServer, pool string, volumes []api.StorageVolume, columns []volumeColumn) ([]string, [][]string, error) {
	header := make([]string, 0, len(columns))
	for _, col := range columns {
		header = append(header, col.name)
	}

	rows := make([][]string, 0, len(volumes))
	for _, vol := range volumes {
		row := make([]string, 0, len(columns))
		for _, col := range columns {
			var state *api.StorageVolumeState
			if col.state && vol.Type != "image" && !strings.Contains(vol.Name, "/") {
				var err error
				state, err = d.GetStoragePoolVolumeState(pool, vol.Type, vol.Name)
				if err != nil {
					return nil, nil, err
				}
			}

			row = append(row, col.data(vol, state))
		}

		rows = append(rows, row)
	}

	if len(columns) >= 2 {
		sortVolumeRows(rows)
	}

	return header, rows, nil
}

package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdInfo struct {
	global *cmdGlobal

	flagShowLog   bool
	flagResources bool
}

func (c *cmdInfo) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info [<remote>:][<instance>]",
		Short: "Show instance or server information",
		Example: `  lxc info [<remote>:]<instance> [--show-log]
      For instance information.

  lxc info [<remote>:] [--resources]
      For LXD server information.`,
		Args: cobra.MaximumNArgs(1),
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagResources, "resources", false, "Show the resources available to the server")
	cmd.Flags().BoolVar(&c.flagShowLog, "show-log", false, "Show the instance's last 100 log lines?")
	return cmd
}

func (c *cmdInfo) run(cmd *cobra.Command, args []string) error {
	remote := c.global.conf.DefaultRemote
	if len(args) == 1 {
		var name string
		var err error
		remote, name, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		if name != "" && c.flagResources {
			return fmt.Errorf("--resources shows the server's resources and takes no instance name")
		}

		if name != "" {
			return c.instanceInfo(cmd, remote, name)
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	if c.flagResources {
		return serverResources(cmd.OutOrStdout(), d)
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	out, err := yaml.Marshal(server)
	if err != nil {
		return err
	}

	fmt.Print(string(out))
	return nil
}

// instanceInfo prints an instance's state the way the stock client lays it out.
func (c *cmdInfo) instanceInfo(cmd *cobra.Command, remote string, name string) error {
	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	inst, _, err := d.GetInstanceFull(name)
	if err != nil {
		return err
	}

	w := cmd.OutOrStdout()
	printInstanceInfo(w, inst)
	printSnapshots(w, inst.Snapshots)
	printBackups(w, inst.Backups)
	if !c.flagShowLog {
		return nil
	}

	log, err := d.GetInstanceLogfile(name, "lxc.log")
	if err != nil {
		return err
	}

	defer func() { _ = log.Close() }()
	content, err := io.ReadAll(log)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\nLog:\n\n%s\n", content)
	return nil
}

// printSnapshots lists an instance's snapshots as the stock client does.
func printSnapshots(w io.Writer, snaps []api.InstanceSnapshot) {
	if len(snaps) == 0 {
		return
	}

	const layout = "2006/01/02 15:04 MST"
	rows := make([][]string, 0, len(snaps))
	for _, snap := range snaps {
		expires := ""
		if !snap.ExpiresAt.IsZero() {
			expires = snap.ExpiresAt.UTC().Format(layout)
		}

		stateful := "NO"
		if snap.Stateful {
			stateful = "YES"
		}

		rows = append(rows, []string{snap.Name, snap.CreatedAt.UTC().Format(layout), expires, stateful})
	}

	fmt.Fprintf(w, "\nSnapshots:\n%s", drawTable([]string{"NAME", "TAKEN AT", "EXPIRES AT", "STATEFUL"}, rows, true))
}

// humanBytes formats a byte count as the stock client does (1.50MiB).
func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}

	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}

	return fmt.Sprintf("%.2f%s", v, units[i])
}

func printInstanceInfo(w io.Writer, inst *api.InstanceFull) {
	const layout = "2006/01/02 15:04 MST"
	fmt.Fprintf(w, "Name: %s\n", inst.Name)
	fmt.Fprintf(w, "Status: %s\n", strings.ToUpper(inst.Status))
	typ := inst.Type
	if inst.Ephemeral {
		typ += " (ephemeral)"
	}

	fmt.Fprintf(w, "Type: %s\n", typ)
	fmt.Fprintf(w, "Architecture: %s\n", inst.Architecture)
	if inst.State != nil && inst.State.Pid != 0 {
		fmt.Fprintf(w, "PID: %d\n", inst.State.Pid)
	}

	fmt.Fprintf(w, "Created: %s\n", inst.CreatedAt.UTC().Format(layout))
	if !inst.LastUsedAt.IsZero() {
		fmt.Fprintf(w, "Last Used: %s\n", inst.LastUsedAt.UTC().Format(layout))
	}

	st := inst.State
	if st == nil || st.StatusCode == api.Stopped {
		return
	}

	fmt.Fprintf(w, "\nResources:\n")
	fmt.Fprintf(w, "  Processes: %d\n", st.Processes)
	if len(st.Disk) > 0 {
		fmt.Fprintf(w, "  Disk usage:\n")
		for name, disk := range st.Disk {
			fmt.Fprintf(w, "    %s: %s\n", name, humanBytes(disk.Usage))
		}
	}

	fmt.Fprintf(w, "  CPU usage:\n    CPU usage (in seconds): %d\n", st.CPU.Usage/1e9)
	fmt.Fprintf(w, "  Memory usage:\n    Memory (current): %s\n", humanBytes(st.Memory.Usage))
	if len(st.Network) == 0 {
		return
	}

	fmt.Fprintf(w, "  Network usage:\n")
	names := make([]string, 0, len(st.Network))
	for name := range st.Network {
		names = append(names, name)
	}

	sort.Strings(names)
	for _, name := range names {
		n := st.Network[name]
		fmt.Fprintf(w, "    %s:\n", name)
		fmt.Fprintf(w, "      Type: %s\n      State: %s\n", n.Type, strings.ToUpper(n.State))
		if n.HostName != "" {
			fmt.Fprintf(w, "      Host interface: %s\n", n.HostName)
		}

		if n.Hwaddr != "" {
			fmt.Fprintf(w, "      MAC address: %s\n", n.Hwaddr)
		}

		if n.Mtu != 0 {
			fmt.Fprintf(w, "      MTU: %d\n", n.Mtu)
		}

		fmt.Fprintf(w, "      Bytes received: %s\n      Bytes sent: %s\n", humanBytes(n.Counters.BytesReceived),
			humanBytes(n.Counters.BytesSent))
		fmt.Fprintf(w, "      Packets received: %d\n      Packets sent: %d\n", n.Counters.PacketsReceived,
			n.Counters.PacketsSent)
		if len(n.Addresses) > 0 {
			fmt.Fprintf(w, "      IP addresses:\n")
			for _, a := range n.Addresses {
				fmt.Fprintf(w, "        %-6s %s/%s (%s)\n", a.Family+":", a.Address, a.Netmask, a.Scope)
			}
		}
	}
}

package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

func (c *cmdNetwork) info(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := requireCluster(d, c.flagTarget)
	if err != nil {
		return err
	}

	state, err := d.GetNetworkState(name)
	if err != nil {
		return err
	}

	renderNetworkState(cmd.OutOrStdout(), name, state)
	return nil
}

// counterSize formats a traffic counter in decimal units, as the stock client does.
func counterSize(n uint64) string {
	return byteSize(int64(min(n, 1<<63-1)))
}

// renderNetworkState lays out "lxc network info": the interface, its addresses, its counters, then the bond,
// bridge, VLAN and OVN sections the state has.
func renderNetworkState(w io.Writer, name string, st *api.NetworkState) {
	fmt.Fprintf(w, "Name: %s\n", name)
	fmt.Fprintf(w, "MAC address: %s\n", st.Hwaddr)
	fmt.Fprintf(w, "MTU: %d\n", st.Mtu)
	fmt.Fprintf(w, "State: %s\n", st.State)
	fmt.Fprintf(w, "Type: %s\n", st.Type)
	if len(st.Addresses) > 0 {
		fmt.Fprintf(w, "\nIP addresses:\n")
		for _, a := range st.Addresses {
			fmt.Fprintf(w, "  %s\t%s/%s (%s)\n", a.Family, a.Address, a.Netmask, a.Scope)
		}
	}

	fmt.Fprintf(w, "\nNetwork usage:\n")
	fmt.Fprintf(w, "  Bytes received: %s\n", counterSize(st.Counters.BytesReceived))
	fmt.Fprintf(w, "  Bytes sent: %s\n", counterSize(st.Counters.BytesSent))
	fmt.Fprintf(w, "  Packets received: %d\n", st.Counters.PacketsReceived)
	fmt.Fprintf(w, "  Packets sent: %d\n", st.Counters.PacketsSent)
	if st.Bond != nil {
		b := st.Bond
		fmt.Fprintf(w, "\nBond:\n")
		fmt.Fprintf(w, "  Mode: %s\n", b.Mode)
		fmt.Fprintf(w, "  Transmit policy: %s\n", b.TransmitPolicy)
		fmt.Fprintf(w, "  Up delay: %d\n", b.UpDelay)
		fmt.Fprintf(w, "  Down delay: %d\n", b.DownDelay)
		fmt.Fprintf(w, "  MII Frequency: %d\n", b.MIIFrequency)
		fmt.Fprintf(w, "  MII state: %s\n", b.MIIState)
		fmt.Fprintf(w, "  Lower devices: %s\n", strings.Join(b.LowerDevices, ", "))
	}

	if st.Bridge != nil {
		b := st.Bridge
		fmt.Fprintf(w, "\nBridge:\n")
		fmt.Fprintf(w, "  ID: %s\n", b.ID)
		fmt.Fprintf(w, "  STP: %v\n", b.STP)
		fmt.Fprintf(w, "  Forward delay: %d\n", b.ForwardDelay)
		fmt.Fprintf(w, "  Default VLAN ID: %d\n", b.VLANDefault)
		fmt.Fprintf(w, "  VLAN filtering: %v\n", b.VLANFiltering)
		fmt.Fprintf(w, "  Upper devices: %s\n", strings.Join(b.UpperDevices, ", "))
	}

	if st.VLAN != nil {
		fmt.Fprintf(w, "\nVLAN:\n")
		fmt.Fprintf(w, "  Lower device: %s\n", st.VLAN.LowerDevice)
		fmt.Fprintf(w, "  VLAN ID: %d\n", st.VLAN.VID)
	}

	if st.OVN != nil {
		fmt.Fprintf(w, "\nOVN:\n")
		fmt.Fprintf(w, "  Chassis: %s\n", st.OVN.Chassis)
	}
}

func (c *cmdNetwork) listLeases(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := checkFormat(c.flagFormat)
	if err != nil {
		return err
	}

	leases, err := d.GetNetworkLeases(name)
	if err != nil {
		return err
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	header, rows := leaseTable(leases, server.Environment.ServerClustered)
	return renderList(cmd.OutOrStdout(), c.flagFormat, header, rows, leases)
}

// leaseTable returns the header and sorted rows of "lxc network list-leases"; a cluster adds the member.
func leaseTable(leases []api.NetworkLease, clustered bool) ([]string, [][]string) {
	header := []string{"HOSTNAME", "MAC ADDRESS", "IP ADDRESS", "TYPE"}
	if clustered {
		header = append(header, "LOCATION")
	}

	rows := [][]string{}
	for _, l := range leases {
		row := []string{l.Hostname, l.Hwaddr, l.Address, strings.ToUpper(l.Type)}
		if clustered {
			row = append(row, l.Location)
		}

		rows = append(rows, row)
	}

	sortRows(rows)
	return header, rows
}

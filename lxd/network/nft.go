package network

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// nftTable is the nftables table the daemon owns; it is rewritten whole, so chains of deleted networks go with it.
const nftTable = "lxd"

// nftNetwork is what the ruleset needs of one network.
type nftNetwork struct {
	Name   string
	Config map[string]string
}

// nftRuleset renders the daemon's table for the given networks: per network, input and output chains letting
// DHCP, DNS and router advertisements through, a forward chain accepting the bridge's traffic (the filter rules of
// a family only with its ipvN.firewall, true by default), and a postrouting
// chain masquerading the subnets with ipv4.nat or ipv6.nat. The first lines delete any previous table so that
// "nft -f" swaps it atomically.
func nftRuleset(nets []nftNetwork) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {}\ndelete table inet %s\n", nftTable, nftTable)
	fmt.Fprintf(&b, "table inet %s {\n", nftTable)

	sorted := append([]nftNetwork(nil), nets...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, n := range sorted {
		_, subnet4, has4 := parseCIDRKey(n.Config["ipv4.address"])
		_, subnet6, has6 := parseCIDRKey(n.Config["ipv6.address"])
		name := n.Name

		// ipv4.firewall and ipv6.firewall (default true) choose the families whose filter rules are added.
		fw4 := has4 && isTrue(n.Config, "ipv4.firewall", true)
		fw6 := has6 && isTrue(n.Config, "ipv6.firewall", true)
		families := func(fn func(proto string)) {
			if fw4 {
				fn("ipv4")
			}

			if fw6 {
				fn("ipv6")
			}
		}

		fmt.Fprintf(&b, "\tchain in.%s {\n\t\ttype filter hook input priority filter; policy accept;\n", name)
		families(func(proto string) {
			fmt.Fprintf(&b, "\t\tiifname %q meta nfproto %s tcp dport 53 accept\n", name, proto)
			fmt.Fprintf(&b, "\t\tiifname %q meta nfproto %s udp dport 53 accept\n", name, proto)
		})

		if fw4 {
			fmt.Fprintf(&b, "\t\tiifname %q icmp type { destination-unreachable, time-exceeded, parameter-problem } accept\n", name)
			fmt.Fprintf(&b, "\t\tiifname %q udp dport 67 accept\n", name)
		}

		if fw6 {
			fmt.Fprintf(&b, "\t\tiifname %q icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept\n", name)
			fmt.Fprintf(&b, "\t\tiifname %q udp dport 547 accept\n", name)
		}

		b.WriteString("\t}\n")

		fmt.Fprintf(&b, "\tchain out.%s {\n\t\ttype filter hook output priority filter; policy accept;\n", name)
		families(func(proto string) {
			fmt.Fprintf(&b, "\t\toifname %q meta nfproto %s tcp sport 53 accept\n", name, proto)
			fmt.Fprintf(&b, "\t\toifname %q meta nfproto %s udp sport 53 accept\n", name, proto)
		})

		if fw4 {
			fmt.Fprintf(&b, "\t\toifname %q udp sport 67 accept\n", name)
		}

		if fw6 {
			fmt.Fprintf(&b, "\t\toifname %q icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept\n", name)
			fmt.Fprintf(&b, "\t\toifname %q udp sport 547 accept\n", name)
		}

		b.WriteString("\t}\n")

		fmt.Fprintf(&b, "\tchain fwd.%s {\n\t\ttype filter hook forward priority filter; policy accept;\n", name)
		families(func(proto string) {
			fmt.Fprintf(&b, "\t\tiifname %q meta nfproto %s accept\n", name, proto)
			fmt.Fprintf(&b, "\t\toifname %q meta nfproto %s accept\n", name, proto)
		})

		b.WriteString("\t}\n")

		fmt.Fprintf(&b, "\tchain pstrt.%s {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n", name)
		// ipvN.nat.address gives the source address; without it, the outgoing interface's is used (masquerade).
		if has4 && isTrue(n.Config, "ipv4.nat", false) {
			action := "masquerade"
			if addr := n.Config["ipv4.nat.address"]; addr != "" {
				action = "snat ip to " + addr
			}

			fmt.Fprintf(&b, "\t\tip saddr %s ip daddr != %s %s\n", subnet4, subnet4, action)
		}

		if has6 && isTrue(n.Config, "ipv6.nat", false) {
			action := "masquerade"
			if addr := n.Config["ipv6.nat.address"]; addr != "" {
				action = "snat ip6 to " + addr
			}

			fmt.Fprintf(&b, "\t\tip6 saddr %s ip6 daddr != %s %s\n", subnet6, subnet6, action)
		}

		b.WriteString("\t}\n")
	}

	b.WriteString("}\n")
	return b.String()
}

// applyRuleset replaces the daemon's nftables table with the rules of nets; with no network the table is removed.
func applyRuleset(ctx context.Context, nets []nftNetwork) error {
	var rules string
	if len(nets) == 0 {
		// With no network, the table goes if it is there; a host that never had one is left untouched.
		tables, err := runCmd(ctx, nil, "nft", "list", "tables", "inet")
		if err != nil || !strings.Contains(string(tables), "table inet "+nftTable+"\n") {
			return nil
		}

		rules = fmt.Sprintf("delete table inet %s\n", nftTable)
	} else {
		rules = nftRuleset(nets)
	}

	_, err := runCmd(ctx, []byte(rules), "nft", "-f", "-")
	if err != nil {
		return fmt.Errorf("applying the firewall rules: %w", err)
	}

	return nil
}

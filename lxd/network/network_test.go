package network

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestFillDefaults(t *testing.T) {
	tests := []struct {
		in, want map[string]string
	}{
		{map[string]string{}, map[string]string{"ipv4.address": "auto", "ipv4.nat": "true", "ipv6.address": "auto", "ipv6.nat": "true"}},
		{map[string]string{"ipv4.address": "10.0.0.1/24"}, map[string]string{"ipv4.address": "10.0.0.1/24", "ipv6.address": "auto", "ipv6.nat": "true"}},
		{map[string]string{"ipv6.address": "none", "ipv4.nat": "false"}, map[string]string{"ipv4.address": "auto", "ipv4.nat": "false", "ipv6.address": "none"}},
	}

	for _, tt := range tests {
		fillDefaults(tt.in)
		if len(tt.in) != len(tt.want) {
			t.Fatalf("got %v, want %v", tt.in, tt.want)
		}

		for k, v := range tt.want {
			if tt.in[k] != v {
				t.Fatalf("got %v, want %v", tt.in, tt.want)
			}
		}
	}
}

func TestValidateConfig(t *testing.T) {
	good := []map[string]string{
		{"ipv4.address": "10.1.2.1/24", "ipv4.nat": "true", "ipv6.address": "none"},
		{"ipv4.address": "auto", "ipv6.address": "fd42:1:2:3::1/64", "ipv6.dhcp.stateful": "true"},
		{"ipv4.address": "10.1.2.1/24", "ipv4.dhcp.ranges": "10.1.2.10-10.1.2.20,10.1.2.30-10.1.2.40"},
		{"dns.domain": "example.lxd", "dns.mode": "dynamic", "bridge.mtu": "1400", "bridge.hwaddr": "00:16:3e:00:00:01"},
		{"bridge.driver": "native", "raw.dnsmasq": "log-queries", "user.foo": "bar", "ipv4.dhcp.expiry": "2h"},
		{"ipv4.address": "10.1.2.1/24", "ipv4.dhcp.gateway": "10.1.2.254", "dns.search": "a.lxd,b.example"},
		{"bridge.external_interfaces": "eth1,bond0.100"},
	}

	for _, c := range good {
		err := validateConfig(c)
		if err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}

	bad := []map[string]string{
		{"bogus.key": "1"},
		{"ipv4.address": "10.1.2.0/24"},
		{"ipv4.address": "10.1.2.255/24"},
		{"ipv4.address": "10.1.2.1"},
		{"ipv4.address": "fd42::1/64"},
		{"ipv4.address": "10.1.2.1/31"},
		{"ipv6.address": "10.1.2.1/24"},
		{"ipv4.nat": "maybe"},
		{"bridge.driver": "openvswitch"},
		{"bridge.mtu": "70000"},
		{"bridge.hwaddr": "01:00:00:00:00:01"},
		{"dns.mode": "other"},
		{"dns.domain": "-bad-.lxd"},
		{"ipv4.dhcp.expiry": "soon"},
		{"ipv4.address": "10.1.2.1/24", "ipv4.dhcp.ranges": "10.1.3.10-10.1.3.20"},
		{"ipv4.address": "10.1.2.1/24", "ipv4.dhcp.ranges": "10.1.2.20-10.1.2.10"},
		{"ipv4.address": "none", "ipv4.dhcp.ranges": "10.1.2.10-10.1.2.20"},
		{"ipv4.address": "10.1.2.1/24", "ipv4.dhcp.gateway": "10.1.3.1"},
		{"ipv4.dhcp.gateway": "fd42::1"},
		{"dns.search": "ok.lxd,-bad"},
		{"bridge.external_interfaces": "eth1,a/b"},
	}

	for _, c := range bad {
		err := validateConfig(c)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%v: got %v, want an invalid error", c, err)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"lxdbr0", "br-test_1", "a.b"} {
		if ValidName(n) != nil {
			t.Errorf("%q refused", n)
		}
	}

	for _, n := range []string{"", "-br", "a/b", "a b", "averyverylongname0", "..", "br:0"} {
		if ValidName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}

	return n
}

func TestPickSubnets(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	used := []*net.IPNet{mustCIDR(t, "10.0.0.0/9")}
	for range 50 {
		got, err := pickIPv4Subnet(used, rnd)
		if err != nil {
			t.Fatal(err)
		}

		ip, subnet, err := net.ParseCIDR(got)
		if err != nil || !strings.HasSuffix(got, ".1/24") || ip.To4()[0] != 10 {
			t.Fatalf("bad pick %q", got)
		}

		if overlapsAny(subnet, used) {
			t.Fatalf("%s overlaps a used subnet", got)
		}
	}

	_, err := pickIPv4Subnet([]*net.IPNet{mustCIDR(t, "10.0.0.0/8")}, rnd)
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a full 10/8 gave %v", err)
	}

	got, err := pickIPv6Subnet(nil, rnd)
	if err != nil || !strings.HasPrefix(got, "fd42:") || !strings.HasSuffix(got, "::1/64") {
		t.Fatalf("bad IPv6 pick %q (%v)", got, err)
	}
}

func TestParseHostPrefixes(t *testing.T) {
	addrs := `[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
{"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":24},{"family":"inet6","local":"fe80::1","prefixlen":64},{"family":"inet6","local":"2001:db8::2","prefixlen":64}]}]`
	routes := `[{"dst":"default","gateway":"192.0.2.1","dev":"eth0"},{"dst":"198.51.100.0/24","dev":"eth1"},
{"type":"local","dst":"127.0.0.1","dev":"lo"},{"dst":"203.0.113.5","dev":"eth0"}]`
	got, err := parseHostPrefixes([]byte(addrs), []byte(routes))
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, p := range got {
		names = append(names, p.Subnet.String()+"@"+p.Dev)
	}

	want := "192.0.2.0/24@eth0 2001:db8::/64@eth0 198.51.100.0/24@eth1 203.0.113.5/32@eth0"
	if strings.Join(names, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(names, " "), want)
	}

	// The subnet picker avoids what the host uses.
	used := usedNets(got)
	if !overlapsAny(mustCIDR(t, "192.0.2.128/25"), used) || overlapsAny(mustCIDR(t, "10.0.0.0/24"), used) {
		t.Fatal("overlap check is wrong")
	}
}

func TestDnsmasqConfig(t *testing.T) {
	conf := dnsmasqConfig("br0", "/d/br0", map[string]string{
		"ipv4.address": "10.1.2.1/24", "ipv6.address": "fd42:1:2:3::1/64", "bridge.mtu": "1400",
	})
	for _, want := range []string{
		"interface=br0\n", "bind-interfaces\n", "user=nobody\n", "listen-address=10.1.2.1\n",
		"dhcp-range=10.1.2.2,10.1.2.254,1h\n", "dhcp-option-force=26,1400\n", "listen-address=fd42:1:2:3::1\n",
		"dhcp-range=::,constructor:br0,ra-stateless,ra-names\n", "domain=lxd\n", "local=/lxd/\n",
		"dhcp-hostsfile=/d/br0/dnsmasq.hosts\n", "dhcp-leasefile=/d/br0/dnsmasq.leases\n",
		"pid-file=/d/br0/dnsmasq.pid\n", "conf-file=/d/br0/dnsmasq.raw\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("missing %q in:\n%s", want, conf)
		}
	}

	conf = dnsmasqConfig("br0", "/d", map[string]string{
		"ipv4.address": "10.1.2.1/24", "ipv4.dhcp.ranges": "10.1.2.10-10.1.2.20", "ipv4.dhcp.expiry": "2h",
		"ipv6.address": "fd42:1:2:3::1/64", "ipv6.dhcp.stateful": "true", "dns.domain": "example", "dns.mode": "managed",
	})
	for _, want := range []string{"dhcp-range=10.1.2.10,10.1.2.20,2h\n", "dhcp-range=fd42:1:2:3::2,fd42:1:2:3:ffff:ffff:ffff:fffe,64,1h\n", "domain=example\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("missing %q in:\n%s", want, conf)
		}
	}

	conf = dnsmasqConfig("br0", "/d", map[string]string{
		"ipv4.address": "10.1.2.1/24", "ipv4.dhcp.gateway": "10.1.2.254", "dns.search": "a.lxd,b.example", "ipv6.address": "fd42::1/64",
	})
	for _, want := range []string{"dhcp-option-force=3,10.1.2.254\n", "dhcp-option-force=119,a.lxd,b.example\n", "dhcp-option-force=option6:domain-search,a.lxd,b.example\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("missing %q in:\n%s", want, conf)
		}
	}

	conf = dnsmasqConfig("br0", "/d", map[string]string{"ipv4.address": "10.1.2.1/24", "ipv4.dhcp": "false", "dns.mode": "none"})
	if strings.Contains(conf, "dhcp-range") || !strings.Contains(conf, "port=0\n") {
		t.Errorf("dhcp off and dns none:\n%s", conf)
	}

	if dnsmasqConfig("br0", "/d", map[string]string{"ipv4.address": "none", "ipv6.address": "none"}) != "" {
		t.Error("a network without addresses needs no dnsmasq")
	}

	entry := dnsmasqHostEntry(map[string]string{}, "00:16:3e:00:00:01", "10.1.2.5", "fd42::5", "c1")
	if entry != "00:16:3e:00:00:01,10.1.2.5,[fd42::5],c1\n" {
		t.Errorf("entry %q", entry)
	}

	entry = dnsmasqHostEntry(map[string]string{"dns.mode": "dynamic"}, "00:16:3e:00:00:01", "", "", "c1")
	if entry != "00:16:3e:00:00:01\n" {
		t.Errorf("dynamic entry %q", entry)
	}
}

func TestNftRuleset(t *testing.T) {
	rules := nftRuleset([]nftNetwork{
		{Name: "br1", Config: map[string]string{"ipv4.address": "10.1.2.1/24", "ipv4.nat": "true", "ipv6.address": "fd42:1:2:3::1/64", "ipv6.nat": "false"}},
		{Name: "br0", Config: map[string]string{"ipv4.address": "none", "ipv6.address": "fd42:9::1/64", "ipv6.nat": "true"}},
	})

	if !strings.HasPrefix(rules, "table inet lxd {}\ndelete table inet lxd\ntable inet lxd {\n") {
		t.Fatalf("the table is not replaced whole:\n%s", rules)
	}

	for _, want := range []string{
		"chain pstrt.br1 {", "ip saddr 10.1.2.0/24 ip daddr != 10.1.2.0/24 masquerade",
		"chain fwd.br1 {", "iifname \"br1\" meta nfproto ipv4 accept", "iifname \"br1\" meta nfproto ipv6 accept",
		"chain in.br1 {", "iifname \"br1\" udp dport 67 accept", "oifname \"br0\" meta nfproto ipv6 accept",
		"ip6 saddr fd42:9::/64 ip6 daddr != fd42:9::/64 masquerade",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("missing %q in:\n%s", want, rules)
		}
	}

	if strings.Contains(rules, "ip6 saddr fd42:1:2:3::/64") || strings.Contains(rules, "iifname \"br0\" udp dport 67") {
		t.Errorf("rules for disabled NAT or a missing family:\n%s", rules)
	}

	if !strings.Contains(rules, "chain in.br0") || strings.Index(rules, "chain in.br0") > strings.Index(rules, "chain in.br1") {
		t.Error("networks are not in name order")
	}

	if strings.Contains(rules, "iifname \"br0\" meta nfproto ipv4") {
		t.Errorf("IPv4 filter rules for a network without IPv4:\n%s", rules)
	}

	rules = nftRuleset([]nftNetwork{{Name: "br2", Config: map[string]string{
		"ipv4.address": "10.1.2.1/24", "ipv4.nat": "true", "ipv4.firewall": "false", "ipv6.address": "fd42:1:2:3::1/64",
	}}})
	if strings.Contains(rules, "meta nfproto ipv4") || strings.Contains(rules, "udp dport 67") || !strings.Contains(rules, "ip saddr 10.1.2.0/24") {
		t.Errorf("ipv4.firewall=false keeps IPv4 filter rules or drops NAT:\n%s", rules)
	}

	if !strings.Contains(rules, "iifname \"br2\" meta nfproto ipv6 accept") {
		t.Errorf("ipv4.firewall=false dropped the IPv6 rules:\n%s", rules)
	}

	rules = nftRuleset([]nftNetwork{{Name: "br3", Config: map[string]string{
		"ipv4.address": "10.1.2.1/24", "ipv4.nat": "true", "ipv4.nat.address": "192.0.2.7",
		"ipv6.address": "fd42:1:2:3::1/64", "ipv6.nat": "true", "ipv6.nat.address": "2001:db8::7",
	}}})
	for _, want := range []string{"ip saddr 10.1.2.0/24 ip daddr != 10.1.2.0/24 snat ip to 192.0.2.7", "ip6 saddr fd42:1:2:3::/64 ip6 daddr != fd42:1:2:3::/64 snat ip6 to 2001:db8::7"} {
		if !strings.Contains(rules, want) {
			t.Errorf("missing %q in:\n%s", want, rules)
		}
	}

	if !strings.Contains(rules, "iifname \"br3\" meta nfproto ipv6 accept") {
		t.Errorf("no IPv6 filter rules:\n%s", rules)
	}
}

func TestCheckStatic(t *testing.T) {
	config := map[string]string{"ipv4.address": "10.1.2.1/24", "ipv6.address": "fd42:1::1/64"}
	for _, ok := range []struct {
		family int
		v      string
	}{{4, "10.1.2.5"}, {6, "fd42:1::5"}} {
		if checkStatic(config, ok.family, ok.v) != nil {
			t.Errorf("%s refused", ok.v)
		}
	}

	for _, bad := range []struct {
		family int
		v      string
	}{{4, "10.1.3.5"}, {4, "10.1.2.1"}, {4, "10.1.2.0"}, {4, "10.1.2.255"}, {4, "bogus"}, {4, "fd42:1::5"}, {6, "fd43::5"}} {
		if !errors.Is(checkStatic(config, bad.family, bad.v), errs.ErrInvalid) {
			t.Errorf("%s accepted", bad.v)
		}
	}

	if checkStatic(map[string]string{"ipv4.address": "none"}, 4, "10.1.2.5") == nil {
		t.Error("a static address on a network without IPv4 accepted")
	}
}

func TestLeasesAndHostEntries(t *testing.T) {
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, dnsmasqLeases), []byte(
		"1700000000 00:16:3e:aa:bb:cc 10.1.2.50 c1 01:00:16:3e:aa:bb:cc\n"+
			"duid 00:01:00:01\n"+
			"1700000000 1234 fd42:1::50 * 00:01\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	leases, err := readLeases(filepath.Join(dir, dnsmasqLeases))
	if err != nil || len(leases) != 2 {
		t.Fatalf("leases %+v (%v)", leases, err)
	}

	if leases[0] != (dnsmasqLease{HWAddr: "00:16:3e:aa:bb:cc", Address: "10.1.2.50", Hostname: "c1"}) ||
		leases[1] != (dnsmasqLease{Address: "fd42:1::50"}) {
		t.Fatalf("leases %+v", leases)
	}

	err = os.MkdirAll(filepath.Join(dir, dnsmasqHosts), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(dir, dnsmasqHosts, "c2.eth0"), []byte("00:16:3e:00:00:02,10.1.2.7,[fd42:1::7],c2\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	entries, err := readHostEntries(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries %+v (%v)", entries, err)
	}

	want := hostEntry{File: "c2.eth0", HWAddr: "00:16:3e:00:00:02", IPv4: "10.1.2.7", IPv6: "fd42:1::7", Hostname: "c2"}
	if entries[0] != want {
		t.Fatalf("got %+v, want %+v", entries[0], want)
	}
}

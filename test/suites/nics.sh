# nic devices of containers: bridged, p2p, macvlan and physical nics, their volatile keys, traffic limits, hot plug
# and unplug, the state and list output, and refused keys. Every daemon runs in a network namespace of the test's
# own (make_netns): the bridges and veth pairs are made there, and traffic never leaves it.

# spawn_nic_lxd DIR: makes a network namespace, starts a daemon in it with the busybox image as "bb".
spawn_nic_lxd() {
	make_netns
	spawn_instance_lxd "$1"
	import_busybox "$1" bb
}

# volatile DIR NAME KEY: prints a configuration key of an instance ("" when unset).
volatile() {
	local_curl "$1" "/1.0/instances/$2" | jq -r --arg k "$3" '.metadata.config[$k] // ""'
}

# nic_state DIR NAME IFACE FIELD: prints a field of an interface in the instance's state.
nic_state() {
	local_curl "$1" "/1.0/instances/$2/state" | jq -r --arg i "$3" ".metadata.network[\$i].$4"
}

# The interface blocks of "lxc info", counters left out, one line per interface, sorted.
info_nic_blocks() {
	sed -n '/Network usage/,$p' | grep -v 'Network usage\|Bytes\|Packets' |
		awk '/^    [^ ]/ { if (b != "") print b; b = $0; next } { b = b "|" $0 } END { if (b != "") print b }' | sort
}

# Two containers on a bridge of the namespace reach each other; each nic keeps its MAC address across restarts,
# its host side is recorded while it runs and gone once stopped; the state, list and info show the addresses.
test_nics_bridged() {
	local d="${TEST_TMP}/d" hw1 host1 out
	spawn_nic_lxd "${d}"
	nsx ip link add br0 type bridge
	nsx ip link set br0 up
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" config device add c1 eth0 nic nictype=bridged parent=br0 >/dev/null
	lxc_in "${d}" config device add c2 eth0 nic nictype=bridged parent=br0 name=eth0 mtu=1400 >/dev/null
	hw1=$(volatile "${d}" c1 volatile.eth0.hwaddr)
	[[ "${hw1}" =~ ^00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$ ]] || fail "volatile.eth0.hwaddr after device add: '${hw1}'"

	lxc_in "${d}" start c1
	lxc_in "${d}" start c2
	host1=$(volatile "${d}" c1 volatile.eth0.host_name)
	[[ "${host1}" =~ ^veth[0-9a-f]{8}$ ]] || fail "volatile.eth0.host_name while running: '${host1}'"
	assert_contains "$(nsx ip -o link show "${host1}")" "master br0"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /sys/class/net/eth0/address)" "${hw1}" "MAC address in the container"
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /sys/class/net/eth0/mtu)" "1400" "MTU in the container"

	lxc_in "${d}" exec c1 -- ip addr add 10.217.40.2/24 dev eth0
	lxc_in "${d}" exec c2 -- ip addr add 10.217.40.3/24 dev eth0
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.217.40.3 >/dev/null || fail "c1 cannot reach c2"
	lxc_in "${d}" exec c2 -- ping -c 1 -W 5 10.217.40.2 >/dev/null || fail "c2 cannot reach c1"

	out=$(lxc_in "${d}" list c1 --format csv -c n4)
	assert_eq "${out}" "c1,10.217.40.2 (eth0)" "IPV4 column"
	lxc_in "${d}" exec c1 -- ip -6 addr add fd42:217:40::2/64 dev eth0
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c 6)" "fd42:217:40::2 (eth0)" "IPV6 column"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${d}.stock" list c1 --format csv -c 6)" "fd42:217:40::2 (eth0)" "stock IPV6 column"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/state | jq -r '.metadata.network.eth0.addresses[] | select(.address=="fd42:217:40::2") | .netmask + " " + .scope')" "64 global" "IPv6 prefix and scope"
	assert_eq "$(nic_state "${d}" c1 eth0 hwaddr)" "${hw1}" "hwaddr in the state"
	assert_eq "$(nic_state "${d}" c1 eth0 host_name)" "${host1}" "host_name in the state"
	assert_eq "$(nic_state "${d}" c1 eth0 state)" "up" "state of eth0"
	assert_eq "$(nic_state "${d}" c2 eth0 mtu)" "1400" "mtu in the state"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/state | jq -r '.metadata.network.eth0.addresses[] | select(.family=="inet") | .netmask')" "24" "netmask"
	[ "$(nic_state "${d}" c1 eth0 counters.packets_sent)" -gt 0 ] || fail "no packets counted on eth0"
	assert_contains "$(lxc_in "${d}" info c1)" "10.217.40.2/24 (global)"
	out=$(LXD_DIR="${d}" stock_lxc "${d}.stock" info c1)
	assert_contains "${out}" "inet:  10.217.40.2/24 (global)"
	assert_contains "${out}" "Host interface: ${host1}"
	assert_contains "${out}" "MAC address: ${hw1}"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${d}.stock" list c1 --format csv -c n4)" "c1,10.217.40.2 (eth0)" "stock client's IPV4 column"

	lxc_in "${d}" stop -f c1
	assert_eq "$(volatile "${d}" c1 volatile.eth0.host_name)" "" "host_name after stop"
	assert_fails nsx ip link show "${host1}"
	lxc_in "${d}" start c1
	assert_eq "$(volatile "${d}" c1 volatile.eth0.hwaddr)" "${hw1}" "volatile hwaddr after a restart"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /sys/class/net/eth0/address)" "${hw1}" "MAC address after a restart"
	lxc_in "${d}" restart -f c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /sys/class/net/eth0/address)" "${hw1}" "MAC address after lxc restart"
	lxc_in "${d}" delete -f c1 c2
}

# A p2p nic: the host side has the name from host_name, is up and on no bridge; both sides reach each other.
test_nics_p2p() {
	local d="${TEST_TMP}/d"
	spawn_nic_lxd "${d}"
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" config device add c1 eth0 nic nictype=p2p host_name=p2pc1 >/dev/null
	lxc_in "${d}" start c1
	assert_eq "$(volatile "${d}" c1 volatile.eth0.host_name)" "p2pc1" "volatile host_name of a p2p nic"
	assert_contains "$(nsx ip -o link show p2pc1)" ",UP"
	[[ "$(nsx ip -o link show p2pc1)" != *master* ]] || fail "the host side of a p2p nic is on a bridge"
	nsx ip addr add 10.217.41.1/24 dev p2pc1
	lxc_in "${d}" exec c1 -- ip addr add 10.217.41.2/24 dev eth0
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.217.41.1 >/dev/null || fail "the container cannot reach the host side"
	nsx busybox ping -c 1 -W 5 10.217.41.2 >/dev/null || fail "the host side cannot reach the container"
	assert_eq "$(nic_state "${d}" c1 eth0 host_name)" "p2pc1" "host_name in the state"
	# lxc info shows the interfaces as the stock client does (the counters aside, which move between the two;
	# the stock client prints the interfaces in map order, so the blocks are compared sorted).
	assert_eq "$(lxc_in "${d}" info c1 | info_nic_blocks)" \
		"$(LXD_DIR="${d}" stock_lxc "${d}.stock" info c1 | info_nic_blocks)" \
		"network usage in lxc info"
	assert_eq "$(lxc_in "${d}" info c1 | sed -n '/Network usage/,$p' | grep -c '^    [a-z]')" "2" "interfaces in lxc info"
	assert_contains "$(lxc_in "${d}" info c1)" "Host interface: p2pc1"
	lxc_in "${d}" stop -f c1
	assert_fails nsx ip link show p2pc1
	lxc_in "${d}" delete c1
}

# A macvlan nic on one end of a veth pair the test makes: the container reaches the other end.
test_nics_macvlan() {
	local d="${TEST_TMP}/d" hw
	spawn_nic_lxd "${d}"
	nsx ip link add mv0 type veth peer name mv1
	nsx ip link set mv0 up
	nsx ip link set mv1 up
	nsx ip addr add 10.217.42.1/24 dev mv1
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" config device add c1 eth0 nic nictype=macvlan parent=mv0 >/dev/null
	hw=$(volatile "${d}" c1 volatile.eth0.hwaddr)
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /sys/class/net/eth0/address)" "${hw}" "MAC address of the macvlan"
	lxc_in "${d}" exec c1 -- ip addr add 10.217.42.2/24 dev eth0
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.217.42.1 >/dev/null || fail "the macvlan cannot reach the other end of its parent"
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c 4)" "10.217.42.2 (eth0)" "IPV4 column of a macvlan"
	assert_eq "$(volatile "${d}" c1 volatile.eth0.host_name)" "" "volatile host_name of a macvlan"
	lxc_in "${d}" delete -f c1
}

# A physical nic: one end of a veth pair moves into the container while it runs, and back at stop.
test_nics_physical() {
	local d="${TEST_TMP}/d" hw
	spawn_nic_lxd "${d}"
	nsx ip link add ph0 type veth peer name ph1
	nsx ip link set ph1 up
	nsx ip addr add 10.217.43.1/24 dev ph1
	hw=$(nsx cat /sys/class/net/ph0/address)
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" config device add c1 eth0 nic nictype=physical parent=ph0 >/dev/null
	assert_eq "$(volatile "${d}" c1 volatile.eth0.hwaddr)" "" "volatile hwaddr of a physical nic"
	lxc_in "${d}" start c1
	assert_fails nsx ip link show ph0
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /sys/class/net/eth0/address)" "${hw}" "MAC address of the physical nic"
	lxc_in "${d}" exec c1 -- ip addr add 10.217.43.2/24 dev eth0
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.217.43.1 >/dev/null || fail "the container cannot reach the other end"
	lxc_in "${d}" stop -f c1
	nsx ip link show ph0 >/dev/null || fail "ph0 did not come back at stop"
	assert_eq "$(nsx cat /sys/class/net/ph0/address)" "${hw}" "MAC address of ph0 back on the host"

	# Again, and the container is restarted.
	lxc_in "${d}" start c1
	assert_fails nsx ip link show ph0
	lxc_in "${d}" restart -f c1
	assert_fails nsx ip link show ph0
	lxc_in "${d}" delete -f c1
	nsx ip link show ph0 >/dev/null || fail "ph0 did not come back after delete -f"

	# Its own MAC address and MTU while it runs; the parent's back once stopped.
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" config device add c2 eth0 nic nictype=physical parent=ph0 hwaddr=00:16:3e:11:22:33 mtu=1400 >/dev/null
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /sys/class/net/eth0/address)" "00:16:3e:11:22:33" "hwaddr of a physical nic"
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /sys/class/net/eth0/mtu)" "1400" "mtu of a physical nic"
	lxc_in "${d}" stop -f c2
	assert_eq "$(nsx cat /sys/class/net/ph0/address)" "${hw}" "MAC address of ph0 after the stop"
	assert_eq "$(nsx cat /sys/class/net/ph0/mtu)" "1500" "MTU of ph0 after the stop"
	lxc_in "${d}" config device remove c2 eth0 >/dev/null

	# The same when hot-plugged and unplugged.
	lxc_in "${d}" start c2
	lxc_in "${d}" config device add c2 eth0 nic nictype=physical parent=ph0 hwaddr=00:16:3e:11:22:34 mtu=1300 >/dev/null
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /sys/class/net/eth0/address)" "00:16:3e:11:22:34" "hwaddr of a hot-plugged physical nic"
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /sys/class/net/eth0/mtu)" "1300" "mtu of a hot-plugged physical nic"
	lxc_in "${d}" config device remove c2 eth0 >/dev/null
	assert_eq "$(nsx cat /sys/class/net/ph0/address)" "${hw}" "MAC address of ph0 after the unplug"
	assert_eq "$(nsx cat /sys/class/net/ph0/mtu)" "1500" "MTU of ph0 after the unplug"

	# Hot-plugged, then the container stops: ph0 comes back all the same, and is not left recorded.
	lxc_in "${d}" config device add c2 eth0 nic nictype=physical parent=ph0 hwaddr=00:16:3e:11:22:35 mtu=1300 >/dev/null
	assert_fails nsx ip link show ph0
	lxc_in "${d}" stop -f c2
	nsx ip link show ph0 >/dev/null || fail "a hot-plugged ph0 did not come back when the container stopped"
	assert_eq "$(nsx cat /sys/class/net/ph0/address)" "${hw}" "MAC address of ph0 after the container stopped"
	assert_eq "$(nsx cat /sys/class/net/ph0/mtu)" "1500" "MTU of ph0 after the container stopped"
	assert_eq "$(ls "${d}/containers/c2/nics")" "" "hot-plugged nics still recorded"

	# Recorded in the configuration, it is plugged at the next start and moved back by liblxc.
	lxc_in "${d}" start c2
	assert_fails nsx ip link show ph0
	lxc_in "${d}" delete -f c2
	nsx ip link show ph0 >/dev/null || fail "ph0 did not come back after delete -f"
}

# nics added to and removed from a running container, with our client and the stock one.
test_nics_hotplug() {
	local d="${TEST_TMP}/d" host
	spawn_nic_lxd "${d}"
	nsx ip link add br0 type bridge
	nsx ip addr add 10.217.44.1/24 dev br0
	nsx ip link set br0 up
	nsx ip link add ph0 type veth peer name ph1
	lxc_in "${d}" launch bb c1 >/dev/null

	lxc_in "${d}" config device add c1 eth1 nic nictype=p2p host_name=hp1 >/dev/null
	assert_contains "$(nsx ip -o link show hp1)" ",UP"
	assert_eq "$(volatile "${d}" c1 volatile.eth1.host_name)" "hp1" "volatile host_name of a hot-plugged nic"
	lxc_in "${d}" exec c1 -- ip link show eth1 >/dev/null || fail "eth1 is not in the container"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /sys/class/net/eth1/address)" "$(volatile "${d}" c1 volatile.eth1.hwaddr)" "MAC address of a hot-plugged nic"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /sys/class/net/eth1/operstate)" "up" "state of a hot-plugged nic"

	LXD_DIR="${d}" stock_lxc "${d}.stock" config device add c1 eth2 nic nictype=bridged parent=br0 >/dev/null
	host=$(volatile "${d}" c1 volatile.eth2.host_name)
	assert_contains "$(nsx ip -o link show "${host}")" "master br0"
	lxc_in "${d}" exec c1 -- ip addr add 10.217.44.2/24 dev eth2
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.217.44.1 >/dev/null || fail "a hot-plugged bridged nic cannot reach the bridge"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${d}.stock" list c1 --format csv -c 4)" "10.217.44.2 (eth2)" "stock IPV4 column"

	lxc_in "${d}" config device add c1 eth3 nic nictype=physical parent=ph0 >/dev/null
	assert_fails nsx ip link show ph0
	lxc_in "${d}" exec c1 -- ip link show eth3 >/dev/null || fail "eth3 is not in the container"

	lxc_in "${d}" config device remove c1 eth1 >/dev/null
	assert_fails nsx ip link show hp1
	assert_fails lxc_in "${d}" exec c1 -- ip link show eth1
	assert_eq "$(volatile "${d}" c1 volatile.eth1.hwaddr)" "" "volatile keys of a removed nic"
	LXD_DIR="${d}" stock_lxc "${d}.stock" config device remove c1 eth2 >/dev/null
	assert_fails nsx ip link show "${host}"
	lxc_in "${d}" config device remove c1 eth3 >/dev/null
	nsx ip link show ph0 >/dev/null || fail "ph0 did not come back when its device was removed"
	assert_fails lxc_in "${d}" exec c1 -- ip link show eth3

	# A nic whose parent is missing: refused, nothing left behind.
	assert_fails lxc_in "${d}" config device add c1 eth4 nic nictype=bridged parent=nobr0
	assert_contains "${FAIL_OUTPUT}" "nobr0"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.devices | keys | join(",")')" "" "devices after a refused hot plug"
	assert_eq "$(nsx ip -o link | grep -c veth || true)" "0" "veths left by a refused hot plug"

	# A name the container already uses: refused, its own interface stays where it is.
	lxc_in "${d}" config device add c1 eth1 nic nictype=p2p host_name=dup1 >/dev/null
	assert_fails lxc_in "${d}" config device add c1 eth2 nic nictype=p2p name=eth1 host_name=dup2
	lxc_in "${d}" exec c1 -- ip link show eth1 >/dev/null || fail "the container lost its eth1 to a refused hot plug"
	nsx ip link show dup1 >/dev/null || fail "the host side of eth1 went with a refused hot plug"
	assert_fails nsx ip link show dup2
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.devices | keys | join(",")')" "eth1" "devices after a refused hot plug"
	lxc_in "${d}" delete -f c1
}

# Bad nic keys are refused with LXD's texts and change nothing; network= needs managed networks.
test_nics_refused() {
	local d="${TEST_TMP}/d" before
	spawn_nic_lxd "${d}"
	lxc_in "${d}" init bb c1 >/dev/null
	before=$(local_curl "${d}" /1.0/instances/c1 | jq -cS .metadata)
	assert_fails lxc_in "${d}" config device add c1 eth0 nic nictype=bogus
	assert_contains "${FAIL_OUTPUT}" 'device validation failed for "eth0"'
	assert_contains "${FAIL_OUTPUT}" "unsupported device type"
	assert_fails lxc_in "${d}" config device add c1 eth0 nic nictype=p2p parent=br0
	assert_contains "${FAIL_OUTPUT}" 'invalid device option "parent"'
	assert_fails lxc_in "${d}" config device add c1 eth0 nic nictype=macvlan
	assert_contains "${FAIL_OUTPUT}" 'invalid value for device option "parent": required value'
	assert_fails lxc_in "${d}" config device add c1 eth0 nic nictype=bridged parent=br0 mtu=10
	assert_contains "${FAIL_OUTPUT}" "out of MTU range (1280-16384)"
	assert_fails lxc_in "${d}" config device add c1 eth0 nic nictype=bridged parent=br0 ipv4.address=10.0.0.2
	assert_contains "${FAIL_OUTPUT}" "cannot use manually specified ipv4.address when using unmanaged parent bridge"
	assert_fails lxc_in "${d}" config device add c1 eth0 nic network=lxdbr0 nictype=bridged
	assert_contains "${FAIL_OUTPUT}" 'cannot use "nictype" property in conjunction with "network" property'
	assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc config device add c1 eth0 nic nictype=p2p hwaddr=zz
	assert_contains "${FAIL_OUTPUT}" "invalid MAC address"
	assert_fails lxc_in "${d}" init bb c2 -n nosuchnet0
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -cS .metadata)" "${before}" "instance after refused devices"
	assert_fails lxc_in "${d}" info c2
}

# limits.ingress shapes the host side with htb; limits.egress needs the kernel's police action: where it is
# missing, the start is refused and says so, and the container stays stopped.
test_nics_limits() {
	local d="${TEST_TMP}/d" host
	spawn_nic_lxd "${d}"
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" config device add c1 eth0 nic nictype=p2p limits.ingress=10Mbit >/dev/null
	lxc_in "${d}" start c1
	host=$(volatile "${d}" c1 volatile.eth0.host_name)
	assert_contains "$(nsx tc qdisc show dev "${host}")" "qdisc htb 1: root"
	assert_contains "$(nsx tc class show dev "${host}")" "rate 10Mbit"

	# Changed and removed on the running nic, which keeps its interface.
	lxc_in "${d}" config device set c1 eth0 limits.ingress=5Mbit
	assert_eq "$(volatile "${d}" c1 volatile.eth0.host_name)" "${host}" "host side after a change of limits"
	assert_contains "$(nsx tc class show dev "${host}")" "rate 5Mbit"
	lxc_in "${d}" config device unset c1 eth0 limits.ingress
	[[ "$(nsx tc qdisc show dev "${host}")" != *htb* ]] || fail "htb left after limits.ingress was unset"
	if ! nsx tc actions add action police rate 1mbit burst 100k index 4243 >/dev/null 2>&1; then
		assert_fails lxc_in "${d}" config device set c1 eth0 limits.egress=1Mbit
		assert_contains "${FAIL_OUTPUT}" "police action"
		assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.devices.eth0["limits.egress"] // ""')" "" "limits.egress after a refused change"
	else
		nsx tc actions delete action police index 4243
	fi

	lxc_in "${d}" stop -f c1
	lxc_in "${d}" config device set c1 eth0 limits.ingress=10Mbit

	lxc_in "${d}" config device set c1 eth0 limits.egress=1Mbit
	# Whether the kernel has the police action, asked in the test's namespace (an action bound to no interface).
	if nsx tc actions add action police rate 1mbit burst 100k index 4242 >/dev/null 2>&1; then
		nsx tc actions delete action police index 4242
		lxc_in "${d}" start c1
		host=$(volatile "${d}" c1 volatile.eth0.host_name)
		assert_contains "$(nsx tc filter show dev "${host}" ingress)" "police"
		lxc_in "${d}" stop -f c1
	else
		assert_fails lxc_in "${d}" start c1
		assert_contains "${FAIL_OUTPUT}" "police action"
		assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "STOPPED" "status after a refused start"
		assert_eq "$(volatile "${d}" c1 volatile.eth0.host_name)" "" "host_name after a refused start"
		assert_eq "$(nsx ip -o link | grep -c veth || true)" "0" "veths after a refused start"
	fi

	lxc_in "${d}" delete -f c1
}

# nics of profiles: plugged when the profile is added to a running instance, unplugged when the profile's device
# goes; a copy gets MAC addresses of its own.
test_nics_profile() {
	local d="${TEST_TMP}/d"
	spawn_nic_lxd "${d}"
	lxc_in "${d}" launch bb c1 >/dev/null
	lxc_in "${d}" profile create p1 >/dev/null
	lxc_in "${d}" profile device add p1 eth5 nic nictype=p2p host_name=prof1 >/dev/null
	lxc_in "${d}" profile add c1 p1 >/dev/null
	assert_contains "$(nsx ip -o link show prof1)" ",UP"
	lxc_in "${d}" exec c1 -- ip link show eth5 >/dev/null || fail "eth5 of the profile is not in the container"
	lxc_in "${d}" profile device remove p1 eth5 >/dev/null
	assert_fails nsx ip link show prof1
	assert_fails lxc_in "${d}" exec c1 -- ip link show eth5

	lxc_in "${d}" config device add c1 eth0 nic nictype=p2p >/dev/null
	lxc_in "${d}" stop -f c1
	lxc_in "${d}" copy c1 c2
	[ -n "$(volatile "${d}" c2 volatile.eth0.hwaddr)" ] || fail "the copy has no MAC address"
	[ "$(volatile "${d}" c2 volatile.eth0.hwaddr)" != "$(volatile "${d}" c1 volatile.eth0.hwaddr)" ] || fail "the copy has its source's MAC address"
	lxc_in "${d}" delete c1 c2
}

# A nic on a managed network hot-plugged into a running container: its host side joins the network's bridge, its
# DHCP host entry is recorded, it follows a rename, and its removal takes both away.
test_nics_managed_hotplug() {
	local d="${TEST_TMP}/d" host
	spawn_nic_lxd "${d}"
	on_exit sh -c "for f in '${d}'/networks/*/dnsmasq.pid; do [ -f \"\$f\" ] && kill \$(cat \"\$f\") 2>/dev/null; done; true"
	LXD_DIR="${d}" stock_lxc "${d}.stock" network create nb0 ipv4.address=10.217.45.1/24 ipv6.address=none >/dev/null
	lxc_in "${d}" launch bb c1 >/dev/null
	LXD_DIR="${d}" stock_lxc "${d}.stock" config device add c1 eth0 nic network=nb0 ipv4.address=10.217.45.7 >/dev/null
	host=$(volatile "${d}" c1 volatile.eth0.host_name)
	assert_contains "$(nsx ip -o link show "${host}")" "master nb0"
	assert_contains "$(cat "${d}/networks/nb0/dnsmasq.hosts/c1.eth0")" "$(volatile "${d}" c1 volatile.eth0.hwaddr)"
	lxc_in "${d}" exec c1 -- ip addr add 10.217.45.7/24 dev eth0
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.217.45.1 >/dev/null || fail "a hot-plugged managed nic cannot reach its bridge"

	# Refused with the network's reason, nothing plugged.
	assert_fails lxc_in "${d}" config device add c1 eth1 nic network=nb0 ipv4.address=10.217.99.7
	assert_contains "${FAIL_OUTPUT}" 'device validation failed for "eth1"'
	assert_fails lxc_in "${d}" exec c1 -- ip link show eth1
	assert_fails lxc_in "${d}" config device add c1 eth1 nic network=nosuchnet0
	assert_contains "${FAIL_OUTPUT}" 'failed to load network "nosuchnet0"'

	lxc_in "${d}" config device remove c1 eth0 >/dev/null
	assert_fails nsx ip link show "${host}"
	[ ! -e "${d}/networks/nb0/dnsmasq.hosts/c1.eth0" ] || fail "the DHCP host entry of a removed nic is left"

	lxc_in "${d}" config device add c1 eth0 nic network=nb0 >/dev/null
	lxc_in "${d}" stop -f c1
	lxc_in "${d}" rename c1 c2
	[ ! -e "${d}/networks/nb0/dnsmasq.hosts/c1.eth0" ] || fail "the DHCP host entry under the old name is left"
	[ -e "${d}/networks/nb0/dnsmasq.hosts/c2.eth0" ] || fail "no DHCP host entry under the new name"
	lxc_in "${d}" delete c2
	[ -z "$(ls "${d}/networks/nb0/dnsmasq.hosts")" ] || fail "DHCP host entries left: $(ls "${d}/networks/nb0/dnsmasq.hosts")"
	LXD_DIR="${d}" stock_lxc "${d}.stock" network delete nb0 >/dev/null
}

# A daemon killed while containers run: it follows them again with their nics, unplugs them, and clears their
# state when they stop; the volatile state of a container stopped while the daemon was down is cleared at start.
test_nics_daemon_killed() {
	local d="${TEST_TMP}/d" host1 host2
	spawn_nic_lxd "${d}"
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" config device add c1 eth0 nic nictype=p2p >/dev/null
	lxc_in "${d}" config device add c2 eth0 nic nictype=p2p >/dev/null
	lxc_in "${d}" config set c2 boot.autostart=false
	lxc_in "${d}" start c1
	lxc_in "${d}" start c2
	lxc_in "${d}" config device add c1 eth1 nic nictype=p2p host_name=killed1 >/dev/null
	host1=$(volatile "${d}" c1 volatile.eth0.host_name)
	host2=$(volatile "${d}" c2 volatile.eth0.host_name)

	kill -9 "$(cat "${d}/lxd.pid")"
	rm -f "${d}/lxd.pid"
	# c2 stops while the daemon is down (and is not started again with it).
	nsx lxc-stop -P "${d}/containers" -n c2 -k
	spawn_lxd "${d}"

	assert_eq "$(volatile "${d}" c1 volatile.eth0.host_name)" "${host1}" "host side of a container that ran on"
	assert_eq "$(nic_state "${d}" c1 eth0 host_name)" "${host1}" "host_name in the state after the daemon's restart"
	assert_eq "$(volatile "${d}" c2 volatile.eth0.host_name)" "" "host side of a container stopped while the daemon was down"
	assert_fails nsx ip link show "${host2}"
	lxc_in "${d}" config device remove c1 eth1 >/dev/null
	assert_fails nsx ip link show killed1
	assert_fails lxc_in "${d}" exec c1 -- ip link show eth1
	lxc_in "${d}" stop -f c1
	assert_eq "$(volatile "${d}" c1 volatile.eth0.host_name)" "" "host side after the stop"
	assert_fails nsx ip link show "${host1}"
	lxc_in "${d}" start c2
	lxc_in "${d}" delete -f c1 c2
}

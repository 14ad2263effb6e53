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

# Managed networks: bridges with their addresses, one unprivileged dnsmasq each and the nftables table "inet lxd",
# through the REST API and the stock client. The daemon runs in a network namespace of the test's own: nothing
# it creates reaches the host, and NAT is checked by reading the ruleset, never by sending traffic out.

# net_lxc DIR ARGS...: the stock client against the daemon of DIR.
net_lxc() {
	local dir=$1
	shift
	LXD_DIR="${dir}" stock_lxc "${dir}.stock-conf" "$@"
}

# net_dnsmasq_pid DIR NAME: the pid of the dnsmasq of network NAME, or nothing.
net_dnsmasq_pid() {
	local pidfile="$1/networks/$2/dnsmasq.pid"
	[ -f "${pidfile}" ] || return 0
	local pid
	pid=$(cat "${pidfile}")
	if [ -d "/proc/${pid}" ] && grep -q "dnsmasq" "/proc/${pid}/cmdline"; then
		echo "${pid}"
	fi
}

# net_spawn DIR: a namespace and a daemon in it whose directory the unprivileged dnsmasq can traverse.
net_spawn() {
	local d=$1
	make_netns
	mkdir -p "${d}"
	traversable_parents "${d}"
	spawn_lxd "${d}"
	# A dnsmasq left by a daemon killed on purpose goes with the test.
	on_exit sh -c "for f in '${d}'/networks/*/dnsmasq.pid; do [ -f \"\$f\" ] && kill \$(cat \"\$f\") 2>/dev/null; done; true"
}

# Create, show, list, edit, rename and delete, with the runtime checked at each step.
test_networks_lifecycle() {
	local d="${TEST_TMP}/d1"
	net_spawn "${d}"

	for ext in network network_state network_leases; do
		assert_contains "$(local_curl "${d}" /1.0 | jq -c .metadata.api_extensions)" "\"${ext}\"" "api_extensions"
	done

	net_lxc "${d}" monitor --type lifecycle --format json >"${d}.events" 2>/dev/null &
	local mon=$!
	sleep 0.5
	net_lxc "${d}" network create lxdbr0
	show=$(local_curl "${d}" /1.0/networks/lxdbr0 | jq -c .metadata)
	assert_eq "$(jq -r .managed <<<"${show}")" "true" "managed"
	assert_eq "$(jq -r .status <<<"${show}")" "Created" "status"
	assert_eq "$(jq -r .type <<<"${show}")" "bridge" "type"
	assert_eq "$(jq -r '.config["ipv4.nat"]' <<<"${show}")" "true" "ipv4.nat default"
	assert_eq "$(jq -r '.config["ipv6.nat"]' <<<"${show}")" "true" "ipv6.nat default"
	assert_eq "$(jq -c .locations <<<"${show}")" '["none"]' "locations"
	v4=$(jq -r '.config["ipv4.address"]' <<<"${show}")
	v6=$(jq -r '.config["ipv6.address"]' <<<"${show}")
	[[ "${v4}" =~ ^10\.[0-9]+\.[0-9]+\.1/24$ ]] || fail "ipv4.address=auto gave ${v4}"
	[[ "${v6}" =~ ^fd42:[0-9a-f:]+::1/64$ ]] || fail "ipv6.address=auto gave ${v6}"

	# The bridge, its addresses, the firewall table and an unprivileged dnsmasq, inside the namespace only.
	assert_contains "$(nsx ip -d link show lxdbr0)" "bridge"
	assert_contains "$(nsx ip addr show lxdbr0)" "inet ${v4}"
	assert_contains "$(nsx ip addr show lxdbr0)" "inet6 ${v6}"
	! ip -o addr show | grep -qF "inet ${v4} " || fail "the bridge's address ${v4} is on the host, outside the namespace"
	subnet4="${v4%.1/24}.0/24"
	rules=$(nsx nft list table inet lxd)
	assert_contains "${rules}" "chain pstrt.lxdbr0"
	assert_contains "${rules}" "ip saddr ${subnet4} ip daddr != ${subnet4} masquerade"
	assert_contains "${rules}" "chain fwd.lxdbr0"
	assert_eq "$(nsx cat /proc/sys/net/ipv4/ip_forward)" "1" "ip_forward"
	assert_contains "$(nsx nft list chain inet lxd fwd.lxdbr0)" 'iifname "lxdbr0" meta nfproto ipv4 accept'

	# ipv4.firewall=false leaves IPv4 filtering to the host's own rules, NAT stays.
	net_lxc "${d}" network set lxdbr0 ipv4.firewall false
	! nsx nft list table inet lxd | grep -q "nfproto ipv4" || fail "IPv4 filter rules with ipv4.firewall=false"
	assert_contains "$(nsx nft list table inet lxd)" "ip saddr ${subnet4} ip daddr != ${subnet4} masquerade"
	assert_contains "$(nsx nft list chain inet lxd fwd.lxdbr0)" 'iifname "lxdbr0" meta nfproto ipv6 accept'
	net_lxc "${d}" network unset lxdbr0 ipv4.firewall

	# ipv4.nat.address: the source address of the NAT (read in the ruleset, no traffic is sent).
	net_lxc "${d}" network set lxdbr0 ipv4.nat.address 192.0.2.7
	assert_contains "$(nsx nft list chain inet lxd pstrt.lxdbr0)" "ip saddr ${subnet4} ip daddr != ${subnet4} snat ip to 192.0.2.7"
	net_lxc "${d}" network unset lxdbr0 ipv4.nat.address
	assert_contains "$(nsx nft list chain inet lxd pstrt.lxdbr0)" "masquerade"
	pid=$(net_dnsmasq_pid "${d}" lxdbr0)
	[ -n "${pid}" ] || fail "no dnsmasq for lxdbr0"
	assert_eq "$(ps -o user= -p "${pid}")" "nobody" "dnsmasq user"
	assert_contains "$(cat "${d}/networks/lxdbr0/dnsmasq.conf")" "interface=lxdbr0"

	# Lists: ours and the stock client's; the loopback shows as an unmanaged network.
	assert_contains "$(local_curl "${d}" /1.0/networks | jq -c .metadata)" '"/1.0/networks/lxdbr0"'
	lo=$(local_curl "${d}" '/1.0/networks?recursion=1' | jq -c '.metadata[] | select(.name == "lo")')
	assert_eq "$(jq -r '.managed, .type' <<<"${lo}" | tr '\n' ' ')" "false loopback " "lo unmanaged"
	assert_contains "$(net_lxc "${d}" network list)" "| lxdbr0 | bridge | YES     | ${v4}"
	assert_contains "$(net_lxc "${d}" network info lxdbr0)" "inet	${v4%/24}/24 (global)"
	assert_contains "$(net_lxc "${d}" network list-leases lxdbr0)" "lxdbr0.gw"
	assert_eq "$(local_curl "${d}" /1.0/networks/lxdbr0/state | jq -r .metadata.state)" "up" "state"
	assert_eq "$(local_curl "${d}" /1.0/networks/lo/state | jq -r .metadata.type)" "loopback" "lo state"

	# PUT and PATCH honour If-Match; a change of configuration restarts dnsmasq on the new one.
	etag=$(local_curl "${d}" /1.0/networks/lxdbr0 -D - -o /dev/null | awk -F'"' 'tolower($0) ~ /^etag/ {print $2}')
	code=$(local_curl "${d}" /1.0/networks/lxdbr0 -X PATCH -H 'If-Match: "nope"' -d '{"config":{"bridge.mtu":"1400"}}' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "412" "PATCH with a stale ETag"
	local_curl "${d}" /1.0/networks/lxdbr0 -X PATCH -H "If-Match: \"${etag}\"" -d '{"config":{"bridge.mtu":"1400","dns.domain":"example"}}' | jq -e '.status_code == 200' >/dev/null
	assert_contains "$(nsx ip link show lxdbr0)" "mtu 1400"
	assert_contains "$(cat "${d}/networks/lxdbr0/dnsmasq.conf")" "domain=example"
	assert_contains "$(cat "${d}/networks/lxdbr0/dnsmasq.conf")" "dhcp-option-force=26,1400"
	newpid=$(net_dnsmasq_pid "${d}" lxdbr0)
	[ -n "${newpid}" ] && [ "${newpid}" != "${pid}" ] || fail "dnsmasq was not restarted (${pid} -> ${newpid})"
	net_lxc "${d}" network set lxdbr0 ipv6.address none
	assert_eq "$(net_lxc "${d}" network get lxdbr0 ipv6.address)" "none" "ipv6.address set"
	! nsx ip -6 addr show lxdbr0 scope global | grep -q inet6 || fail "IPv6 address left on the bridge"
	net_lxc "${d}" network set lxdbr0 ipv4.address 10.77.0.1/24
	assert_contains "$(nsx ip addr show lxdbr0)" "inet 10.77.0.1/24"
	assert_contains "$(nsx nft list table inet lxd)" "ip saddr 10.77.0.0/24"
	net_lxc "${d}" network edit lxdbr0 <<<"$(net_lxc "${d}" network show lxdbr0 | sed 's/^description: .*/description: main bridge/')"
	assert_eq "$(local_curl "${d}" /1.0/networks/lxdbr0 | jq -r .metadata.description)" "main bridge" "edit"

	# External interfaces join the bridge and leave it when the key drops them; one with an address is refused.
	nsx ip link add ext0 type veth peer name ext0p
	nsx ip link add ext1 type veth peer name ext1p
	nsx ip addr add 192.0.2.10/24 dev ext1
	net_lxc "${d}" network set lxdbr0 bridge.external_interfaces ext0
	assert_contains "$(nsx ip link show ext0)" "master lxdbr0"
	assert_fails net_lxc "${d}" network set lxdbr0 bridge.external_interfaces ext0,ext1
	assert_contains "${FAIL_OUTPUT}" "unconfigured"
	assert_fails net_lxc "${d}" network set lxdbr0 bridge.external_interfaces nosuch0
	assert_contains "$(nsx ip link show ext0)" "master lxdbr0"
	net_lxc "${d}" network unset lxdbr0 bridge.external_interfaces
	! nsx ip link show ext0 | grep -q master || fail "ext0 still in the bridge"

	# Rename: the bridge, its files and its chains move.
	net_lxc "${d}" network rename lxdbr0 br1
	nsx ip link show br1 >/dev/null
	! nsx ip link show lxdbr0 >/dev/null 2>&1 || fail "old bridge left after rename"
	assert_contains "$(nsx nft list table inet lxd)" "chain pstrt.br1"
	[ -n "$(net_dnsmasq_pid "${d}" br1)" ] || fail "no dnsmasq after rename"
	[ ! -e "${d}/networks/lxdbr0" ] || fail "old files left after rename"

	# Delete: nothing is left, and the table goes with the last network.
	pid=$(net_dnsmasq_pid "${d}" br1)
	net_lxc "${d}" network delete br1
	! nsx ip link show br1 >/dev/null 2>&1 || fail "bridge left after delete"
	[ ! -e "${d}/networks/br1" ] || fail "files left after delete"
	[ ! -d "/proc/${pid}" ] || fail "dnsmasq left after delete"
	! nsx nft list table inet lxd >/dev/null 2>&1 || fail "nft table left after deleting the last network"
	assert_fails net_lxc "${d}" network show br1
	assert_contains "${FAIL_OUTPUT}" "not found"

	kill "${mon}" 2>/dev/null || true
	wait "${mon}" 2>/dev/null || true
	for action in network-created network-updated network-renamed network-deleted; do
		grep -q "\"${action}\"" "${d}.events" || fail "no ${action} event"
	done
	assert_contains "$(grep network-renamed "${d}.events")" '"old_name":"lxdbr0"'

	# Names with dashes and dots make valid chain names.
	net_lxc "${d}" network create net-a.b ipv4.address=10.55.0.1/24 ipv6.address=none
	assert_contains "$(nsx nft list table inet lxd)" "chain pstrt.net-a.b"
	net_lxc "${d}" network delete net-a.b
}

# net_only_br0 DIR: the daemon of DIR has the network br0 and nothing else (rows, files, bridges, dnsmasq).
net_only_br0() {
	local d=$1
	assert_eq "$(local_curl "${d}" /1.0/networks | jq -c '.metadata | map(select(. != "/1.0/networks/lo"))')" '["/1.0/networks/br0"]' "networks after a refusal"
	assert_eq "$(ls "${d}/networks")" "br0" "network directories after a refusal"
	assert_eq "$(nsx ip -o link show type bridge | awk -F': ' '{print $2}')" "br0" "bridges after a refusal"
	assert_eq "$(pgrep -fc "${d}/networks/.*/dnsmasq.conf")" "1" "dnsmasq processes after a refusal"
}

# Bad requests are refused and leave nothing behind.
test_networks_refusals() {
	local d="${TEST_TMP}/d1"
	net_spawn "${d}"
	net_lxc "${d}" network create br0 ipv4.address=10.88.0.1/24 ipv6.address=none

	assert_fails net_lxc "${d}" network create br1 ipv4.address=10.88.0.1/24
	assert_contains "${FAIL_OUTPUT}" "overlaps"
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create br1 ipv4.address=10.88.0.0/24
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create br1 bogus.key=1
	assert_contains "${FAIL_OUTPUT}" 'invalid network configuration key "bogus.key"'
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create br1 ipv4.nat=maybe
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create br1 ipv4.address=10.89.0.1/24 raw.dnsmasq=no-such-option
	assert_contains "${FAIL_OUTPUT}" "raw.dnsmasq"
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create br1 --type=macvlan
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create lo
	assert_contains "${FAIL_OUTPUT}" "host interface"
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create br0
	assert_contains "${FAIL_OUTPUT}" "already exists"
	net_only_br0 "${d}"
	assert_fails net_lxc "${d}" network create averyverylongname0
	net_only_br0 "${d}"
	code=$(local_curl "${d}" /1.0/networks -X POST -d '{"name":"br1","type":"bridge","config":{"ipv4.dhcp.ranges":"10.1.0.2-10.1.0.9"}}' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "400" "dhcp ranges outside the subnet"
	net_only_br0 "${d}"

	# A bad update changes nothing.
	before=$(local_curl "${d}" /1.0/networks/br0 | jq -c .metadata)
	assert_fails net_lxc "${d}" network set br0 ipv4.address 10.88.0.0/24
	assert_fails net_lxc "${d}" network set br0 bridge.mtu 70000
	assert_eq "$(local_curl "${d}" /1.0/networks/br0 | jq -c .metadata)" "${before}" "network after a bad update"
	assert_contains "$(nsx ip addr show br0)" "inet 10.88.0.1/24"

	# Unmanaged interfaces cannot be changed; unknown networks are 404.
	code=$(local_curl "${d}" /1.0/networks/lo -X PUT -d '{"config":{}}' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "404" "PUT of an unmanaged network"
	code=$(local_curl "${d}" /1.0/networks/nope -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "404" "GET of an unknown network"
	code=$(local_curl "${d}" /1.0/networks/nope -X DELETE -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "404" "DELETE of an unknown network"

	# A network used by a profile's nic can be neither deleted nor renamed (as on LXD).
	net_lxc "${d}" profile device add default eth0 nic network=br0 name=eth0
	assert_eq "$(local_curl "${d}" /1.0/networks/br0 | jq -c .metadata.used_by)" '["/1.0/profiles/default"]' "used_by"
	assert_fails net_lxc "${d}" network delete br0
	assert_contains "${FAIL_OUTPUT}" "/1.0/profiles/default"
	nsx ip link show br0 >/dev/null
	assert_fails net_lxc "${d}" network rename br0 br2
	assert_contains "${FAIL_OUTPUT}" "in use"
	nsx ip link show br0 >/dev/null
	net_lxc "${d}" profile device remove default eth0

	# So does a bridged nic whose parent is the network's bridge.
	net_lxc "${d}" profile device add default eth1 nic nictype=bridged parent=br0 name=eth1
	assert_eq "$(local_curl "${d}" /1.0/networks/br0 | jq -c .metadata.used_by)" '["/1.0/profiles/default"]' "used_by of a parent"
	assert_fails net_lxc "${d}" network delete br0
	net_lxc "${d}" profile device remove default eth1
	net_lxc "${d}" network rename br0 br2
	net_lxc "${d}" network delete br2
}

# Networks come back with the daemon; a kill -9 in the middle of a creation or after a deletion is repaired.
test_networks_restart() {
	local d="${TEST_TMP}/d1"
	net_spawn "${d}"
	net_lxc "${d}" network create br0 ipv4.address=10.66.0.1/24 ipv6.address=none
	net_lxc "${d}" network create br1 ipv4.address=10.67.0.1/24 ipv6.address=none

	# A clean stop stops dnsmasq; the next start brings everything back.
	pid=$(net_dnsmasq_pid "${d}" br0)
	shutdown_lxd "${d}"
	[ ! -d "/proc/${pid}" ] || fail "dnsmasq still runs after the daemon stopped"
	nsx ip link del br0
	nsx nft delete table inet lxd
	spawn_lxd "${d}"
	assert_contains "$(nsx ip addr show br0)" "inet 10.66.0.1/24"
	assert_contains "$(nsx nft list table inet lxd)" "chain pstrt.br1"
	[ -n "$(net_dnsmasq_pid "${d}" br0)" ] || fail "dnsmasq not restarted with the daemon"

	# A network that cannot start is reported Unavailable and the daemon still starts; fixing it brings it back.
	echo "log-queries" >"${d}.extra.conf"
	net_lxc "${d}" network set br0 raw.dnsmasq "conf-file=${d}.extra.conf"
	shutdown_lxd "${d}"
	rm "${d}.extra.conf"
	spawn_lxd "${d}"
	assert_eq "$(local_curl "${d}" /1.0/networks/br0 | jq -r .metadata.status)" "Unavailable" "status of a network that failed to start"
	assert_eq "$(local_curl "${d}" /1.0/networks/br1 | jq -r .metadata.status)" "Created" "status of the other network"
	net_lxc "${d}" network unset br0 raw.dnsmasq
	assert_eq "$(local_curl "${d}" /1.0/networks/br0 | jq -r .metadata.status)" "Created" "status once fixed"
	[ -n "$(net_dnsmasq_pid "${d}" br0)" ] || fail "dnsmasq not started once fixed"

	# A creation killed before it ended (its row still pending) and a deletion killed after the row went.
	kill -9 "$(cat "${d}/lxd.pid")"
	wait "$(cat "${d}/lxd.pid")" 2>/dev/null || true
	rm -f "${d}/lxd.pid" "${d}/unix.socket"
	sqlite3 "${d}/database/local.db" "UPDATE networks SET state = 'pending' WHERE name = 'br0'; DELETE FROM networks WHERE name = 'br1';"
	spawn_lxd "${d}"
	assert_eq "$(local_curl "${d}" /1.0/networks | jq -c '.metadata | map(select(. != "/1.0/networks/lo"))')" '[]' "networks after repair"
	! nsx ip link show br0 >/dev/null 2>&1 || fail "bridge of an interrupted creation left"
	! nsx ip link show br1 >/dev/null 2>&1 || fail "bridge of a deleted network left"
	[ -z "$(ls "${d}/networks")" ] || fail "files left: $(ls "${d}/networks")"
	[ "$(pgrep -fc "${d}/networks/")" = "0" ] || fail "dnsmasq left after repair"
	! nsx nft list table inet lxd >/dev/null 2>&1 || fail "nft table left after repair"

	# The names are free again.
	net_lxc "${d}" network create br0 ipv4.address=10.66.0.1/24 ipv6.address=none
	net_lxc "${d}" network delete br0
}

# net_dhcp DIR NAME: runs busybox's udhcpc on eth0 of a container, with a script that sets the address and the
# resolver it is given, and prints the address.
net_dhcp() {
	local d=$1 name=$2
	lxc_in "${d}" exec "${name}" -- sh -c 'cat >/tmp/udhcpc.sh <<"EOS"
#!/bin/sh
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
	echo "nameserver ${dns%% *}" >/etc/resolv.conf
	;;
esac
EOS
chmod +x /tmp/udhcpc.sh
udhcpc -i eth0 -n -q -t 10 -T 1 -s /tmp/udhcpc.sh >/dev/null 2>&1'
	lxc_in "${d}" exec "${name}" -- ip -4 -o addr show dev eth0 | awk '{print $4}'
}

# Two containers on a managed bridge get their leases from dnsmasq (one dynamic, one static), reach each other and
# the bridge, and resolve each other's names; the leases list them and the network cannot be deleted under them.
test_networks_containers() {
	local d="${TEST_TMP}/d"
	make_netns
	spawn_instance_lxd "${d}"
	on_exit sh -c "for f in '${d}'/networks/*/dnsmasq.pid; do [ -f \"\$f\" ] && kill \$(cat \"\$f\") 2>/dev/null; done; true"
	import_busybox "${d}" bb

	net_lxc "${d}" network create br0 ipv4.address=10.123.0.1/24 ipv6.address=fd42:123::1/64
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" config device add c1 eth0 nic network=br0 name=eth0 >/dev/null
	lxc_in "${d}" config device add c2 eth0 nic network=br0 name=eth0 ipv4.address=10.123.0.50 >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/networks/br0 | jq -c .metadata.used_by)" '["/1.0/instances/c1","/1.0/instances/c2"]' "used_by"

	# Static addresses outside the subnet, on the gateway or held by another nic are refused.
	lxc_in "${d}" init bb c3 >/dev/null
	assert_fails lxc_in "${d}" config device add c3 eth0 nic network=br0 name=eth0 ipv4.address=10.124.0.5
	assert_fails lxc_in "${d}" config device add c3 eth0 nic network=br0 name=eth0 ipv4.address=10.123.0.1
	lxc_in "${d}" start c1
	lxc_in "${d}" start c2
	assert_fails lxc_in "${d}" config device add c3 eth0 nic network=br0 name=eth0 ipv4.address=10.123.0.50
	lxc_in "${d}" delete c3

	hw1=$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["volatile.eth0.hwaddr"]')
	assert_contains "$(cat "${d}/networks/br0/dnsmasq.hosts/c1.eth0")" "${hw1},c1"
	ip1=$(net_dhcp "${d}" c1)
	ip2=$(net_dhcp "${d}" c2)
	[[ "${ip1}" =~ ^10\.123\.0\.[0-9]+/24$ ]] || fail "c1 got no lease: '${ip1}'"
	assert_eq "${ip2}" "10.123.0.50/24" "static lease of c2"

	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.123.0.1 >/dev/null || fail "c1 cannot reach the bridge"
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.123.0.50 >/dev/null || fail "c1 cannot reach c2"
	lxc_in "${d}" exec c2 -- ping -c 1 -W 5 "${ip1%/24}" >/dev/null || fail "c2 cannot reach c1"
	assert_contains "$(lxc_in "${d}" exec c2 -- nslookup c1.lxd 10.123.0.1)" "${ip1%/24}"
	assert_contains "$(lxc_in "${d}" exec c1 -- nslookup c2.lxd 10.123.0.1)" "10.123.0.50"
	lxc_in "${d}" exec c2 -- ping -c 1 -W 5 c1.lxd >/dev/null || fail "c2 cannot reach c1 by name"

	# IPv6 through router advertisements (stateless): the EUI-64 address of the nic, listed with the leases.
	local v6="" i
	for i in $(seq 50); do
		v6=$(lxc_in "${d}" exec c1 -- ip -6 -o addr show dev eth0 scope global | awk '{print $4}')
		[ -n "${v6}" ] && break
		sleep 0.2
	done

	[[ "${v6}" =~ ^fd42:123::[0-9a-f:]+/64$ ]] || fail "c1 got no IPv6 address from the router advertisements: '${v6}'"
	# The address is usable once duplicate address detection is over.
	for i in $(seq 25); do
		lxc_in "${d}" exec c1 -- ping -c 1 -W 1 fd42:123::1 >/dev/null 2>&1 && break
		[ "${i}" -lt 25 ] || fail "c1 cannot reach the bridge over IPv6: $(lxc_in "${d}" exec c1 -- ip -6 addr show dev eth0)"
		sleep 0.2
	done
	assert_contains "$(local_curl "${d}" /1.0/networks/br0/leases | jq -c '.metadata[] | select(.hostname == "c1" and .type == "dynamic") | .address')" "\"${v6%/64}\""

	leases=$(local_curl "${d}" /1.0/networks/br0/leases | jq -c '.metadata | map({hostname, address, type}) | sort_by(.address)')
	assert_contains "${leases}" '{"hostname":"c2","address":"10.123.0.50","type":"static"}'
	assert_contains "${leases}" "{\"hostname\":\"c1\",\"address\":\"${ip1%/24}\",\"type\":\"dynamic\"}"
	assert_contains "$(net_lxc "${d}" network list-leases br0)" "| c2       |"

	assert_fails net_lxc "${d}" network delete br0
	assert_contains "${FAIL_OUTPUT}" "/1.0/instances/c1"
	assert_fails net_lxc "${d}" network rename br0 br1
	assert_fails net_lxc "${d}" network set br0 ipv4.address 10.124.0.1/24
	assert_contains "${FAIL_OUTPUT}" "10.123.0.50"
	assert_contains "$(nsx ip addr show br0)" "inet 10.123.0.1/24"

	lxc_in "${d}" delete -f c1 c2
	[ -z "$(ls "${d}/networks/br0/dnsmasq.hosts")" ] || fail "DHCP host entries left: $(ls "${d}/networks/br0/dnsmasq.hosts")"
	net_lxc "${d}" network delete br0
}

# A daemon killed at any moment of a creation comes back with the network either whole (bridge, address, dnsmasq,
# firewall chains) or gone without a trace.
test_networks_crash_create() {
	local d="${TEST_TMP}/d1" delay pid
	net_spawn "${d}"
	for delay in 0 0.005 0.01 0.02 0.04 0.08 0.15 0.3; do
		local_curl "${d}" /1.0/networks -X POST -d '{"name":"brc","config":{"ipv4.address":"10.44.0.1/24","ipv6.address":"fd42:44::1/64"}}' >/dev/null 2>&1 &
		sleep "${delay}"
		pid=$(cat "${d}/lxd.pid")
		kill -9 "${pid}"
		wait "${pid}" 2>/dev/null || true
		wait 2>/dev/null || true
		rm -f "${d}/lxd.pid"
		spawn_lxd "${d}"

		if local_curl "${d}" /1.0/networks | jq -e '.metadata | index("/1.0/networks/brc")' >/dev/null; then
			assert_eq "$(local_curl "${d}" /1.0/networks/brc | jq -r .metadata.status)" "Created" "status after a kill at ${delay}s"
			assert_contains "$(nsx ip addr show brc)" "inet 10.44.0.1/24"
			assert_contains "$(nsx nft list table inet lxd)" "chain pstrt.brc"
			[ -n "$(net_dnsmasq_pid "${d}" brc)" ] || fail "no dnsmasq after a kill at ${delay}s"
			net_lxc "${d}" network delete brc
		fi

		! nsx ip link show brc >/dev/null 2>&1 || fail "bridge left after a kill at ${delay}s"
		[ ! -e "${d}/networks/brc" ] || fail "files left after a kill at ${delay}s"
		[ "$(pgrep -fc "${d}/networks/brc/")" = "0" ] || fail "dnsmasq left after a kill at ${delay}s"
		! nsx nft list table inet lxd >/dev/null 2>&1 || fail "firewall table left after a kill at ${delay}s"
	done
}

# The stock "lxd init --preseed" makes a bridge with auto addresses and a default profile whose nic uses it.
test_networks_preseed() {
	local d="${TEST_TMP}/d1"
	net_spawn "${d}"
	LXD_DIR="${d}" /usr/bin/lxd init --preseed <<'EOS'
networks:
- name: lxdbr0
  type: bridge
  config:
    ipv4.address: auto
    ipv6.address: none
profiles:
- name: default
  devices:
    eth0:
      name: eth0
      network: lxdbr0
      type: nic
EOS
	show=$(local_curl "${d}" /1.0/networks/lxdbr0 | jq -c .metadata)
	assert_eq "$(jq -c .used_by <<<"${show}")" '["/1.0/profiles/default"]' "used_by after preseed"
	assert_eq "$(jq -r '.config["ipv4.nat"]' <<<"${show}")" "true" "ipv4.nat after preseed"
	assert_eq "$(jq -r '.config["ipv6.address"]' <<<"${show}")" "none" "ipv6.address after preseed"
	assert_contains "$(nsx ip addr show lxdbr0)" "inet $(jq -r '.config["ipv4.address"]' <<<"${show}")"
}

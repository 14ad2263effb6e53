# lxc network: our client against the stock LXD 5.0.2 daemon, next to the stock client: the same output, and changes
# with the same effect. The stock daemon runs in a network namespace of the test's own, where it creates its bridges
# and runs dnsmasq; nothing leaves that namespace.

# network_counters_masked: hides the traffic counters of "lxc network info", which move while an interface is up.
network_counters_masked() {
	sed -E 's/^(  (Bytes|Packets) (received|sent): ).*/\1X/'
}

# network_renamed FROM TO N: replaces a network's name and the third part of its 10.71.N.0/24 and fd42:71:N::/64
# subnets, so that two networks made alike by the two clients compare equal.
network_renamed() {
	sed -E "s/$1/$2/g; s/10\.71\.$3\./10.71.N./g; s/fd42:71:$3:/fd42:71:N:/g"
}

test_lxc_network_stock() {
	local d="${TEST_TMP}/stock"
	make_netns
	spawn_stock_lxd "${d}"

	ours() {
		LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" "$@"
	}

	theirs() {
		LXD_DIR="${d}" stock_lxc "${TEST_TMP}/stock.conf" "$@"
	}

	# same ARGS...: both clients print the same and exit the same way.
	same() {
		local o t orc=0 trc=0
		o=$(ours "$@" 2>&1) || orc=$?
		t=$(theirs "$@" 2>&1) || trc=$?
		assert_eq "${o}" "${t}" "lxc $*"
		assert_eq "${orc}" "${trc}" "exit status of lxc $*"
	}

	# The stock client's first run prints a welcome; it is not part of what is compared.
	theirs network list >/dev/null 2>&1

	# Only the loopback: left out of the table, listed in JSON and YAML.
	same network list
	for f in csv json yaml compact; do
		same network list --format "${f}"
	done

	assert_contains "$(ours network list)" "| NAME | TYPE | MANAGED | IPV4 | IPV6 | DESCRIPTION | USED BY | STATE |"
	same network show lo
	assert_eq "$(ours network info lo | network_counters_masked)" "$(theirs network info lo | network_counters_masked)" "info lo"

	# Managed bridges: ours creates ob0, the stock client sb0, alike; the daemon makes the bridges in the namespace.
	assert_eq "$(ours network create ob0 ipv4.address=10.71.1.1/24 ipv6.address=fd42:71:1::1/64 --type bridge </dev/null)" \
		"Network ob0 created"
	theirs network create sb0 ipv4.address=10.71.2.1/24 ipv6.address=fd42:71:2::1/64 --type bridge </dev/null >/dev/null
	assert_eq "$(theirs network show ob0 | network_renamed ob0 xb0 1)" "$(theirs network show sb0 | network_renamed sb0 xb0 2)" \
		"a network created by ours against one created by the stock client"
	nsx ip link show ob0 >/dev/null || fail "no bridge ob0 in the namespace"
	ours network create ob2 -t bridge ipv4.address=none ipv6.address=none </dev/null >/dev/null
	assert_eq "$(theirs network get ob2 ipv4.address)" "none" "address of a network created with -t"

	# An unmanaged bridge with a port, and a veth pair the stock daemon types "unknown".
	nsx ip link add ubr0 type bridge
	nsx ip link add ve0 type veth peer name ve1
	nsx ip link set ve1 master ubr0

	for f in table csv json yaml compact; do
		same network list --format "${f}"
	done

	same network list local:
	for n in ob0 ob2 ubr0; do
		same network show "${n}"
	done

	same network get ob0 ipv4.address
	same network get ob0 nokey
	same network get ubr0 mtu
	assert_eq "$(ours network get ob0 ipv6.address)" "fd42:71:1::1/64" "get"
	same network info ubr0
	same network info ob2
	assert_eq "$(ours network info ob0 | network_counters_masked)" "$(theirs network info ob0 | network_counters_masked)" "info ob0"
	assert_contains "$(ours network info ubr0)" "  Upper devices: ve1"
	same network list-leases ob0

	# set, unset, edit: the same effect as the stock client's on its own network.
	ours network set ob0 ipv4.dhcp false
	theirs network set sb0 ipv4.dhcp false
	ours network set ob0 dns.domain=x.lan ipv4.nat=false ipv4.dhcp.expiry=2h
	theirs network set sb0 dns.domain=x.lan ipv4.nat=false ipv4.dhcp.expiry=2h
	ours network unset ob0 ipv4.dhcp
	theirs network unset sb0 ipv4.dhcp
	printf 'y.lan' | ours network set ob0 dns.search -
	printf 'y.lan' | theirs network set sb0 dns.search -
	assert_eq "$(theirs network show ob0 | network_renamed ob0 xb0 1)" "$(theirs network show sb0 | network_renamed sb0 xb0 2)" \
		"networks after set and unset"
	assert_eq "$(theirs network get ob0 dns.search)" "y.lan" "value read from stdin"
	assert_eq "$(theirs network get ob0 ipv4.dhcp)" "" "key unset"
	printf 'description: edited\nconfig:\n  ipv4.address: 10.71.1.1/24\n  ipv6.address: none\n' | ours network edit ob0
	printf 'description: edited\nconfig:\n  ipv4.address: 10.71.2.1/24\n  ipv6.address: none\n' | theirs network edit sb0
	assert_eq "$(theirs network show ob0 | network_renamed ob0 xb0 1)" "$(theirs network show sb0 | network_renamed sb0 xb0 2)" \
		"networks after edit from stdin"
	assert_eq "$(theirs network get ob0 dns.domain)" "" "keys left out of the edit are removed"

	# edit in $EDITOR: the same text offered as by the stock client, the change applied.
	printf '#!/bin/sh\ncp "$1" "%s/seen.$(basename "$0")"\nsed -i "s/^description: edited/description: from editor/" "$1"\n' \
		"${TEST_TMP}" >"${TEST_TMP}/ed-ours"
	cp "${TEST_TMP}/ed-ours" "${TEST_TMP}/ed-theirs"
	chmod +x "${TEST_TMP}/ed-ours" "${TEST_TMP}/ed-theirs"
	EDITOR="${TEST_TMP}/ed-ours" script -qec "env LXD_DIR='${d}' LXD_CONF='${TEST_TMP}/ours.conf' '${LXC_BIN}' network edit ob0" /dev/null >/dev/null
	EDITOR="${TEST_TMP}/ed-theirs" script -qec "env LXD_DIR='${d}' LXD_CONF='${TEST_TMP}/stock.conf' /usr/bin/lxc network edit sb0" /dev/null >/dev/null
	assert_eq "$(network_renamed ob0 xb0 1 <"${TEST_TMP}/seen.ed-ours")" "$(network_renamed sb0 xb0 2 <"${TEST_TMP}/seen.ed-theirs")" \
		"the text in the editor"
	assert_contains "$(cat "${TEST_TMP}/seen.ed-ours")" "### This is a YAML representation of the network."
	assert_eq "$(theirs network show ob0 | grep description)" "description: from editor" "edit in the editor"

	# Attach and detach on instances and profiles: the same devices as the stock client's.
	theirs storage create p1 dir >/dev/null
	theirs profile device add default root disk path=/ pool=p1 >/dev/null
	theirs init c1 --empty >/dev/null 2>&1
	theirs init c2 --empty >/dev/null 2>&1
	theirs profile create pa >/dev/null
	theirs profile create pb >/dev/null
	ours network attach ob0 c1
	theirs network attach ob0 c2
	ours network attach ubr0 c1 u0 eth9
	theirs network attach ubr0 c2 u0 eth9
	assert_eq "$(theirs config device show c1)" "$(theirs config device show c2)" "devices attached"
	assert_eq "$(theirs config device get c1 ob0 network)" "ob0" "a managed network is named by the network key"
	assert_eq "$(theirs config device get c1 u0 parent)" "ubr0" "an unmanaged bridge is the parent"
	ours network attach-profile ob0 pa pn eth3
	theirs network attach-profile ob0 pb pn eth3
	assert_eq "$(theirs profile device show pa)" "$(theirs profile device show pb)" "profile devices attached"
	same network show ob0
	same network list
	assert_fails ours network attach ob0 c1
	assert_contains "${FAIL_OUTPUT}" "Error: device already exists: ob0"
	assert_fails ours network attach-profile ob0 pa pn
	assert_contains "${FAIL_OUTPUT}" "Error: device already exists: pn"
	same network attach nonet c1
	same network attach ob0 noinst
	same network attach-profile ob0 noprofile

	# Leases: the static address of c1 and its IPv6 address from the MAC, as the stock client lists them.
	theirs config device set c1 ob0 ipv4.address=10.71.1.50
	for f in table csv json yaml compact; do
		same network list-leases ob0 --format "${f}"
	done

	assert_contains "$(ours network list-leases ob0 -f csv)" ",10.71.1.50,STATIC"
	ours network detach ob0 c1
	theirs network detach ob0 c2
	ours network detach ubr0 c1 u0
	theirs network detach ubr0 c2 u0
	assert_eq "$(theirs config device show c1)" "{}" "devices of c1 after detach"
	assert_eq "$(theirs config device show c2)" "{}" "devices of c2 after detach"
	ours network detach-profile ob0 pa
	theirs network detach-profile ob0 pb
	assert_eq "$(theirs profile device show pa)" "{}" "devices of pa after detach-profile"
	ours network attach ob0 c1 e1
	assert_fails ours network detach ob0 c1 nodev
	assert_contains "${FAIL_OUTPUT}" "Error: the specified device doesn't exist"
	assert_fails ours network detach ob2 c1 e1
	assert_contains "${FAIL_OUTPUT}" "Error: the specified device doesn't match the network"
	assert_fails ours network detach ob2 c1
	assert_contains "${FAIL_OUTPUT}" "Error: no device found for this network"
	assert_fails ours network detach-profile ob0 pa
	assert_contains "${FAIL_OUTPUT}" "Error: no device found for this network"
	ours network detach ob0 c1 e1

	# Rename and delete: the bridge follows.
	assert_eq "$(ours network rename ob0 ob1)" "Network ob0 renamed to ob1"
	assert_eq "$(theirs network get ob1 ipv4.address)" "10.71.1.1/24" "renamed network"
	nsx ip link show ob1 >/dev/null || fail "no bridge ob1 after the rename"
	same network rename ob1 sb0
	same network show ob0
	assert_eq "$(ours network delete ob1)" "Network ob1 deleted"
	assert_eq "$(ours -q network delete ob2)" "" "delete --quiet"
	same network delete ob1
	if nsx ip link show ob1 >/dev/null 2>&1; then
		fail "bridge ob1 left after delete"
	fi

	assert_eq "$(theirs network list -f csv | cut -d, -f1 | tr '\n' ' ')" "sb0 ubr0 " "networks after delete"

	# Bad input: the daemon's refusals as the stock client shows them, and the client's own; nothing changed.
	same network create sb0 </dev/null
	same network create nb --type nodriver </dev/null
	same network set sb0 nokey=1
	same network unset sb0 nokey
	same network info nonet
	same network list-leases lo
	same network list-leases nonet
	assert_fails ours network show a b
	assert_contains "${FAIL_OUTPUT}" "Error: invalid number of arguments"
	same network edit nonet </dev/null
	assert_fails ours network create nb ipv4.address
	assert_contains "${FAIL_OUTPUT}" "Error: bad key/value pair: ipv4.address"
	assert_fails ours network set sb0 a b c
	assert_contains "${FAIL_OUTPUT}" "Error: invalid key=value configuration: a"
	assert_fails ours network set ubr0 mtu 1400
	assert_contains "${FAIL_OUTPUT}" "Error: only managed networks can be modified"
	assert_fails ours network show local:
	assert_contains "${FAIL_OUTPUT}" "Error: missing network name"
	assert_fails ours network list local:sb0
	assert_contains "${FAIL_OUTPUT}" "Error: filtering isn't supported yet"
	assert_fails ours network list -f xml
	assert_contains "${FAIL_OUTPUT}" 'Error: invalid format "xml"'
	assert_fails ours network list-leases sb0 -f xml
	assert_fails ours network get sb0
	assert_contains "${FAIL_OUTPUT}" "Error: invalid number of arguments"
	same network show sb0 --target none
	same network get sb0 ipv4.address --target none
	assert_fails ours network show sb0 --target m1
	assert_contains "${FAIL_OUTPUT}" "Error: cluster member not found"
	assert_fails ours network info sb0 --target none
	assert_contains "${FAIL_OUTPUT}" "Error: to use --target, the destination remote must be a cluster"
	assert_fails ours network create nb --target none
	assert_contains "${FAIL_OUTPUT}" "networks pending on a cluster member are not supported"
	assert_eq "$(theirs network list -f csv | cut -d, -f1 | tr '\n' ' ')" "sb0 ubr0 " "networks after refused changes"

	# A remote over HTTPS, inside the namespace: the same list from both clients.
	theirs config set core.https_address 127.0.0.1:8443
	theirs config set core.trust_password pw
	nsx env LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" remote add s https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	nsx env LXD_CONF="${TEST_TMP}/stock.conf" /usr/bin/lxc remote add s https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	assert_eq "$(nsx env LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" network list s:)" \
		"$(nsx env LXD_CONF="${TEST_TMP}/stock.conf" /usr/bin/lxc network list s:)" "network list s:"
	assert_eq "$(nsx env LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" network show s:sb0)" "$(theirs network show sb0)" "network show s:sb0"
}

# Our client against our daemon, which runs in a namespace of the test's own where it makes its bridges: the same
# output as the stock client's for the same requests, and the changes seen on the bridge, the instances and profiles.
test_lxc_network_ours() {
	local d="${TEST_TMP}/d1"
	make_netns
	mkdir -p "${d}"
	traversable_parents "${d}"
	spawn_lxd "${d}"
	on_exit sh -c "for f in '${d}'/networks/*/dnsmasq.pid; do [ -f \"\$f\" ] && kill \$(cat \"\$f\") 2>/dev/null; done; true"

	ours() {
		lxc_in "${d}" "$@"
	}

	theirs() {
		LXD_DIR="${d}" stock_lxc "${TEST_TMP}/stock.conf" "$@"
	}

	# same ARGS...: both clients print the same and exit the same way.
	same() {
		local o t orc=0 trc=0
		o=$(ours "$@" 2>&1) || orc=$?
		t=$(theirs "$@" 2>&1) || trc=$?
		assert_eq "${o}" "${t}" "lxc $*"
		assert_eq "${orc}" "${trc}" "exit status of lxc $*"
	}

	theirs network list >/dev/null 2>&1
	same network list
	same network list --format json

	# Create: the bridge is made in the namespace only, with the addresses asked for.
	assert_eq "$(ours network create ob0 ipv4.address=10.72.1.1/24 ipv6.address=fd42:72:1::1/64 </dev/null)" "Network ob0 created"
	assert_contains "$(nsx ip addr show ob0)" "inet 10.72.1.1/24"
	if ip link show ob0 >/dev/null 2>&1; then
		fail "bridge ob0 made outside the namespace"
	fi

	nsx ip link add ubr0 type bridge
	for f in table csv json yaml compact; do
		same network list --format "${f}"
	done

	assert_contains "$(ours network list -f csv)" "ob0,bridge,YES,10.72.1.1/24,fd42:72:1::1/64,,0,CREATED"
	assert_contains "$(ours network list -f csv)" "ubr0,bridge,NO,,,,0,"
	for n in ob0 ubr0 lo; do
		same network show "${n}"
	done

	same network get ob0 ipv4.address
	same network get ob0 nokey
	assert_eq "$(ours network info ob0 | network_counters_masked)" "$(theirs network info ob0 | network_counters_masked)" "info ob0"
	assert_contains "$(ours network info ob0)" "  inet	10.72.1.1/24 (global)"
	assert_contains "$(ours network info ob0)" "Bridge:"
	same network info ubr0
	for f in table csv json yaml compact; do
		same network list-leases ob0 --format "${f}"
	done

	assert_contains "$(ours network list-leases ob0 -f csv)" "ob0.gw,,10.72.1.1,GATEWAY"

	# set, unset, edit: seen by the daemon and on the bridge.
	ours network set ob0 dns.domain=x.lan bridge.mtu=1400
	assert_eq "$(local_curl "${d}" /1.0/networks/ob0 | jq -r '.metadata.config["dns.domain"]')" "x.lan" "set KEY=VALUE"
	assert_contains "$(nsx ip link show ob0)" "mtu 1400"
	ours network set ob0 ipv4.dhcp.expiry 2h
	assert_eq "$(theirs network get ob0 ipv4.dhcp.expiry)" "2h" "set KEY VALUE"
	ours network unset ob0 dns.domain
	assert_eq "$(local_curl "${d}" /1.0/networks/ob0 | jq -r '.metadata.config | has("dns.domain")')" "false" "unset"
	assert_eq "$(theirs network get ob0 dns.domain)" "" "unset, seen by the stock client"
	ours network show ob0 | sed 's/^description: .*/description: main/; /^  ipv6.address:/d' | ours network edit ob0
	assert_eq "$(local_curl "${d}" /1.0/networks/ob0 | jq -r .metadata.description)" "main" "edit from stdin"
	assert_eq "$(theirs network get ob0 ipv6.address)" "" "key left out of the edit"
	assert_fails ours network set ubr0 mtu 1400
	assert_contains "${FAIL_OUTPUT}" "Error: only managed networks can be modified"

	# Attach and detach: a nic naming the network on an instance, a bridged nic on a profile.
	import_busybox "${d}" bb
	ours init bb c1 >/dev/null
	ours init bb c2 >/dev/null
	ours profile create pa >/dev/null
	ours network attach ob0 c1 eth0 eth0
	theirs network attach ob0 c2 eth0 eth0
	# A daemon announcing instance_nic_network gets a nic naming the network, any other a bridged nic on it.
	local nic='{"name":"eth0","nictype":"bridged","parent":"ob0","type":"nic"}'
	if local_curl "${d}" /1.0 | jq -e '.metadata.api_extensions | index("instance_nic_network")' >/dev/null; then
		nic='{"name":"eth0","network":"ob0","type":"nic"}'
	fi

	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -c .metadata.devices.eth0)" "${nic}" "nic attached"
	assert_eq "$(local_curl "${d}" /1.0/instances/c2 | jq -c .metadata.devices.eth0)" "${nic}" "nic attached by the stock client"
	assert_eq "$(local_curl "${d}" /1.0/networks/ob0 | jq -c '.metadata.used_by | sort')" '["/1.0/instances/c1","/1.0/instances/c2"]' \
		"used_by"
	ours config device set c1 eth0 ipv4.address=10.72.1.50
	for f in table csv json yaml compact; do
		same network list-leases ob0 --format "${f}"
	done

	assert_contains "$(ours network list-leases ob0 -f csv)" ",10.72.1.50,STATIC"
	same network show ob0
	assert_fails ours network attach ob0 c1 eth0
	assert_contains "${FAIL_OUTPUT}" "Error: device already exists: eth0"
	ours network attach-profile ob0 pa
	assert_eq "$(local_curl "${d}" /1.0/profiles/pa | jq -c .metadata.devices.ob0)" '{"nictype":"bridged","parent":"ob0","type":"nic"}' \
		"nic attached to the profile"
	assert_contains "$(local_curl "${d}" /1.0/networks/ob0 | jq -c .metadata.used_by)" '"/1.0/profiles/pa"' "used_by with the profile"
	same network list
	ours network detach ob0 c1
	ours network detach ob0 c2 eth0
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -c .metadata.devices)" '{}' "devices after detach"
	assert_eq "$(local_curl "${d}" /1.0/instances/c2 | jq -c .metadata.devices)" '{}' "devices after detach by name"
	ours network detach-profile ob0 pa
	assert_eq "$(local_curl "${d}" /1.0/profiles/pa | jq -c .metadata.devices)" '{}' "profile devices after detach"
	assert_fails ours network detach ob0 c1
	assert_contains "${FAIL_OUTPUT}" "Error: no device found for this network"

	# Rename and delete: the bridge follows; bad requests are the daemon's refusals as the stock client shows them.
	assert_eq "$(ours network rename ob0 ob1)" "Network ob0 renamed to ob1"
	nsx ip link show ob1 >/dev/null || fail "no bridge ob1 after the rename"
	same network show ob0
	same network info nonet
	same network list-leases nonet
	same network delete nonet
	assert_eq "$(ours network delete ob1)" "Network ob1 deleted"
	if nsx ip link show ob1 >/dev/null 2>&1; then
		fail "bridge ob1 left after delete"
	fi

	assert_eq "$(ours network list -f csv)" "ubr0,bridge,NO,,,,0," "networks after delete"
}

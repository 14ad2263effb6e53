# lxd init: --auto, --preseed, --dump and the interactive questions, next to stock LXD 5.0.2's own lxd init. Every
# daemon runs in a network namespace of the test's own (one per daemon, as each makes a bridge named lxdbr0): its
# bridges and dnsmasq stay there.

# init_ours DIR ARGS...: our lxd init against the daemon of DIR, run where that daemon runs (lxd init names a new
# bridge after the interfaces of its host).
init_ours() {
	local dir=$1
	shift
	LXD_DIR="${dir}" in_netns_of "${dir}" "${LXD_BIN}" init "$@"
}

# init_stock DIR ARGS...: stock LXD's lxd init against the daemon of DIR, run where that daemon runs.
init_stock() {
	local dir=$1
	shift
	LXD_DIR="${dir}" in_netns_of "${dir}" /usr/bin/lxd init "$@"
}

# init_normalize DIR: a dump read on stdin with what differs between two daemons of the same state (the directory,
# the addresses picked for ipv4.address=auto and ipv6.address=auto) replaced by fixed words.
init_normalize() {
	sed -E -e "s#$1#DIR#g" -e 's#/src-d[0-9]#/src-dN#' -e 's#10\.[0-9]+\.[0-9]+\.1/24#V4#' -e 's#fd42:[0-9a-f:]+::1/64#V6#'
}

# init_preseed_doc SRC: a document with a bridge, a dir pool at SRC and profiles using both.
init_preseed_doc() {
	cat <<EOF
config:
  images.auto_update_interval: 15
networks:
- name: initbr0
  type: bridge
  description: My bridge
  config:
    ipv4.address: 10.201.7.1/24
    ipv6.address: none
storage_pools:
- name: pool1
  driver: dir
  config:
    source: $1
profiles:
- name: default
  devices:
    root:
      path: /
      pool: pool1
      type: disk
- name: p2
  description: "second: profile"
  config:
    limits.cpu: 2
    user.note: "yes"
    user.multi: "a\nb"
  devices:
    eth1:
      type: nic
      network: initbr0
      name: eth1
EOF
}

# Against the stock daemon: ours and stock's --auto give the same state, --dump prints the same bytes, errors are the
# same, a preseed gives the same state, and a preseed that fails leaves the server as it was.
test_lxd_init_stock() {
	local d1="${TEST_TMP}/d1" d2="${TEST_TMP}/d2" f out_ours out_stock
	make_netns
	spawn_stock_lxd "${d1}"
	make_netns
	spawn_stock_lxd "${d2}"

	# A fresh server.
	assert_eq "$(init_ours "${d1}" --dump)" "$(init_stock "${d1}" --dump)" "dump of a fresh server"

	# Flags refused with the stock words, before anything changes.
	for f in "--auto --preseed" "--minimal --auto" "--network-port 5" "--dump --auto" "--auto --storage-backend foo" \
		"--auto --storage-backend zfs" "--auto --storage-pool x" "--auto --network-port 5" "--auto --trust-password x" \
		"--auto --storage-backend btrfs --storage-create-loop 5 --storage-create-device /dev/x"; do
		# shellcheck disable=SC2086
		out_ours=$(init_ours "${d1}" ${f} </dev/null 2>&1) && fail "ours accepted ${f}"
		# shellcheck disable=SC2086
		out_stock=$(init_stock "${d2}" ${f} </dev/null 2>&1) && fail "stock accepted ${f}"
		assert_eq "${out_ours}" "${out_stock}" "error of ${f}"
	done

	assert_eq "$(init_ours "${d1}" --dump)" "$(init_stock "${d2}" --dump)" "dump after refused flags"

	# --auto: a dir pool named default, lxdbr0 with automatic addresses, both on the default profile.
	init_ours "${d1}" --auto
	init_stock "${d2}" --auto
	assert_eq "$(init_ours "${d1}" --dump)" "$(init_stock "${d1}" --dump)" "our dump against stock's"
	assert_eq "$(init_stock "${d1}" --dump | init_normalize "${d1}")" "$(init_stock "${d2}" --dump | init_normalize "${d2}")" \
		"state after our --auto and stock's"
	assert_contains "$(init_stock "${d1}" --dump)" "    ipv4.nat: \"true\""
	nsx ip link show lxdbr0 >/dev/null || fail "no lxdbr0 in the namespace"

	# A second --auto changes nothing; storage flags are refused once a pool exists.
	out_stock=$(init_stock "${d1}" --dump)
	init_ours "${d1}" --auto
	assert_eq "$(init_stock "${d1}" --dump)" "${out_stock}" "state after a second --auto"
	assert_fails init_ours "${d1}" --auto --storage-backend dir
	assert_eq "${FAIL_OUTPUT}" "Error: Storage has already been configured" "storage flags on a configured server"

	# --preseed: created and updated as stock does.
	mkdir -p "${TEST_TMP}/src-d1" "${TEST_TMP}/src-d2"
	init_preseed_doc "${TEST_TMP}/src-d1" | init_ours "${d1}" --preseed
	init_preseed_doc "${TEST_TMP}/src-d2" | init_stock "${d2}" --preseed
	assert_eq "$(init_ours "${d1}" --dump)" "$(init_stock "${d1}" --dump)" "our dump against stock's after a preseed"
	assert_eq "$(init_stock "${d1}" --dump | init_normalize "${d1}")" "$(init_stock "${d2}" --dump | init_normalize "${d2}")" \
		"state after our preseed and stock's"
	assert_contains "$(init_ours "${d1}" --dump)" "  description: 'second: profile'"

	# Bad documents: the same errors, nothing created, nothing changed.
	local before bad
	before=$(init_stock "${d1}" --dump)
	for bad in 'foo: bar' 'config: [1' $'networks:\n- name: x\n  bogus: 1' $'config:\n  bogus.key: 1' 'networks: {}' \
		$'storage_pools:\n- name: pool1\n  driver: btrfs' \
		$'config:\n  images.auto_update_interval: 20\nnetworks:\n- name: initbr1\n  config:\n    ipv4.address: none\n    ipv6.address: none\n- name: initbr0\n  config:\n    ipv4.nat: false\nstorage_pools:\n- name: pool2\n  driver: dir\n- name: pool1\n  driver: dir\n  description: changed\nprofiles:\n- name: p3\n  devices:\n    bad:\n      type: bogus'; do
		out_ours=$(printf '%s' "${bad}" | init_ours "${d1}" --preseed 2>&1) && fail "ours accepted ${bad}"
		out_stock=$(printf '%s' "${bad}" | init_stock "${d2}" --preseed 2>&1) && fail "stock accepted ${bad}"
		assert_eq "${out_ours}" "${out_stock//${d2}/${d1}}" "error of a bad preseed"
		assert_eq "$(init_stock "${d1}" --dump)" "${before}" "state after a bad preseed"
	done

	# A join without a token is refused, nothing changed (joins with a token are in test_cluster_join).
	assert_fails sh -c "printf 'config:\n  images.auto_update_interval: 3\ncluster:\n  enabled: true\n  server_address: 127.0.0.1:9\n  cluster_address: 127.0.0.1:8\n' | LXD_DIR='${d1}' '${LXD_BIN}' init --preseed"
	assert_eq "${FAIL_OUTPUT}" "Error: Failed to join cluster: a join token (cluster_token) is required to join an existing cluster" "join refused"
	assert_eq "$(init_stock "${d1}" --dump)" "${before}" "state after a refused cluster"

	# Interactive: the same questions and the same printed document as stock's (no new pool, a new bridge with a
	# fixed address and no NAT, no IPv6, images not refreshed).
	local answers=$'\nno\n\n\nlxdbr0\ninitbr9\n10.202.8.1/24\nno\nnone\n\nno\nyes\n'
	out_ours=$(printf '%s' "${answers}" | init_ours "${d1}" 2>&1)
	out_stock=$(printf '%s' "${answers}" | init_stock "${d2}" 2>&1)
	assert_eq "${out_ours}" "${out_stock}" "interactive questions and printed preseed"
	assert_contains "${out_ours}" 'The requested network bridge "lxdbr0" already exists. Please choose another name.'
	assert_contains "${out_ours}" "  images.auto_update_interval: \"0\""
	assert_eq "$(init_stock "${d1}" --dump | init_normalize "${d1}")" "$(init_stock "${d2}" --dump | init_normalize "${d2}")" \
		"state after our interactive init and stock's"
	# An existing interface of this host for eth0: a macvlan nic, which the default profile's managed eth0 refuses;
	# the same questions and error as stock's, nothing changed.
	before=$(init_stock "${d1}" --dump)
	answers=$'\nno\n\nno\nyes\nnosuchif0\nlo\n\nno\nno\n'
	out_ours=$(printf '%s' "${answers}" | init_ours "${d1}" 2>&1) && fail "ours accepted a macvlan eth0 over a managed one"
	out_stock=$(printf '%s' "${answers}" | init_stock "${d2}" 2>&1) && fail "stock accepted a macvlan eth0 over a managed one"
	assert_eq "${out_ours}" "${out_stock}" "interactive questions for an existing interface"
	assert_contains "${out_ours}" "The requested interface doesn't exist. Please choose another one."
	assert_eq "$(init_stock "${d1}" --dump)" "${before}" "state after a failed interactive init"
	assert_fails sh -c "printf '\n' | LXD_DIR='${d1}' '${LXD_BIN}' init"
	assert_contains "${FAIL_OUTPUT}" "Error: EOF"
}

# Against our daemon: --auto gives a bridge the default profile attaches containers to, a second run changes nothing,
# a preseed is applied and a failing one undone.
test_lxd_init_ours() {
	local d="${TEST_TMP}/d" before
	make_netns
	SPAWN_BARE=1 spawn_instance_lxd "${d}"
	on_exit sh -c "for f in '${d}'/networks/*/dnsmasq.pid; do [ -f \"\$f\" ] && kill \$(cat \"\$f\") 2>/dev/null; done; true"
	import_busybox "${d}" bb

	# A fresh server, as stock's: no pool, no network, a default profile without devices; a launch fails with
	# stock's words.
	assert_eq "$(init_ours "${d}" --dump | sed '/^projects:/,$d')" \
		$'config: {}\nnetworks: []\nstorage_pools: []\nprofiles:\n- config: {}\n  description: Default LXD profile\n  devices: {}\n  name: default' \
		"dump of a fresh server"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${d}.stock" storage list --format csv)" "" "pools of a fresh server"
	assert_fails lxc_in "${d}" launch bb c0
	assert_contains "${FAIL_OUTPUT}" "No root device could be found"
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | length')" "0" "instances after a launch without a root disk"

	init_ours "${d}" --auto
	local dump
	dump=$(init_ours "${d}" --dump)
	assert_contains "${dump}" $'  name: lxdbr0\n  type: bridge\n  project: default'
	assert_contains "${dump}" $'    eth0:\n      name: eth0\n      network: lxdbr0\n      type: nic'
	assert_contains "${dump}" $'    root:\n      path: /\n      pool: default\n      type: disk'
	assert_eq "$(local_curl "${d}" /1.0/networks/lxdbr0 | jq -r '.metadata.managed')" "true" "lxdbr0 managed"
	init_ours "${d}" --auto
	assert_eq "$(init_ours "${d}" --dump)" "${dump}" "state after a second --auto"

	# A container of the default profile gets its eth0 on lxdbr0.
	lxc_in "${d}" launch bb c1 >/dev/null
	local host
	host=$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["volatile.eth0.host_name"]')
	[ -n "${host}" ] && [ "${host}" != "null" ] || fail "no host side for eth0"
	assert_contains "$(nsx ip -o link show "${host}")" "master lxdbr0"
	lxc_in "${d}" exec c1 -- ip link show eth0 >/dev/null || fail "no eth0 in the container"
	# ...and an address from the bridge's DHCP server (busybox's udhcpc, see net_dhcp), shown by lxc list.
	local addr subnet
	addr=$(net_dhcp "${d}" c1)
	subnet=$(local_curl "${d}" /1.0/networks/lxdbr0 | jq -r '.metadata.config["ipv4.address"]')
	[ -n "${addr}" ] && [ "${addr%.*}" = "${subnet%.*}" ] || fail "address ${addr} not in lxdbr0's ${subnet}"
	assert_contains "$(lxc_in "${d}" list c1 -c 4 --format csv)" "${addr%/*} (eth0)"
	lxc_in "${d}" delete -f c1

	# A preseed creating a network, a dir pool at a source of its own and a profile using both; a failing one undoes
	# its network, its pool and its config change.
	mkdir -p "${TEST_TMP}/src"
	printf 'networks:\n- name: initbr1\n  config:\n    ipv4.address: 10.203.9.1/24\n    ipv6.address: none\nstorage_pools:\n- name: pool1\n  driver: dir\n  config:\n    source: %s\nprofiles:\n- name: p2\n  devices:\n    eth1:\n      type: nic\n      network: initbr1\n      name: eth1\n    root:\n      type: disk\n      path: /\n      pool: pool1\n' "${TEST_TMP}/src" |
		init_ours "${d}" --preseed
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/pool1 | jq -r '.metadata.config.source')" "${TEST_TMP}/src" "preseed pool"
	assert_eq "$(local_curl "${d}" /1.0/networks/initbr1 | jq -r '.metadata.config["ipv4.address"]')" "10.203.9.1/24" "preseed network"
	assert_eq "$(local_curl "${d}" /1.0/profiles/p2 | jq -r '.metadata.devices.eth1.network')" "initbr1" "preseed profile"
	before=$(init_ours "${d}" --dump)
	assert_fails sh -c "printf 'config:\n  images.auto_update_interval: 9\nnetworks:\n- name: initbr2\n  config:\n    ipv4.address: none\n    ipv6.address: none\nstorage_pools:\n- name: pool2\n  driver: dir\nprofiles:\n- name: p3\n  devices:\n    bad:\n      type: bogus\n' | LXD_DIR='${d}' '${LXD_BIN}' init --preseed"
	assert_contains "${FAIL_OUTPUT}" 'Error: Failed to create profile "p3"'
	assert_eq "$(init_ours "${d}" --dump)" "${before}" "state after a failed preseed"
	assert_eq "$(local_curl "${d}" /1.0/networks/initbr2 | jq -r .error_code)" "404" "network of a failed preseed"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/pool2 | jq -r .error_code)" "404" "pool of a failed preseed"
	[ ! -e "${d}/storage-pools/pool2" ] || fail "the directory of a failed preseed's pool is left"

	# Interactive: the server made available on the namespace's loopback with a trust password typed twice (the
	# first pair differing), after a refused address and port.
	local port out
	port=$(free_port)
	out=$(printf 'no\nno\nno\nno\nno\nyes\nfoo\n127.0.0.1\n0\n%s\nsecret\nother\nsecret\nsecret\n\nno\n' "${port}" | init_ours "${d}" 2>&1)
	assert_contains "${out}" 'Invalid input: "foo" is not an IP address'
	assert_contains "${out}" "Invalid input: out of range"
	assert_contains "${out}" "Invalid input, try again."
	assert_eq "$(local_curl "${d}" /1.0 | jq -r '.metadata.config["core.https_address"]')" "127.0.0.1:${port}" "https address"
	assert_eq "$(local_curl "${d}" /1.0 | jq -r '.metadata.config["core.trust_password"]')" "true" "trust password set"
	assert_contains "$(init_ours "${d}" --dump)" "  core.trust_password: true"

	# The stored password survives a preseed that changes another key, and the undoing of a failed one (both send
	# the configuration back with the password masked).
	local hash
	hash=$(LXD_DIR="${d}" "${LXD_BIN}" sql global "SELECT value FROM config WHERE key = 'core.trust_password'")
	[ "$(grep -c '^| [^ ]' <<<"${hash}")" -eq 1 ] || fail "no stored trust password: ${hash}"
	printf 'config:\n  images.auto_update_interval: 5\n' | init_ours "${d}" --preseed
	assert_fails sh -c "printf 'config:\n  images.auto_update_interval: 7\nprofiles:\n- name: p9\n  devices:\n    bad:\n      type: bogus\n' | LXD_DIR='${d}' '${LXD_BIN}' init --preseed"
	assert_eq "$(local_curl "${d}" /1.0 | jq -r '.metadata.config["images.auto_update_interval"]')" "5" "config after a failed preseed"
	assert_eq "$(LXD_DIR="${d}" "${LXD_BIN}" sql global "SELECT value FROM config WHERE key = 'core.trust_password'")" "${hash}" "stored trust password"
}

# Against the stock daemon: --auto with every flag (listener, trust password, a loop pool named by --storage-pool)
# gives the state stock's gives.
test_lxd_init_stock_flags() {
	local d1="${TEST_TMP}/d1" d2="${TEST_TMP}/d2" flags
	make_netns
	spawn_stock_lxd "${d1}"
	make_netns
	spawn_stock_lxd "${d2}"

	flags=(--auto --network-address 127.0.0.1 --network-port 18450 --trust-password secret)
	if LXD_DIR="${d1}" /usr/bin/lxc query /1.0 | jq -e '.environment.storage_supported_drivers[] | select(.Name == "btrfs")' >/dev/null; then
		flags+=(--storage-backend btrfs --storage-create-loop 1 --storage-pool big)
	fi

	init_ours "${d1}" "${flags[@]}"
	init_stock "${d2}" "${flags[@]}"
	assert_eq "$(init_stock "${d1}" --dump | init_normalize "${d1}")" "$(init_stock "${d2}" --dump | init_normalize "${d2}")" \
		"state after our --auto with flags and stock's"
	assert_contains "$(init_ours "${d1}" --dump)" $'config:\n  core.https_address: 127.0.0.1:18450\n  core.trust_password: true'
	if [ "${#flags[@]}" -gt 7 ]; then
		assert_contains "$(init_ours "${d1}" --dump)" $'    size: 1GB\n    source: '"${d1}"$'/disks/big.img\n  description: ""\n  name: big\n  driver: btrfs'
	fi
}

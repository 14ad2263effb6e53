# Network namespaces of the tests' own: daemons started in one reach only each other, on its loopback. The stock LXD
# daemon runs in one, so that nothing it tries to reach on its own (its instance-types refresh) leaves the machine.

# make_netns: creates a namespace with loopback up, sets NETNS to its name, and deletes it when the test ends.
make_netns() {
	NETNS="lxdgo-$$-${RANDOM}"
	ip netns add "${NETNS}"
	ip netns exec "${NETNS}" ip link set lo up
	on_exit ip netns del "${NETNS}"
	export NETNS
}

# netns_prefix prints the command prefix that runs a program in NETNS, or nothing when NETNS is unset.
netns_prefix() {
	if [ -n "${NETNS:-}" ]; then
		echo "ip netns exec ${NETNS}"
	fi
}

# record_netns DIR: notes that the daemon of DIR runs in NETNS (or in the host's namespace when NETNS is unset), for
# in_netns_of.
record_netns() {
	if [ -n "${NETNS:-}" ]; then
		echo "${NETNS}" >"$1.netns"
	else
		rm -f "$1.netns"
	fi
}

# in_netns_of DIR CMD...: runs CMD in the network namespace of the daemon of DIR, as a command run on the host of
# that daemon: what it reads of "this host" (its interfaces, its addresses) is what the daemon sees.
in_netns_of() {
	local dir=$1
	shift
	if [ -f "${dir}.netns" ]; then
		ip netns exec "$(cat "${dir}.netns")" "$@"
	else
		"$@"
	fi
}

# nsx CMD...: runs CMD in NETNS.
nsx() {
	ip netns exec "${NETNS}" "$@"
}

# spawn_stock_lxd DIR: starts the stock LXD 5.0.2 daemon with LXD_DIR=DIR (in NETNS when set) and waits for it.
spawn_stock_lxd() {
	local dir=$1
	mkdir -p "${dir}"
	chmod 711 "${dir}"
	traversable_parents "${dir}"
	# shellcheck disable=SC2046
	LXD_DIR="${dir}" $(netns_prefix) /usr/bin/lxd --logfile "${dir}/stock.log" >/dev/null 2>&1 &
	record_netns "${dir}"
	on_exit sh -c "LXD_DIR='${dir}' /usr/bin/lxd shutdown --timeout 30 >/dev/null 2>&1 || kill -9 $! 2>/dev/null"
	LXD_DIR="${dir}" /usr/bin/lxd waitready --timeout 60
}

# Launch to the first DHCP lease on a managed bridge, each daemon in its own namespace.
# shellcheck shell=bash

bench_lease() {
	local who
	for who in ours stock; do
		lxcw "${who}" network show benchbr >/dev/null 2>&1 ||
			lxcw "${who}" network create benchbr ipv4.address=10.250.7.1/24 ipv4.nat=true ipv6.address=none >/dev/null
	done

	local lease_ours lease_stock
	lease_ours=$(time_lease ours)
	lease_stock=$(time_lease stock)
	{
		table_head
		row "busybox launch to its first DHCP lease on a managed bridge (s)" "${lease_ours}" "${lease_stock}"
	} | emit lease
}

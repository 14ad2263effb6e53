# The same driver for both daemons: a btrfs pool on a loop file of each. A launch from the cached busybox image; a
# copy and a snapshot of a stopped Debian container.
# shellcheck shell=bash

bench_btrfs() {
	local who
	for who in ours stock; do
		ensure_debian "${who}"
		lxcw "${who}" storage create bench-btrfs btrfs size=8GiB >/dev/null
		lxcw "${who}" init bench-debian bench-src -s bench-btrfs >/dev/null
	done

	local launch_ours launch_stock copy_ours copy_stock snap_ours snap_stock
	launch_ours=$(time_launch ours bench-busybox -s bench-btrfs)
	launch_stock=$(time_launch stock bench-busybox -s bench-btrfs)
	copy_ours=$(time_copy ours bench-src bench-btrfs)
	copy_stock=$(time_copy stock bench-src bench-btrfs)
	snap_ours=$(time_snapshot ours bench-src)
	snap_stock=$(time_snapshot stock bench-src)
	for who in ours stock; do
		remove_instance "${who}" bench-src
	done

	{
		table_head
		row "btrfs pool: launch from a cached busybox image (s)" "${launch_ours}" "${launch_stock}"
		row "btrfs pool: copy of a stopped Debian container (s)" "${copy_ours}" "${copy_stock}"
		row "btrfs pool: snapshot of a stopped Debian container (s)" "${snap_ours}" "${snap_stock}"
	} | emit btrfs
}

# Moving instances between the storage pools of one server (lxc move --storage, POST /1.0/instances/<name> with
# migration and pool), through our client and the stock client: root filesystem, snapshots and identity follow,
# nothing is left on the pool moved from, and refused moves change nothing.

test_storage_pools_move() {
	local d="${TEST_TMP}/d1" stock mnt uuid
	stock="${d}.stock"
	spawn_instance_lxd "${d}"
	on_exit unmount_under "${d}"
	import_busybox "${d}" bb
	mnt="${d}/storage-pools/b1"
	lxc_in "${d}" storage create b1 btrfs size=1GiB >/dev/null

	lxc_in "${d}" launch bb c1 >/dev/null
	lxc_in "${d}" exec c1 -- sh -c 'echo moved > /root/state'
	lxc_in "${d}" snapshot c1 s0
	lxc_in "${d}" config set c1 user.note kept
	uuid=$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["volatile.uuid"]')

	# Running: refused, nothing changed.
	assert_fails lxc_in "${d}" move c1 --storage b1
	assert_contains "${FAIL_OUTPUT}" "stop it first"
	lxc_in "${d}" stop -f c1
	# Refusals: a pool that does not exist, the pool the instance is on, a snapshot on its own.
	assert_fails lxc_in "${d}" move c1 --storage nope
	assert_contains "${FAIL_OUTPUT}" 'storage pool "nope" not found'
	assert_fails lxc_in "${d}" move c1 --storage default
	assert_contains "${FAIL_OUTPUT}" 'already on storage pool "default"'
	assert_fails lxc_in "${d}" move c1/s0 --storage b1
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | join(",")')" "/1.0/instances/c1" "instances after refused moves"
	[ -d "${d}/storage-pools/default/containers/c1" ] || fail "c1 left its pool after refused moves"

	# Our client: to the btrfs pool; the root disk becomes a local device there, the rest follows.
	lxc_in "${d}" move c1 --storage b1
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.devices.root.pool')" "b1" "local root disk"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["user.note"]')" "kept" "config after the move"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["volatile.uuid"]')" "${uuid}" "uuid after the move"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots | jq -r '.metadata | join(",")')" "/1.0/instances/c1/snapshots/s0" "snapshots after the move"
	btrfs subvolume show "${mnt}/containers/c1/rootfs" >/dev/null || fail "c1 is not a subvolume of b1"
	[ ! -e "${d}/storage-pools/default/containers/c1" ] || fail "c1 left on the default pool"
	[ ! -e "${d}/storage-pools/default/containers-snapshots/c1" ] || fail "snapshots of c1 left on the default pool"
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | join(",")')" "/1.0/instances/c1" "instances after the move"
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/state)" "moved" "data after the move"
	lxc_in "${d}" stop -f c1

	# The stock client: back to the default pool under a new name; the snapshot restores there.
	LXD_DIR="${d}" stock_lxc "${stock}" move c1 c2 --storage default
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | join(",")')" "/1.0/instances/c2" "instances after the stock move"
	assert_eq "$(local_curl "${d}" /1.0/instances/c2 | jq -r '.metadata.devices.root.pool')" "default" "root disk after the stock move"
	[ -d "${d}/storage-pools/default/containers/c2" ] || fail "c2 is not on the default pool"
	[ ! -e "${mnt}/containers/c1" ] && [ ! -e "${mnt}/containers/c2" ] || fail "storage left on b1"
	LXD_DIR="${d}" stock_lxc "${stock}" restore c2 s0
	LXD_DIR="${d}" stock_lxc "${stock}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /root/state)" "moved" "data of the snapshot after the stock move"
	lxc_in "${d}" delete -f c2

	# The daemon's stop unmounts the loop-backed pool and frees its loop device; its start mounts it again.
	shutdown_lxd "${d}"
	! grep -q " ${mnt} " /proc/self/mountinfo || fail "b1 still mounted after the daemon stopped"
	! losetup -a | grep -q "${d}/disks/b1.img" || fail "loop device of b1 left after the daemon stopped"
	spawn_lxd "${d}"
	grep -q " ${mnt} " /proc/self/mountinfo || fail "b1 not mounted after the daemon started"
	lxc_in "${d}" storage delete b1
}

# A root disk size given by a profile applies to the instances using it when the profile changes, as LXD does.
test_storage_pools_profile_size() {
	local d="${TEST_TMP}/d1" stock
	stock="${d}.stock"
	spawn_instance_lxd "${d}"
	on_exit unmount_under "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" storage create b1 btrfs size=1GiB >/dev/null
	lxc_in "${d}" profile create small >/dev/null
	lxc_in "${d}" profile device add small root disk path=/ pool=b1 size=300MiB >/dev/null
	lxc_in "${d}" launch bb q1 -p small >/dev/null
	lxc_in "${d}" exec q1 -- sh -c 'dd if=/dev/urandom of=/root/big bs=1M count=100 2>/dev/null && sync /root/big'
	lxc_in "${d}" exec q1 -- rm -f /root/big
	lxc_in "${d}" exec q1 -- sync

	# The stock client shrinks the profile's root disk: the running instance's quota follows at once.
	LXD_DIR="${d}" stock_lxc "${stock}" profile device set small root size=50MiB
	assert_fails lxc_in "${d}" exec q1 -- sh -c 'dd if=/dev/urandom of=/root/big bs=1M count=100 2>/dev/null && sync /root/big'
	lxc_in "${d}" exec q1 -- rm -f /root/big
	lxc_in "${d}" delete -f q1
	lxc_in "${d}" profile delete small
	lxc_in "${d}" storage delete b1
}

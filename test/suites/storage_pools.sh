# Storage pools: /1.0/storage-pools through the REST API and the stock client, a dir pool at a chosen source and
# a btrfs pool on a loop file: instances, copies and snapshots on them, deletion refused while in use, nothing
# left after deletion, root disk quotas on btrfs, and a daemon killed during a btrfs instance creation.

# unmount_under DIR: lazily unmounts whatever is still mounted under DIR (a test that failed halfway).
unmount_under() {
	local m
	for m in $(awk -v d="$1/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "${m}" 2>/dev/null || true
	done
}

# pool_subvolumes MNT: the subvolumes of the btrfs file system mounted at MNT, as paths relative to it.
pool_subvolumes() {
	btrfs subvolume list -o "$1" | awk '{print $NF}' | sed 's#^<FS_TREE>/##' | sort
}

# kill_pool_op DIR POINT CMD...: restarts the daemon of DIR to kill itself at the crash point POINT, runs CMD,
# which must not go through, and starts the daemon again.
kill_pool_op() {
	local d=$1 point=$2 pid
	shift 2
	shutdown_lxd "${d}"
	LXD_CRASH_POINT="${point}" spawn_lxd "${d}"
	pid=$(cat "${d}/lxd.pid")
	"$@" >/dev/null 2>&1 && fail "$* went through the crash point ${point}"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	spawn_lxd "${d}"
}

test_storage_pools_dir() {
	local d="${TEST_TMP}/d1" stock src
	stock="${d}.stock"
	src="${TEST_TMP}/elsewhere/p1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	mkdir -p "$(dirname "${src}")"
	traversable_parents "${src}"

	# The implicit default pool is recorded.
	assert_eq "$(local_curl "${d}" /1.0/storage-pools | jq -c .metadata)" '["/1.0/storage-pools/default"]' "pools at start"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default | jq -r .metadata.driver)" "dir" "default driver"
	assert_contains "$(local_curl "${d}" /1.0/storage-pools/default | jq -c .metadata.used_by)" "/1.0/profiles/default"

	# A daemon from before pools were recorded (no row, the default pool on disk with an instance on it): the start
	# records the default pool at its path, and the instance keeps working.
	lxc_in "${d}" launch bb c0
	lxc_in "${d}" exec c0 -- sh -c 'echo old > /root/state'
	LXD_DIR="${d}" "${LXD_BIN}" sql global "DELETE FROM storage_pools" >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/storage-pools | jq -c .metadata)" '[]' "pools without rows"
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default | jq -r .metadata.config.source)" "${d}/storage-pools/default" "default pool recorded"
	assert_contains "$(local_curl "${d}" /1.0/storage-pools/default | jq -c .metadata.used_by)" "/1.0/instances/c0"
	lxc_in "${d}" start c0 2>/dev/null || true
	assert_eq "$(lxc_in "${d}" exec c0 -- cat /root/state)" "old" "instance after the upgrade"
	lxc_in "${d}" delete -f c0

	# Creation by the stock client, at a source of our choosing.
	LXD_DIR="${d}" stock_lxc "${stock}" storage create p1 dir source="${src}"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage list --format csv)" "p1,dir,${src},,0,CREATED"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage get p1 source)" "${src}" "source"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage show p1)" "driver: dir"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage info p1)" "total space:"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1/resources | jq '.metadata.space.total > 0')" "true" "space"

	# Bad input: a clear error and nothing created.
	assert_eq "$(local_curl "${d}" /1.0/storage-pools -X POST -d '{"name": "p2", "driver": "zfs"}' | jq -r .error_code)" "400" "unknown driver"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools -X POST -d "{\"name\": \"p1\", \"driver\": \"dir\"}" | jq -r .error_code)" "409" "existing name"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools -X POST -d "{\"name\": \"p2\", \"driver\": \"dir\", \"config\": {\"source\": \"${src}\"}}" | jq -r .error_code)" "409" "used source"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools -X POST -d '{"name": "p2", "driver": "dir", "config": {"bogus": "1"}}' | jq -r .error_code)" "400" "unknown key"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools | jq -r '.metadata | length')" "2" "pools after bad input"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/nope | jq -r .error_code)" "404" "missing pool"

	# ETag, PUT and PATCH; source cannot change.
	etag=$(local_curl "${d}" /1.0/storage-pools/p1 -D - -o /dev/null | awk 'tolower($1) == "etag:" {print $2}' | tr -d '\r')
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 -X PATCH -H 'If-Match: "nope"' -d '{"description": "x"}' | jq -r .error_code)" "412" "stale etag"
	local_curl "${d}" /1.0/storage-pools/p1 -X PATCH -H "If-Match: ${etag}" -d '{"description": "second pool"}' >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -r .metadata.description)" "second pool" "patched description"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 -X PATCH -d '{"config": {"source": "/elsewhere"}}' | jq -r .error_code)" "400" "source change"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -r .metadata.config.source)" "${src}" "source kept"

	# Instances on the pool: launch (the stock client's -s), copy and snapshot land there.
	LXD_DIR="${d}" stock_lxc "${stock}" launch bb c1 -s p1
	[ -d "${src}/containers/c1" ] || fail "c1 is not on p1"
	[ ! -e "${d}/storage-pools/default/containers/c1" ] || fail "c1 is on the default pool"
	lxc_in "${d}" exec c1 -- sh -c 'echo one > /root/state'
	LXD_DIR="${d}" stock_lxc "${stock}" snapshot c1 s0
	[ -d "${src}/containers-snapshots/c1/s0/rootfs" ] || fail "the snapshot is not on p1"
	lxc_in "${d}" exec c1 -- sh -c 'echo two > /root/state'
	LXD_DIR="${d}" stock_lxc "${stock}" restore c1 s0
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/state)" "one" "restored on p1"
	LXD_DIR="${d}" stock_lxc "${stock}" copy c1 c2
	[ -d "${src}/containers/c2" ] || fail "the copy is not on p1"
	[ -d "${src}/containers-snapshots/c2/s0" ] || fail "the copied snapshot is not on p1"
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /root/state)" "one" "copy content"
	lxc_in "${d}" launch bb c3
	[ -d "${d}/storage-pools/default/containers/c3" ] || fail "c3 is not on the default pool"

	# In use: used_by names the instances, and the deletion is refused naming them.
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -c .metadata.used_by)" '["/1.0/instances/c1","/1.0/instances/c2"]' "used_by"
	out=$(local_curl "${d}" /1.0/storage-pools/p1 -X DELETE)
	assert_eq "$(jq -r .error_code <<<"${out}")" "400" "delete in use"
	assert_contains "$(jq -r .error <<<"${out}")" "/1.0/instances/c1"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage delete p1

	# A profile naming the pool keeps it in use too.
	lxc_in "${d}" profile create onp1
	lxc_in "${d}" profile device add onp1 root disk path=/ pool=p1
	lxc_in "${d}" delete -f c1 c2
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -c .metadata.used_by)" '["/1.0/profiles/onp1"]' "used_by a profile"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage delete p1
	lxc_in "${d}" profile delete onp1

	# A restart keeps the pool and what is on it.
	LXD_DIR="${d}" stock_lxc "${stock}" launch bb c4 -s p1
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -r .metadata.status)" "Created" "status after restart"
	# It was running: the daemon starts it again.
	lxc_in "${d}" start c4 2>/dev/null || true
	lxc_in "${d}" exec c4 -- true

	# A start without the pool's source: the pool is unavailable and its instance stays recorded; with the source
	# back, the next start finds both again.
	lxc_in "${d}" stop -f c4
	shutdown_lxd "${d}"
	mv "${src}" "${src}.away"
	spawn_lxd "${d}"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -r .metadata.status)" "Unavailable" "status without source"
	assert_eq "$(local_curl "${d}" /1.0/instances/c4 | jq -r .metadata.name)" "c4" "instance on an unavailable pool"
	shutdown_lxd "${d}"
	mv "${src}.away" "${src}"
	spawn_lxd "${d}"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -r .metadata.status)" "Created" "status with the source back"
	lxc_in "${d}" start c4
	lxc_in "${d}" exec c4 -- true
	lxc_in "${d}" delete -f c4

	# Deletion: the source is gone, events were sent.
	LXD_DIR="${d}" stock_lxc "${stock}" monitor --type lifecycle --format json >"${d}.events" 2>/dev/null &
	local mon=$!
	sleep 0.5
	LXD_DIR="${d}" stock_lxc "${stock}" storage create p3 dir
	LXD_DIR="${d}" stock_lxc "${stock}" storage set p3 volume.size 1GiB
	LXD_DIR="${d}" stock_lxc "${stock}" storage set p3 user.owner team-a
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage get p3 user.owner)" "team-a" "user key on a pool"
	LXD_DIR="${d}" stock_lxc "${stock}" storage delete p3
	LXD_DIR="${d}" stock_lxc "${stock}" storage delete p1
	[ ! -e "${src}" ] || fail "the source of p1 is left"
	[ ! -e "${d}/storage-pools/p3" ] || fail "the directory of p3 is left"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools | jq -c .metadata)" '["/1.0/storage-pools/default"]' "pools after delete"
	sleep 0.5
	kill "${mon}" 2>/dev/null || true
	wait "${mon}" 2>/dev/null || true
	for action in storage-pool-created storage-pool-updated storage-pool-deleted; do
		grep -q "\"${action}\"" "${d}.events" || fail "no ${action} event"
	done

	lxc_in "${d}" delete -f c3
}

test_storage_pools_btrfs() {
	local d="${TEST_TMP}/d1" stock mnt img
	stock="${d}.stock"
	spawn_instance_lxd "${d}"
	on_exit unmount_under "${d}"
	import_busybox "${d}" bb
	mnt="${d}/storage-pools/b1"
	img="${d}/disks/b1.img"

	LXD_DIR="${d}" stock_lxc "${stock}" storage create b1 btrfs size=2GiB btrfs.mount_options=noatime
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/b1 | jq -r .metadata.config.source)" "${img}" "loop file"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/b1 | jq -r .metadata.config.size)" "2GiB" "size"
	# The server's environment names the drivers in use and offers both.
	assert_eq "$(local_curl "${d}" /1.0 | jq -r '.metadata.environment.storage | split(" | ") | sort | join(",")')" \
		"btrfs,dir" "drivers in use"
	assert_eq "$(local_curl "${d}" /1.0 | jq -r '[.metadata.environment.storage_supported_drivers[].Name] | join(",")')" \
		"btrfs,dir" "supported drivers"
	grep -q " ${mnt} .* - btrfs " /proc/self/mountinfo || fail "b1 is not mounted"
	grep " ${mnt} " /proc/self/mountinfo | grep -q noatime || fail "b1 lacks its mount options"
	LXD_DIR="${d}" stock_lxc "${stock}" storage set b1 btrfs.mount_options=noatime,compress=zstd
	grep " ${mnt} " /proc/self/mountinfo | grep -q "compress=zstd" || fail "b1 was not remounted with its new options"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage set b1 btrfs.mount_options=bogus_option
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/b1 | jq -r '.metadata.config["btrfs.mount_options"]')" "noatime,compress=zstd" "options kept after a refused change"
	losetup -a | grep -q "${img}" || fail "no loop device on ${img}"
	total=$(local_curl "${d}" /1.0/storage-pools/b1/resources | jq .metadata.space.total)
	[ "${total}" -gt $((1800 * 1024 * 1024)) ] || fail "space total ${total}"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools -X POST -d '{"name": "b2", "driver": "btrfs", "config": {"size": "1MiB"}}' | jq -r .error_code)" "400" "tiny size"
	[ ! -e "${d}/disks/b2.img" ] || fail "a refused pool left its loop file"

	# Instances: the base a read-only subvolume, containers and snapshots snapshots of it.
	LXD_DIR="${d}" stock_lxc "${stock}" launch bb c1 -s b1
	base=$(cat "${mnt}/containers/c1/lower")
	assert_eq "$(btrfs property get -ts "${mnt}/images/${base}/rootfs" ro)" "ro=true" "base read-only"
	[ ! -e "${mnt}/containers/c1/upper" ] || fail "c1 is an overlay"
	btrfs subvolume show "${mnt}/containers/c1/rootfs" >/dev/null || fail "c1 is not a subvolume"
	lxc_in "${d}" exec c1 -- sh -c 'echo one > /root/state'
	LXD_DIR="${d}" stock_lxc "${stock}" snapshot c1 s0
	assert_eq "$(btrfs property get -ts "${mnt}/containers-snapshots/c1/s0/rootfs" ro)" "ro=true" "snapshot read-only"
	lxc_in "${d}" exec c1 -- sh -c 'echo two > /root/state'
	LXD_DIR="${d}" stock_lxc "${stock}" restore c1 s0
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/state)" "one" "restored"
	btrfs subvolume show "${mnt}/containers/c1/rootfs" >/dev/null || fail "restored c1 is not a subvolume"
	LXD_DIR="${d}" stock_lxc "${stock}" copy c1 c2
	btrfs subvolume show "${mnt}/containers/c2/rootfs" >/dev/null || fail "the copy is not a subvolume"
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /root/state)" "one" "copy content"
	assert_eq "$(pool_subvolumes "${mnt}" | tr '\n' ' ')" \
		"containers-snapshots/c1/s0/rootfs containers-snapshots/c2/s0/rootfs containers/c1/rootfs containers/c2/rootfs images/${base}/rootfs " "subvolumes"

	# A copy to another pool (the stock client's -s), with its snapshot, and back to btrfs as subvolumes.
	LXD_DIR="${d}" stock_lxc "${stock}" copy c1 x1 -s default
	[ -d "${d}/storage-pools/default/containers/x1/rootfs" ] || fail "x1 is not on the default pool"
	assert_eq "$(cat "${d}/storage-pools/default/containers-snapshots/x1/s0/rootfs/root/state")" "one" "snapshot copied across pools"
	LXD_DIR="${d}" stock_lxc "${stock}" copy x1 x2 -s b1
	btrfs subvolume show "${mnt}/containers/x2/rootfs" >/dev/null || fail "x2 is not a subvolume"
	assert_eq "$(btrfs property get -ts "${mnt}/containers-snapshots/x2/s0/rootfs" ro)" "ro=true" "copied snapshot read-only"
	lxc_in "${d}" start x2
	assert_eq "$(lxc_in "${d}" exec x2 -- cat /root/state)" "one" "content copied back"
	lxc_in "${d}" delete -f x1 x2

	# A root disk size: a 100MB write inside the container fails.
	op=$(local_curl "${d}" /1.0/instances -X POST -d '{"name": "q1", "source": {"type": "image", "alias": "bb"},
		"devices": {"root": {"type": "disk", "path": "/", "pool": "b1", "size": "50MiB"}}}' | jq -r .operation)
	assert_eq "$(local_curl "${d}" "${op}/wait?timeout=60" | jq -r .metadata.status)" "Success" "q1 created"
	lxc_in "${d}" start q1
	lxc_in "${d}" exec q1 -- dd if=/dev/zero of=/root/small bs=1M count=10
	assert_fails lxc_in "${d}" exec q1 -- sh -c 'dd if=/dev/urandom of=/root/big bs=1M count=100 && sync /root/big'
	lxc_in "${d}" exec q1 -- rm -f /root/big
	# A larger size applies at once; the pool of a root disk cannot change.
	LXD_DIR="${d}" stock_lxc "${stock}" config device set q1 root size=300MiB
	lxc_in "${d}" exec q1 -- sh -c 'dd if=/dev/urandom of=/root/big bs=1M count=100 && sync /root/big'
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc config device set q1 root pool=default
	assert_eq "$(local_curl "${d}" /1.0/instances/q1 | jq -r '.metadata.devices.root.pool')" "b1" "root pool kept"
	lxc_in "${d}" delete -f q1
	assert_eq "$(local_curl "${d}" /1.0/instances -X POST -d '{"name": "q2", "source": {"type": "image", "alias": "bb"},
		"devices": {"root": {"type": "disk", "path": "/", "pool": "b1", "size": "lots"}}}' | jq -r .error_code)" "400" "bad size"

	# Killed after the base is unpacked into its subvolume, before it is complete; then killed in the middle of
	# launches: after each restart no subvolume is left that no listed instance or base owns, and everything
	# listed works.
	lxc_in "${d}" delete -f c1 c2
	lxc_in "${d}" image delete bb
	import_busybox "${d}" bb
	shutdown_lxd "${d}"
	LXD_CRASH_POINT=base-unpacked spawn_lxd "${d}"
	pid=$(cat "${d}/lxd.pid")
	LXD_DIR="${d}" stock_lxc "${stock}" launch bb k1 -s b1 >/dev/null 2>&1 && fail "the launch went through the crash point"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	spawn_lxd "${d}"
	assert_eq "$(pool_subvolumes "${mnt}" | wc -l)" "0" "subvolumes after a killed unpack"
	for i in 1 2 3; do
		LXD_DIR="${d}" stock_lxc "${stock}" launch bb "k${i}" -s b1 >/dev/null 2>&1 &
		sleep "0.${i}"
		kill -9 "$(cat "${d}/lxd.pid")"
		wait "$(cat "${d}/lxd.pid")" 2>/dev/null || true
		wait || true
		rm -f "${d}/lxd.pid"
		spawn_lxd "${d}"
		listed=$(local_curl "${d}" /1.0/instances | jq -r '.metadata[]' | xargs -r -n1 basename | sort)
		for name in ${listed}; do
			lxc_in "${d}" start "${name}" 2>/dev/null || true
			lxc_in "${d}" exec "${name}" -- true || fail "${name} is listed but does not work"
		done

		while read -r sv; do
			case "${sv}" in
			images/*/rootfs) [ -f "${mnt}/$(dirname "${sv}")/complete" ] || fail "incomplete base ${sv} left" ;;
			containers/*/rootfs)
				name=$(basename "$(dirname "${sv}")")
				grep -qx "${name}" <<<"${listed}" || fail "subvolume ${sv} of no instance left"
				;;
			*) fail "subvolume ${sv} left" ;;
			esac
		done < <(pool_subvolumes "${mnt}")
	done

	# Killed after the loop file of a new pool is made, and after a pool's storage is removed: the next start
	# removes the pool being created; the half-deleted pool stays listed, unavailable, and its deletion completes.
	kill_pool_op "${d}" storage-pool-created env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage create b3 btrfs size=1GiB
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/b3 | jq -r .error_code)" "404" "pool whose creation was killed"
	[ ! -e "${d}/disks/b3.img" ] || fail "the loop file of a killed creation is left"
	LXD_DIR="${d}" stock_lxc "${stock}" storage create b3 btrfs size=1GiB
	kill_pool_op "${d}" storage-pool-deleted env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage delete b3
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/b3 | jq -r .metadata.status)" "Unavailable" "half-deleted pool"
	LXD_DIR="${d}" stock_lxc "${stock}" storage delete b3
	! grep -q " ${d}/storage-pools/b3 " /proc/self/mountinfo || fail "b3 still mounted"
	! losetup -a | grep -q "${d}/disks/b3.img" || fail "loop device of b3 left"

	# Deletion refused while used, then nothing left: no mount, loop device, loop file or subvolume.
	LXD_DIR="${d}" stock_lxc "${stock}" launch bb k9 -s b1 >/dev/null
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage delete b1
	for name in $(local_curl "${d}" /1.0/instances | jq -r '.metadata[]' | xargs -r -n1 basename); do
		lxc_in "${d}" delete -f "${name}"
	done

	LXD_DIR="${d}" stock_lxc "${stock}" storage delete b1
	! grep -q " ${mnt} " /proc/self/mountinfo || fail "b1 still mounted"
	! losetup -a | grep -q "${img}" || fail "loop device left"
	[ ! -e "${img}" ] || fail "loop file left"
	[ ! -e "${mnt}" ] || fail "mount point left"
}

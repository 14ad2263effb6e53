# Sizes on dir pools. The dir driver sets no project quotas: a root disk or custom volume size= on a dir pool is
# accepted (as LXD 5.0.2 accepts it on a file system without project quotas) and not enforced, and the daemon says
# so: a warning about the pool, recorded once, naming what the pool's file system lacks. The pool under test sits
# on an xfs file system of its own (a loop file), mounted with prjquota where the kernel has xfs quotas.

# xfs_loop_cleanup IMG MNT: lazily unmounts the xfs file system at MNT and detaches the loop devices of IMG (a test
# that failed halfway may leave containers using it).
xfs_loop_cleanup() {
	local img=$1 mnt=$2 dev
	umount -l "${mnt}" 2>/dev/null || true
	for dev in $(losetup -j "${img}" | cut -d: -f1); do
		losetup -d "${dev}" 2>/dev/null || true
	done
}

# pool_warning DIR POOL: prints the last message of the warning about the storage pool POOL, waiting for it a few
# seconds (the daemon records it apart from the change that found it).
pool_warning() {
	local d=$1 pool=$2 msg
	for _ in $(seq 50); do
		msg=$(local_curl "${d}" "/1.0/warnings?recursion=1" |
			jq -r --arg u "/1.0/storage-pools/${pool}" '.metadata[] | select(.entity_url == $u) | .last_message')
		if [ -n "${msg}" ]; then
			echo "${msg}"
			return 0
		fi

		sleep 0.1
	done

	return 1
}

# pool_warning_field DIR POOL FIELD: one field of the warning about the storage pool POOL.
pool_warning_field() {
	local_curl "$1" "/1.0/warnings?recursion=1" |
		jq -r --arg u "/1.0/storage-pools/$2" --arg f "$3" '.metadata[] | select(.entity_url == $u) | .[$f]'
}

test_storage_quota() {
	local d="${TEST_TMP}/d1" stock img mnt loop quotas=1
	stock="${d}.stock"
	if ! grep -qw xfs /proc/filesystems; then
		echo "SKIP: this kernel has no xfs"
		return 0
	fi

	command -v mkfs.xfs >/dev/null || fail "mkfs.xfs is missing: make test-deps installs xfsprogs"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# An xfs file system of the test's own, with project quotas where the kernel has them.
	img="${TEST_TMP}/xfs.img"
	mnt="${TEST_TMP}/xfs"
	truncate -s 1G "${img}"
	mkfs.xfs -q "${img}"
	mkdir -p "${mnt}"
	loop=$(losetup -f --show "${img}")
	on_exit xfs_loop_cleanup "${img}" "${mnt}"
	if ! mount -t xfs -o prjquota "${loop}" "${mnt}" 2>/dev/null; then
		echo "this kernel has no xfs quotas (mount -o prjquota refused); mounting without them"
		quotas=0
		mount -t xfs "${loop}" "${mnt}"
	fi

	traversable_parents "${mnt}/pool"
	LXD_DIR="${d}" stock_lxc "${stock}" storage create q1 dir "source=${mnt}/pool"

	# A root disk size= on the dir pool is accepted, as LXD accepts it, and the container runs.
	lxc_in "${d}" launch bb c1 -s q1 -d root,size=50MiB
	assert_eq "$(lxc_in "${d}" config device get c1 root size)" "50MiB" "root disk size"
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "RUNNING" "container with a root size on a dir pool"

	# The size is not enforced: a write beyond it goes through, and the daemon says why, once, about the pool.
	lxc_in "${d}" exec c1 -- sh -c 'dd if=/dev/zero of=/root/big bs=1M count=100 2>/dev/null && sync'
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %s /root/big)" "104857600" "write beyond an unenforced size"
	lxc_in "${d}" exec c1 -- rm /root/big
	local msg
	msg=$(pool_warning "${d}" q1) || fail "no warning about pool q1: $(local_curl "${d}" "/1.0/warnings?recursion=1")"
	assert_contains "${msg}" 'size limits of volumes on the dir pool "q1" are accepted but not enforced'
	if [ "${quotas}" = 0 ]; then
		assert_contains "${msg}" "the kernel has no project quotas for the xfs file system"
	fi

	assert_eq "$(pool_warning_field "${d}" q1 type)" "Storage pool size limits not enforced" "warning type"
	assert_eq "$(pool_warning_field "${d}" q1 count)" "1" "warning count"
	assert_contains "$(lxc_in "${d}" warning list -f csv -c t)" "Storage pool size limits not enforced"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" warning list -f csv -c t)" "Storage pool size limits not enforced"

	# A larger size is accepted on the running container; the warning is not recorded again.
	lxc_in "${d}" config device set c1 root size=200MiB
	assert_eq "$(lxc_in "${d}" config device get c1 root size)" "200MiB" "root disk size after the change"
	lxc_in "${d}" exec c1 -- sh -c 'dd if=/dev/zero of=/root/big bs=1M count=100 2>/dev/null && sync && rm /root/big'

	# A custom volume with a size, made by the stock client: recorded with its size, usable beyond it.
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume create q1 v1 size=20MiB
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/q1/volumes/custom/v1/state | jq -r .metadata.usage.total)" "20971520" "volume total"
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume attach q1 v1 c1 data /data
	lxc_in "${d}" exec c1 -- sh -c 'dd if=/dev/zero of=/data/f bs=1M count=30 2>/dev/null && sync'
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %s /data/f)" "31457280" "write beyond an unenforced volume size"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume info q1 v1 | grep -c 'Usage:')" "1" "volume info"
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume set q1 v1 size=40MiB
	assert_eq "$(pool_warning_field "${d}" q1 count)" "1" "warning count after more sizes"

	# The day-one flow on the default dir pool (on the test's temporary directory) works, with its own warning.
	LXD_DIR="${d}" stock_lxc "${stock}" init bb c2 -d root,size=1GiB >/dev/null
	msg=$(pool_warning "${d}" default) || fail "no warning about pool default"
	assert_contains "${msg}" 'dir pool "default" are accepted but not enforced'

	# Without a size, a dir pool gets no warning.
	lxc_in "${d}" storage create q2 dir
	lxc_in "${d}" init bb c3 -s q2
	lxc_in "${d}" storage volume create q2 v2
	assert_eq "$(pool_warning_field "${d}" q2 type)" "" "warning about a pool without sizes"

	# A restart keeps the warning; a size set again counts it once more.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(pool_warning_field "${d}" q1 count)" "1" "warning count after a restart"
	lxc_in "${d}" config device set c1 root size=300MiB
	for _ in $(seq 50); do
		[ "$(pool_warning_field "${d}" q1 count)" = 2 ] && break
		sleep 0.1
	done

	assert_eq "$(pool_warning_field "${d}" q1 count)" "2" "warning count after a size set after the restart"

	lxc_in "${d}" delete -f c1 c2 c3
	lxc_in "${d}" storage volume delete q1 v1
	lxc_in "${d}" storage volume delete q2 v2
	lxc_in "${d}" storage delete q1
	lxc_in "${d}" storage delete q2
	assert_eq "$(find "${mnt}" -mindepth 1 | wc -l)" "0" "xfs file system after the pool's deletion"
	umount "${mnt}"
	losetup -d "${loop}"
}

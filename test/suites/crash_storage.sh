# Crash safety of storage changes: the daemon kills itself with SIGKILL at named points of image base removal,
# base unpacking, instance deletion, snapshotting, snapshot deletion, restore and copy (LXD_CRASH_POINT, see
# lxd/storage/tombstones.go), and after each restart every listed object is whole, by content, or absent.

# tree_digest DIR: a digest of bin/ and root/ under DIR (names, types, link targets and file contents, not owners:
# a shifted base or container has other owners), followed by the number of entries in etc/.
tree_digest() {
	local dir=$1 sums
	sums=$(cd "${dir}" && {
		find bin root -printf '%p %y %l\n' | sort
		find bin root -type f -print0 | sort -z | xargs -0 sha256sum
	} | sha256sum | cut -d' ' -f1)
	echo "${sums} $(find "${dir}/etc" -mindepth 1 -maxdepth 1 | wc -l)"
}

# instance_digest DIR NAME: tree_digest of an instance's /bin, /root and /etc as the API serves them.
instance_digest() {
	local d=$1 name=$2 out="${TEST_TMP}/pull"
	rm -rf "${out}"
	mkdir -p "${out}"
	lxc_in "${d}" file pull -r "${name}/etc" "${name}/bin" "${name}/root" "${out}/"
	tree_digest "${out}"
	rm -rf "${out}"
}

# expect_whole DIR NAME [SNAP]: records the content instance NAME has now, as what it (or its new snapshot SNAP)
# must have whenever it is listed.
expect_whole() {
	local d=$1 name=$2 snap=${3:-}
	mkdir -p "${TEST_TMP}/want"
	instance_digest "${d}" "${name}" >"${TEST_TMP}/want/${name}${snap:+@${snap}}"
}

# forget_whole NAME...: instances or snapshots (NAME@SNAP) that are gone.
forget_whole() {
	local n
	for n in "$@"; do
		rm -f "${TEST_TMP}/want/${n}"
	done
}

# check_storage_whole DIR: rows and storage match (check_instances_consistent), every listed instance and snapshot
# has the content recorded for it, no tombstone or orphan is left, and every image base is complete and whole.
check_storage_whole() {
	local d=$1 pool="$1/storage-pools/default" name snap base
	check_instances_consistent "${d}"
	for name in $(local_curl "${d}" /1.0/instances | jq -r '.metadata[]' | xargs -r -n1 basename); do
		[ -f "${TEST_TMP}/want/${name}" ] || fail "instance ${name} is listed but was never completed"
		assert_eq "$(instance_digest "${d}" "${name}")" "$(cat "${TEST_TMP}/want/${name}")" "content of ${name}"
		for snap in $(local_curl "${d}" "/1.0/instances/${name}/snapshots" | jq -r '.metadata[]' | xargs -r -n1 basename); do
			[ -f "${TEST_TMP}/want/${name}@${snap}" ] || fail "snapshot ${name}/${snap} is listed but was never completed"
			assert_eq "$(tree_digest "${pool}/containers-snapshots/${name}/${snap}/rootfs")" \
				"$(cat "${TEST_TMP}/want/${name}@${snap}")" "content of snapshot ${name}/${snap}"
		done
	done

	assert_eq "$(find "${pool}" -maxdepth 3 -name '.deleted-*' | wc -l)" "0" "tombstones left in the pool"
	assert_eq "$(find "${pool}/orphans" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" "0" "storage set aside"
	for base in "${pool}"/images/*; do
		[ -e "${base}" ] || continue
		[ -f "${base}/complete" ] || fail "image base ${base} has no completeness file"
		assert_eq "$(tree_digest "${base}/rootfs" | cut -d' ' -f1)" "$(cut -d' ' -f1 "${TEST_TMP}/want/base")" "content of base ${base}"
	done
}

# kill_lxd DIR: kills the daemon of DIR with SIGKILL and waits for it to go.
kill_lxd() {
	local d=$1 pid
	pid=$(cat "${d}/lxd.pid")
	kill -9 "${pid}"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
}

# crash_at DIR POINT CMD...: restarts the daemon of DIR so that it kills itself at the crash point POINT, runs
# CMD, checks that the daemon died there, starts it again and checks that everything listed is whole.
crash_at() {
	local d=$1 point=$2 pid before
	shift 2
	kill_lxd "${d}"
	before=$(grep -c "killing the daemon at a crash point.*point=${point}\$" "${d}/lxd.log" || true)
	LXD_CRASH_POINT="${point}" spawn_lxd "${d}"
	pid=$(cat "${d}/lxd.pid")
	"$@" >/dev/null 2>&1 && fail "$* went through the crash point ${point}"
	assert_eq "$(grep -c "killing the daemon at a crash point.*point=${point}\$" "${d}/lxd.log" || true)" "$((before + 1))" "crashes at ${point}"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	spawn_lxd "${d}"
	check_storage_whole "${d}"
}

# assert_absent DIR NAME: the instance (or NAME/SNAP snapshot) NAME is gone, with its storage.
assert_absent() {
	local d=$1 name=$2
	assert_eq "$(local_curl "${d}" "/1.0/instances/${name}" | jq -r .error_code)" "404" "${name} after the crash"
}

test_crash_storage_images() {
	local d="${TEST_TMP}/d1" pool fp base
	pool="${d}/storage-pools/default"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	fp=$(local_curl "${d}" /1.0/images/aliases/bb | jq -r .metadata.target)
	lxc_in "${d}" init bb x
	base=$(cat "${pool}/containers/x/lower")
	mkdir -p "${TEST_TMP}/want"
	tree_digest "${pool}/images/${base}/rootfs" >"${TEST_TMP}/want/base"
	expect_whole "${d}" x

	# Killed while the image delete prunes the base, after the base was renamed out of the way: the base is gone
	# (its tombstone removed at start), never kept under its name.
	lxc_in "${d}" delete x
	forget_whole x
	crash_at "${d}" base-delete-entombed lxc_in "${d}" image delete bb
	assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l)" "0" "bases after a killed base removal"
	grep -q "finishing the removal of storage a crash interrupted.*images/.deleted-${base}" "${d}/lxd.log" || fail "the removal of the base is not logged"

	# The image imported again unpacks a whole base.
	import_busybox "${d}" bb
	lxc_in "${d}" init bb y
	expect_whole "${d}" y
	check_storage_whole "${d}"

	# Killed after an unpack (of the unshifted base a privileged instance needs), before its completeness file:
	# neither that base nor the instance is kept.
	lxc_in "${d}" delete y
	forget_whole y
	crash_at "${d}" base-unpacked lxc_in "${d}" init bb z -c security.privileged=true
	assert_absent "${d}" z
	[ ! -e "${pool}/images/${fp}" ] || fail "the base whose unpack was killed is kept"
	lxc_in "${d}" init bb z -c security.privileged=true
	expect_whole "${d}" z
	check_storage_whole "${d}"
	lxc_in "${d}" delete z
	forget_whole z

	# A base truncated under its final name, as an in-place removal cut short left it before tombstones: it lacks
	# its completeness file, no instance uses it, and the start removes it, so a new instance gets a whole one.
	lxc_in "${d}" init bb z
	base=$(cat "${pool}/containers/z/lower")
	lxc_in "${d}" delete z
	[ -d "${pool}/images/${base}" ] || fail "the base of a live image was removed"
	kill_lxd "${d}"
	rm "${pool}/images/${base}/complete"
	find "${pool}/images/${base}/rootfs/bin" -mindepth 1 -name 's*' -delete
	spawn_lxd "${d}"
	grep -q "removing an image base that is not complete.*base=${base}" "${d}/lxd.log" || fail "the truncated base was kept"
	lxc_in "${d}" init bb w
	expect_whole "${d}" w
	check_storage_whole "${d}"
	assert_eq "$(local_curl "${d}" /1.0/images | jq -r '.metadata[0]' | xargs basename)" "${fp}" "image kept"
}

test_crash_storage_instances() {
	local d="${TEST_TMP}/d1" pool
	pool="${d}/storage-pools/default"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb x
	mkdir -p "${TEST_TMP}/want"
	tree_digest "${pool}/images/$(cat "${pool}/containers/x/lower")/rootfs" >"${TEST_TMP}/want/base"
	lxc_in "${d}" delete x

	lxc_in "${d}" launch bb k
	head -c 300000 /dev/urandom >"${TEST_TMP}/data0"
	lxc_in "${d}" file push "${TEST_TMP}/data0" k/root/data
	expect_whole "${d}" k
	lxc_in "${d}" snapshot k s0
	expect_whole "${d}" k s0
	check_storage_whole "${d}"

	# Killed while the running instance is frozen for a snapshot: at start it is thawed and runs, the unfinished
	# snapshot is gone.
	crash_at "${d}" snapshot-frozen lxc_in "${d}" snapshot k s1
	assert_eq "$(lxc_in "${d}" list k --format csv -c s)" "RUNNING" "instance frozen for a killed snapshot"
	lxc_in "${d}" exec k -- true
	assert_absent "${d}" k/snapshots/s1
	grep -q "resuming an instance frozen for a snapshot that a crash interrupted.*instance=k" "${d}/lxd.log" || fail "the thaw is not logged"

	# A pause of the user's own survives a crash.
	lxc_in "${d}" pause k
	kill_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(lxc_in "${d}" list k --format csv -c s)" "FROZEN" "instance paused by its user"
	lxc_in "${d}" resume k
	lxc_in "${d}" exec k -- true

	# Killed after the snapshot's copy, before its rename into place.
	crash_at "${d}" snapshot-copied lxc_in "${d}" snapshot k s1
	assert_absent "${d}" k/snapshots/s1
	assert_eq "$(lxc_in "${d}" list k --format csv -c s)" "RUNNING" "instance after a killed snapshot"

	# Snapshot deletes killed after the row and after the storage's rename: the storage goes, nothing is set aside.
	lxc_in "${d}" stop -f k
	lxc_in "${d}" snapshot k s1
	expect_whole "${d}" k s1
	lxc_in "${d}" snapshot k s2
	expect_whole "${d}" k s2
	crash_at "${d}" snapshot-delete-row-deleted lxc_in "${d}" delete k/s1
	forget_whole k@s1
	assert_absent "${d}" k/snapshots/s1
	crash_at "${d}" snapshot-delete-entombed lxc_in "${d}" delete k/s2
	forget_whole k@s2
	assert_absent "${d}" k/snapshots/s2

	# A snapshot rename killed after the row: completed at start.
	lxc_in "${d}" snapshot k s3
	expect_whole "${d}" k s4
	crash_at "${d}" snapshot-rename-row-renamed lxc_in "${d}" move k/s3 k/s4
	assert_eq "$(local_curl "${d}" /1.0/instances/k/snapshots/s4 | jq -r .metadata.name)" "s4" "snapshot whose rename was killed"
	grep -q "completing an interrupted rename of a snapshot.*from=s3 to=s4" "${d}/lxd.log" || fail "the snapshot rename is not completed"
	lxc_in "${d}" delete k/s4
	forget_whole k@s4

	# Restores killed before and after the exchange of the root filesystem are done again at start.
	head -c 200000 /dev/urandom >"${TEST_TMP}/data1"
	lxc_in "${d}" file push "${TEST_TMP}/data1" k/root/data
	lxc_in "${d}" file push "${TEST_TMP}/data1" k/root/extra
	crash_at "${d}" restore-copied lxc_in "${d}" restore k s0
	grep -q "completing an interrupted restore.*instance=k" "${d}/lxd.log" || fail "the restore is not completed"
	assert_eq "$(lxc_in "${d}" file pull k/root/data - | sha256sum)" "$(sha256sum <"${TEST_TMP}/data0")" "data after the restore"
	lxc_in "${d}" file push "${TEST_TMP}/data1" k/root/data
	crash_at "${d}" restore-exchanged lxc_in "${d}" restore k s0
	assert_eq "$(lxc_in "${d}" file pull k/root/data - | sha256sum)" "$(sha256sum <"${TEST_TMP}/data0")" "data after the second restore"
	assert_eq "$(local_curl "${d}" /1.0/instances/k | jq -r '.metadata.config["volatile.restoring"] // ""')" "" "restore record"

	# Copies killed once their root filesystem is in place: the copy is kept (its copy templates are rendered at its
	# first start), without the snapshots not copied yet.
	cp "${TEST_TMP}/want/k" "${TEST_TMP}/want/k2"
	crash_at "${d}" copy-storage-created lxc_in "${d}" copy k k2
	assert_eq "$(local_curl "${d}" /1.0/instances/k2 | jq -r '.metadata.config["volatile.apply_template"]')" "copy" "templates of the killed copy"
	lxc_in "${d}" delete k2
	crash_at "${d}" copy-snapshot-copied lxc_in "${d}" copy k k2
	assert_eq "$(local_curl "${d}" /1.0/instances/k2 | jq -r .metadata.name)" "k2" "copy killed during its snapshots"
	assert_eq "$(local_curl "${d}" /1.0/instances/k2/snapshots | jq -r '.metadata | length')" "0" "snapshots of the killed copy"
	lxc_in "${d}" delete k2
	forget_whole k2

	lxc_in "${d}" copy k k2
	expect_whole "${d}" k2
	cp "${TEST_TMP}/want/k@s0" "${TEST_TMP}/want/k2@s0"
	check_storage_whole "${d}"

	# Instance deletes killed after the storage's rename to a tombstone, and after its removal: the instance is
	# gone with its snapshots (finding: a half-deleted instance was listed as healthy).
	crash_at "${d}" instance-delete-entombed lxc_in "${d}" delete k
	forget_whole k k@s0
	assert_absent "${d}" k
	grep -q "finishing an interrupted delete.*instance=k" "${d}/lxd.log" || fail "the delete is not finished"
	[ ! -e "${pool}/containers-snapshots/k" ] || fail "snapshots of the deleted instance left"
	crash_at "${d}" instance-delete-removed lxc_in "${d}" delete k2
	forget_whole k2 k2@s0
	assert_absent "${d}" k2
	grep -q "finishing an interrupted delete.*instance=k2" "${d}/lxd.log" || fail "the delete of k2 is not finished"

	# Every name works again.
	lxc_in "${d}" launch bb k
	lxc_in "${d}" snapshot k s0
	lxc_in "${d}" copy k k2
	expect_whole "${d}" k
	expect_whole "${d}" k2
	expect_whole "${d}" k s0
	cp "${TEST_TMP}/want/k@s0" "${TEST_TMP}/want/k2@s0"
	check_storage_whole "${d}"
	lxc_in "${d}" delete -f k k2
	check_storage_whole "${d}"
}

# volume_data_digest DIR: a digest of the names and contents of the files under DIR.
volume_data_digest() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum | sha256sum | cut -d' ' -f1)
}

# sql_column DIR QUERY: the values of the one column QUERY selects from the database of the daemon of DIR, a line
# each.
sql_column() {
	LXD_DIR="$1" "${LXD_BIN}" sql global "$2" | awk -F'|' 'NF > 2 && ++n > 1 {gsub(/ /, "", $2); print $2}'
}

# volume_row_id DIR POOL NAME: the row id of the custom volume NAME of POOL.
volume_row_id() {
	sql_column "$1" "SELECT v.id FROM storage_volumes v JOIN storage_pools p ON p.id = v.storage_pool_id
		WHERE p.name = '$2' AND v.name = '$3' AND v.type = 'custom'"
}

# check_volume_snapshots_whole DIR POOL NAME: the snapshot rows of the custom volume NAME of POOL and its snapshot
# storage match one to one (nothing staged, entombed or orphaned is left, no row lacks its storage), and every listed
# snapshot restores the content recorded for it when it was taken; the volume ends with its current content.
check_volume_snapshots_whole() {
	local d=$1 pool=$2 name=$3 dir id rows files snap now
	dir="${d}/storage-pools/${pool}"
	id=$(volume_row_id "${d}" "${pool}" "${name}")
	rows=$(sql_column "${d}" "SELECT id FROM storage_volumes_snapshots WHERE storage_volume_id = ${id} ORDER BY id" | tr '\n' ' ')
	files=$(find "${dir}/custom-snapshots/${id}" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tr '\n' ' ')
	assert_eq "${files}" "${rows}" "snapshot storage of ${pool}/${name} against its rows"
	assert_eq "$(find "${dir}/custom" -mindepth 1 -maxdepth 1 -printf '%f\n' | tr '\n' ' ')" "${id} " "volumes of ${pool}"
	if [ "$(stat -f -c %T "${dir}")" = "btrfs" ]; then
		assert_eq "$(btrfs subvolume list -o "${dir}" | awk '{print $NF}' | sed 's#^<FS_TREE>/##' | grep -c '^custom')" \
			"$(($(echo "${rows}" | wc -w) + 1))" "subvolumes of ${pool}"
	fi

	# The content the volume has now is kept in a snapshot of its own, restored last.
	now=$(volume_data_digest "${dir}/custom/${id}")
	lxc_in "${d}" storage volume snapshot "${pool}" "${name}" check
	echo "${now}" >"${TEST_TMP}/want/vol-${pool}@check"
	for snap in $(local_curl "${d}" "/1.0/storage-pools/${pool}/volumes/custom/${name}/snapshots" | jq -r '.metadata[]' | xargs -r -n1 basename); do
		[ -f "${TEST_TMP}/want/vol-${pool}@${snap}" ] || fail "snapshot ${pool}/${name}/${snap} is listed but was never completed"
		lxc_in "${d}" storage volume restore "${pool}" "${name}" "${snap}"
		assert_eq "$(volume_data_digest "${dir}/custom/${id}")" "$(cat "${TEST_TMP}/want/vol-${pool}@${snap}")" "restored ${pool}/${name}/${snap}"
	done

	lxc_in "${d}" storage volume restore "${pool}" "${name}" check
	lxc_in "${d}" storage volume delete "${pool}" "${name}/check"
	rm -f "${TEST_TMP}/want/vol-${pool}@check"
	assert_eq "$(volume_data_digest "${dir}/custom/${id}")" "${now}" "content of ${pool}/${name} after the checks"
}

# crash_volume_snapshots DIR POOL: kills the daemon during snapshots of a custom volume of POOL and during their
# deletion, and checks after each restart that rows and storage match and every listed snapshot restores.
crash_volume_snapshots() {
	local d=$1 pool=$2 dir id
	dir="${d}/storage-pools/${pool}"
	mkdir -p "${TEST_TMP}/want"
	lxc_in "${d}" storage volume create "${pool}" v1
	id=$(volume_row_id "${d}" "${pool}" v1)
	head -c 300000 /dev/urandom >"${dir}/custom/${id}/data"
	lxc_in "${d}" storage volume snapshot "${pool}" v1 s0
	volume_data_digest "${dir}/custom/${id}" >"${TEST_TMP}/want/vol-${pool}@s0"
	head -c 200000 /dev/urandom >"${dir}/custom/${id}/data"
	mkdir -p "${dir}/custom/${id}/sub"
	echo more >"${dir}/custom/${id}/sub/f"
	check_volume_snapshots_whole "${d}" "${pool}" v1

	# Killed once the snapshot is copied apart, and once it is in place before its row is committed: the snapshot
	# is not listed and its storage is gone.
	for point in volume-snapshot-copied volume-snapshot-placed; do
		crash_at "${d}" "${point}" lxc_in "${d}" storage volume snapshot "${pool}" v1 s1
		assert_eq "$(local_curl "${d}" "/1.0/storage-pools/${pool}/volumes/custom/v1/snapshots/s1" | jq -r .error_code)" "404" \
			"snapshot killed at ${point}"
		check_volume_snapshots_whole "${d}" "${pool}" v1
	done

	# The name works again.
	lxc_in "${d}" storage volume snapshot "${pool}" v1 s1
	volume_data_digest "${dir}/custom/${id}" >"${TEST_TMP}/want/vol-${pool}@s1"
	check_volume_snapshots_whole "${d}" "${pool}" v1

	# Killed during a snapshot's deletion, between the rename of its storage and its removal: it is gone.
	crash_at "${d}" volume-snapshot-delete-entombed lxc_in "${d}" storage volume delete "${pool}" v1/s1
	rm -f "${TEST_TMP}/want/vol-${pool}@s1"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/${pool}/volumes/custom/v1/snapshots/s1" | jq -r .error_code)" "404" \
		"snapshot whose deletion was killed"
	check_volume_snapshots_whole "${d}" "${pool}" v1

	lxc_in "${d}" storage volume delete "${pool}" v1
	assert_eq "$(find "${dir}/custom" "${dir}/custom-snapshots" -mindepth 1 2>/dev/null | wc -l)" "0" "storage of ${pool} after the deletion"
	rm -f "${TEST_TMP}/want/vol-${pool}@"*
}

test_crash_storage_volume_snapshots() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	on_exit unmount_under "${d}"
	crash_volume_snapshots "${d}" default
	lxc_in "${d}" storage create b1 btrfs size=1GiB
	crash_volume_snapshots "${d}" b1
	lxc_in "${d}" storage delete b1
}

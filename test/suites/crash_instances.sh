# Crash safety of instances: the daemon is killed with SIGKILL while it creates, copies and snapshots instances
# from a Debian image (unpacking and copying it take seconds). After a restart, instance records and instance
# storage match, no unfinished base or copy is left or used, and the same operations work again.

# check_instances_consistent DIR: with the daemon of DIR running, instance rows and storage match one for one (and
# so do snapshot rows and snapshot storage), nothing unfinished is left in the pool, every image base is complete,
# the database passes its integrity check and lxc list works.
check_instances_consistent() {
	local d=$1 pool="$1/storage-pools/default" rows dirs name snaps snapdirs
	rows=$(local_curl "${d}" /1.0/instances | jq -r '.metadata[]' | xargs -r -n1 basename | sort | tr '\n' ' ')
	dirs=$(find "${pool}/containers" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')
	assert_eq "${dirs}" "${rows}" "instance storage against instance rows"
	for name in ${rows}; do
		[ -f "${pool}/containers/${name}/lower" ] || fail "storage of ${name} is incomplete"
		snaps=$(local_curl "${d}" "/1.0/instances/${name}/snapshots" | jq -r '.metadata[]' | xargs -r -n1 basename | sort | tr '\n' ' ')
		snapdirs=""
		if [ -d "${pool}/containers-snapshots/${name}" ]; then
			snapdirs=$(find "${pool}/containers-snapshots/${name}" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')
		fi

		assert_eq "${snapdirs}" "${snaps}" "snapshot storage of ${name} against its snapshot rows"
	done

	assert_eq "$(find "${pool}" -maxdepth 3 -name '.tmp-*' | wc -l)" "0" "unfinished directories in the pool"
	for base in "${pool}"/images/*; do
		[ -e "${base}" ] || continue
		[ -d "${base}/rootfs/etc" ] && [ -e "${base}/rootfs/bin" ] || fail "incomplete image base ${base}"
	done

	assert_eq "$(sqlite3 "${d}/database/local.db" 'PRAGMA integrity_check')" "ok" "database integrity"
	assert_eq "$(sqlite3 "${d}/database/local.db" 'PRAGMA foreign_key_check')" "" "foreign keys"
	lxc_in "${d}" list --format csv -c n >/dev/null
}

# kill_when DIR GLOB CMD...: runs CMD in the background, kills the daemon of DIR with SIGKILL shortly after a path
# matching GLOB appears (the operation is under way), restarts the daemon and checks its state.
kill_when() {
	local d=$1 glob=$2 pid
	shift 2
	"$@" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		# shellcheck disable=SC2086
		compgen -G "${glob}" >/dev/null && break
		sleep 0.05
	done

	compgen -G "${glob}" >/dev/null || fail "the operation never reached ${glob}"
	sleep 0.1
	kill -9 "$(cat "${d}/lxd.pid")"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	spawn_lxd "${d}"
	check_instances_consistent "${d}"
}

test_crash_instances() {
	local d="${TEST_TMP}/d1" debian pool
	pool="${d}/storage-pools/default"
	debian=$("${TEST_DIR}/deps/debian-image.sh")
	spawn_instance_lxd "${d}"
	lxc_in "${d}" image import "${debian}/unified.tar.gz" --alias deb >/dev/null

	# The import wrote the base of the default profile's unprivileged containers; a privileged container's base is
	# unpacked by its first init. Killed while it unpacks: the instance and the unfinished base are removed.
	kill_when "${d}" "${pool}/images/.tmp-*" lxc_in "${d}" init deb c1 -c security.privileged=true
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r .error_code)" "404" "instance whose init was killed"
	assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l) $(find "${pool}/images" -mindepth 1 -maxdepth 1 -name '*.shifted-*' | wc -l)" \
		"1 1" "bases after a killed unpack (only the shifted one the import wrote)"
	grep -q "removing an instance whose creation did not finish.*instance=c1" "${d}/lxd.log" || fail "the removal of c1 is not logged"

	# The same name and image work afterwards.
	lxc_in "${d}" init deb c1
	assert_eq "$(cat "${pool}/containers/c1/upper/etc/hostname")" "c1" "hostname of c1"

	# Killed while copying the whole root filesystem: the copy is removed, the source is untouched.
	kill_when "${d}" "${pool}/containers/.tmp-*" lxc_in "${d}" copy c1 c2
	assert_eq "$(local_curl "${d}" /1.0/instances/c2 | jq -r .error_code)" "404" "instance whose copy was killed"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r .metadata.name)" "c1" "source of the killed copy"

	# Killed while snapshotting: the snapshot is removed.
	kill_when "${d}" "${pool}/containers-snapshots/c1/.tmp-*" lxc_in "${d}" snapshot c1 s0
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots/s0 | jq -r .error_code)" "404" "snapshot whose copy was killed"

	# Every operation works again with the same names, and a new launch of the image runs.
	lxc_in "${d}" snapshot c1 s0
	lxc_in "${d}" copy c1 c2
	assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata | length')" "1" "snapshots of the copy"
	lxc_in "${d}" launch deb c3
	assert_eq "$(lxc_in "${d}" list c3 --format csv -c s)" "RUNNING" "launch after the crashes"
	check_instances_consistent "${d}"

	# Killed while deleting an instance that has a snapshot (a full copy of the Debian root, so the removal takes a
	# while): at whatever moment the kill lands, c2 is then either whole or gone, never listed without its files.
	local etc pid
	etc=$(find "${pool}/containers/c2/rootfs/etc" | wc -l)
	lxc_in "${d}" delete c2 >/dev/null 2>&1 &
	pid=$!
	sleep 0.3
	kill -9 "$(cat "${d}/lxd.pid")"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	spawn_lxd "${d}"
	check_instances_consistent "${d}"
	if [ "$(local_curl "${d}" /1.0/instances/c2 | jq -r .error_code)" != "404" ]; then
		assert_eq "$(find "${pool}/containers/c2/rootfs/etc" | wc -l)" "${etc}" "/etc of c2 after a killed delete"
		assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata | length')" "1" "snapshots of c2 after a killed delete"
		lxc_in "${d}" delete c2
	fi

	check_instances_consistent "${d}"
	lxc_in "${d}" delete -f c1 c3
	check_instances_consistent "${d}"
}

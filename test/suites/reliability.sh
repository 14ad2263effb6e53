# Crash safety and concurrency: the store stays consistent whatever moment the daemon is killed at, and concurrent
# clients lose nothing.

# With LXD_RACE_BIN set (make test-race), every test runs a daemon built with the race detector, through a wrapper
# that appends the daemon's standard error, where the detector reports, to the daemon log: check_log then fails a
# test whose daemon had a data race.
if [ -n "${LXD_RACE_BIN:-}" ]; then
	LXD_BIN="${LXD_RACE_BIN}.logged"
	cat >"${LXD_BIN}" <<EOF
#!/bin/sh
case "\${1:-}" in
-*) [ -n "\${LXD_DIR:-}" ] && exec "${LXD_RACE_BIN}" "\$@" 2>>"\${LXD_DIR}/lxd.log" ;;
esac
exec "${LXD_RACE_BIN}" "\$@"
EOF
	chmod +x "${LXD_BIN}"
fi

# check_store_consistent DIR: every listed image's files hash to its fingerprint, no file is left that no image
# records, no upload is left half-way, and the database passes its integrity check.
check_store_consistent() {
	local d=$1 fp file listed
	listed=$(local_curl "${d}" /1.0/images | jq -r '.metadata[]' | xargs -r -n1 basename | sort)
	for fp in ${listed}; do
		if [ -e "${d}/images/${fp}.rootfs" ]; then
			got=$(cat "${d}/images/${fp}" "${d}/images/${fp}.rootfs" | sha256sum | cut -d' ' -f1)
		else
			got=$(sha256sum "${d}/images/${fp}" | cut -d' ' -f1)
		fi

		assert_eq "${got}" "${fp}" "content of image ${fp}"
		if [ ! -e "${d}/images/${fp}.rootfs" ]; then
			assert_eq "$(local_curl "${d}" "/1.0/images/${fp}/export" | sha256sum | cut -d' ' -f1)" "${fp}" "export of image ${fp}"
		fi
	done

	for file in "${d}"/images/*; do
		[ -e "${file}" ] || continue
		fp=$(basename "${file}" .rootfs)
		# A here-string, not a pipe: with pipefail, grep -q ending first could fail the pipe.
		grep -qx "${fp}" <<<"${listed}" || fail "file ${file} belongs to no image"
	done

	assert_eq "$(ls -A "${d}/images/.tmp")" "" "unfinished uploads"
	assert_eq "$(sqlite3 "${d}/database/local.db" 'PRAGMA integrity_check')" "ok" "database integrity"
}

test_reliability_kill_during_imports() {
	local d="${TEST_TMP}/d1" fixtures debian
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	debian=$("${TEST_DIR}/deps/debian-image.sh")
	spawn_lxd "${d}"

	local files=("${debian}/unified.tar.gz" "${debian}/unified.tar.xz" "${fixtures}/unified.tar.gz" "${fixtures}/unified.tar.zst")
	for round in 1 2 3 4 5 6; do
		# Uploads in flight, then a kill -9 at a different moment each round.
		local uploads=()
		for f in "${files[@]}"; do
			local_curl "${d}" /1.0/images -X POST --data-binary "@${f}" -o /dev/null 2>/dev/null &
			uploads+=($!)
		done

		sleep "0.$((round * 15))"
		kill -9 "$(cat "${d}/lxd.pid")"
		wait "${uploads[@]}" 2>/dev/null || true
		rm -f "${d}/lxd.pid"
		spawn_lxd "${d}"
		check_store_consistent "${d}"
	done

	# Whatever survived, every image can still be deleted and imported again.
	for fp in $(local_curl "${d}" /1.0/images | jq -r '.metadata[]' | xargs -r -n1 basename); do
		op=$(local_curl "${d}" "/1.0/images/${fp}" -X DELETE | jq -r .operation)
		local_curl "${d}" "${op}/wait?timeout=30" >/dev/null
	done

	out=$(local_curl "${d}" /1.0/images -X POST --data-binary "@${fixtures}/unified.tar.gz" | jq -r .operation)
	assert_eq "$(local_curl "${d}" "${out}/wait?timeout=30" | jq -r .metadata.status)" "Success" "import after the crashes"
	check_store_consistent "${d}"
}

test_reliability_concurrent_imports_and_lists() {
	local d="${TEST_TMP}/d1" work="${TEST_TMP}/tiny"
	spawn_lxd "${d}"
	mkdir -p "${work}/rootfs"

	# 20 distinct small images.
	for i in $(seq 20); do
		printf 'architecture: x86_64\ncreation_date: %d\nproperties:\n  description: tiny %d\n' "$((1700000000 + i))" "${i}" \
			>"${work}/metadata.yaml"
		tar -C "${work}" -czf "${work}/img${i}.tar.gz" metadata.yaml rootfs
	done

	# 20 imports and 20 lists at once; every one must succeed. (A bare "wait" would wait for the daemon too.)
	local pids=()
	for i in $(seq 20); do
		(
			op=$(local_curl "${d}" /1.0/images -X POST --data-binary "@${work}/img${i}.tar.gz" | jq -r .operation)
			local_curl "${d}" "${op}/wait?timeout=60" | jq -r .metadata.status >"${work}/import${i}.status"
		) &
		pids+=($!)
		(local_curl "${d}" '/1.0/images?recursion=1' | jq -r .type >"${work}/list${i}.status") &
		pids+=($!)
	done

	wait "${pids[@]}"
	for i in $(seq 20); do
		assert_eq "$(cat "${work}/import${i}.status")" "Success" "import ${i}"
		assert_eq "$(cat "${work}/list${i}.status")" "sync" "list ${i}"
	done

	assert_eq "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" "20" "images after concurrent imports"
	check_store_consistent "${d}"
}

# 20 launches at once from one image whose base is not unpacked yet, with lists and state reads alongside: every
# launch succeeds, every container runs, and deleting them all leaves no row, storage or mount.
test_reliability_parallel_launches() {
	local d="${TEST_TMP}/d1" work="${TEST_TMP}/par" i
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	mkdir -p "${work}"

	local pids=()
	for i in $(seq 20); do
		(lxc_in "${d}" launch bb "p${i}" >"${work}/launch${i}.log" 2>&1 && echo ok >"${work}/launch${i}.status") &
		pids+=($!)
		(local_curl "${d}" '/1.0/instances?recursion=1' | jq -r .type >"${work}/list${i}.status") &
		pids+=($!)
	done

	wait "${pids[@]}"
	for i in $(seq 20); do
		[ -e "${work}/launch${i}.status" ] || fail "launch ${i} failed: $(cat "${work}/launch${i}.log")"
		assert_eq "$(cat "${work}/list${i}.status")" "sync" "list ${i}"
	done

	assert_eq "$(lxc_in "${d}" list -c s -f csv | sort | uniq -c | sed 's/^ *//')" "20 RUNNING" "states after parallel launches"
	assert_eq "$(find "${d}/storage-pools/default/images" -mindepth 1 -maxdepth 1 -name '*.shifted-*' | wc -l)" "1" "bases unpacked"

	pids=()
	for i in $(seq 20); do
		lxc_in "${d}" delete -f "p${i}" &
		pids+=($!)
	done

	wait "${pids[@]}"
	for i in $(seq 20); do
		assert_no_instance "${d}" "p${i}"
	done

	assert_eq "$(instance_mounts "${d}")" "0" "mounts left"
	assert_eq "$(sqlite3 "${d}/database/local.db" 'PRAGMA integrity_check')" "ok" "database integrity"
}

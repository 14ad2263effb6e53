# Malformed images: every one is refused with a clear error, and nothing is stored or written anywhere.

# store_listing DIR: every path under the daemon directory, except the database and log files that change anyway.
store_listing() {
	(cd "$1" && find . -path ./database -prune -o -name 'lxd.*' -prune -o -print | sort)
}

# outside_listing: what the corpus's escapes aim at: the host's account files, and the directories above the store.
outside_listing() {
	sha256sum /etc/passwd /etc/shadow /etc/hostname
	ls -A / /etc "${TEST_TMP}" "${TEST_TMP}/d1"
}

test_image_corpus() {
	local d="${TEST_TMP}/d1" corpus="${TEST_TMP}/corpus"
	spawn_lxd "${d}"
	(cd "${MAIN_DIR}" && IMAGES_CORPUS_DIR="${corpus}" go test -tags libsqlite3 -count=1 -run '^TestMalformedCorpus$' ./lxd/images >/dev/null)
	count=$(find "${corpus}" -name '*.expect' | wc -l)
	[ "${count}" -ge 25 ] || fail "corpus has ${count} images, want at least 25"

	before=$(store_listing "${d}")
	outside_before=$(outside_listing)
	for expect in "${corpus}"/*.expect; do
		name=$(basename "${expect}" .expect)
		base="${corpus}/${name}"
		headers=()
		if [ -f "${base}.fingerprint" ]; then
			headers=(-H "X-LXD-fingerprint: $(cat "${base}.fingerprint")")
		fi

		if [ -f "${base}.img" ]; then
			code=$(local_curl "${d}" /1.0/images -X POST "${headers[@]}" -H 'Content-Type: application/octet-stream' \
				--data-binary "@${base}.img" -o "${corpus}/.response" -w '%{http_code}')
		else
			code=$(local_curl "${d}" /1.0/images -X POST "${headers[@]}" -F "metadata=@${base}.meta" \
				-F "rootfs=@${base}.rootfs" -o "${corpus}/.response" -w '%{http_code}')
		fi

		assert_eq "${code}" "400" "status for ${name}"
		assert_contains "$(jq -r .error "${corpus}/.response")" "$(cat "${expect}")" "error for ${name}"
	done

	assert_eq "$(store_listing "${d}")" "${before}" "daemon directory after the corpus"
	assert_eq "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" "0" "images after the corpus"
	assert_eq "$(outside_listing)" "${outside_before}" "files the corpus aims at, outside the store"

	# The stock client shows the refusal and exits non-zero.
	local one
	one=$(find "${corpus}" -name '*.img' -print -quit)
	assert_fails env LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image import "${one}"
	assert_contains "${FAIL_OUTPUT}" "Error:"
}

test_image_store_crash_leftovers() {
	local d="${TEST_TMP}/d1" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	spawn_lxd "${d}"
	fp=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	local_curl "${d}" /1.0/images -X POST --data-binary "@${fixtures}/unified.tar.gz" >/dev/null
	for _ in $(seq 50); do
		[ "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" = "1" ] && break
		sleep 0.1
	done

	shutdown_lxd "${d}"

	# What a crash can leave: an upload in progress, and files whose row was never written.
	orphan=$(printf '%064d' 7)
	echo partial >"${d}/images/.tmp/upload-partial"
	echo orphan >"${d}/images/${orphan}"
	echo orphan >"${d}/images/${orphan}.rootfs"
	spawn_lxd "${d}"

	assert_eq "$(ls -A "${d}/images/.tmp")" "" "temporary files after restart"
	[ ! -e "${d}/images/${orphan}" ] || fail "orphan image file kept"
	[ ! -e "${d}/images/${orphan}.rootfs" ] || fail "orphan rootfs file kept"
	cmp "${d}/images/${fp}" "${fixtures}/unified.tar.gz"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.fingerprint)" "${fp}"
	assert_eq "$(sqlite3 "${d}/database/local.db" 'PRAGMA integrity_check')" "ok"
}

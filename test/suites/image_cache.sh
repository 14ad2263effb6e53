# Cached images (pulled to create instances) unused for images.remote_cache_expiry days are pruned.

test_image_cache_prune() {
	local d="${TEST_TMP}/d1" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	spawn_lxd "${d}"
	old=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	recent=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	mine=$(sha256sum "${fixtures}/unified.tar.bz2" | cut -d' ' -f1)
	for f in unified.tar.gz unified.tar.xz unified.tar.bz2; do
		LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image import "${fixtures}/${f}" >/dev/null
	done

	lxc_in "${d}" config set images.remote_cache_expiry 5
	shutdown_lxd "${d}"

	# Two cached images, one unused for 6 days and one used 2 days ago, and an old image of the user's own.
	ago() {
		date -u -d "-$1 days" +%Y-%m-%dT%H:%M:%S.000000000Z
	}

	sqlite3 "${d}/database/local.db" "
		UPDATE images SET cached = 1, last_use_date = '$(ago 6)' WHERE fingerprint = '${old}';
		UPDATE images SET cached = 1, last_use_date = '$(ago 2)' WHERE fingerprint = '${recent}';
		UPDATE images SET upload_date = '$(ago 60)' WHERE fingerprint = '${mine}';"
	spawn_lxd "${d}"

	for _ in $(seq 50); do
		[ "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" = "2" ] && break
		sleep 0.1
	done

	list=$(local_curl "${d}" /1.0/images | jq -r '.metadata[]')
	case "${list}" in *"${old}"*) fail "an expired cached image was kept" ;; esac
	assert_contains "${list}" "${recent}"
	assert_contains "${list}" "${mine}"
	[ ! -e "${d}/images/${old}" ] || fail "the files of the pruned image were kept"
	assert_eq "$(local_curl "${d}" "/1.0/images/${recent}" | jq -r .metadata.cached)" "true"
}

# A full Debian root filesystem as an image: the larger case for import, export and delete.

test_image_large_debian() {
	local d="${TEST_TMP}/d1" fixtures
	fixtures=$("${TEST_DIR}/deps/debian-image.sh")
	spawn_lxd "${d}"

	for image in "unified.tar.xz" "meta.tar.xz rootfs.tar.gz"; do
		# shellcheck disable=SC2086
		set -- ${image}
		for f in "$@"; do
			cat "${fixtures}/${f}"
		done | sha256sum | cut -d' ' -f1 >"${TEST_TMP}/fp"
		fp=$(cat "${TEST_TMP}/fp")
		files=()
		for f in "$@"; do
			files+=("${fixtures}/${f}")
		done

		out=$(LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image import "${files[@]}" --alias "debian-$#")
		assert_contains "${out}" "Image imported with fingerprint: ${fp}"
		assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.properties.os)" "debian"

		mkdir -p "${TEST_TMP}/export-$#"
		(cd "${TEST_TMP}/export-$#" && LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image export "debian-$#" out >/dev/null)
		if [ "$#" = 1 ]; then
			cmp "${TEST_TMP}/export-1/out.tar.xz" "${fixtures}/unified.tar.xz"
		else
			cmp "${TEST_TMP}/export-2/out" "${fixtures}/meta.tar.xz"
			cmp "${TEST_TMP}/export-2/out.root" "${fixtures}/rootfs.tar.gz"
		fi
	done

	for alias in debian-1 debian-2; do
		LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image delete "${alias}"
	done

	assert_eq "$(find "${d}/images" -type f | wc -l)" "0" "image files after delete"
}

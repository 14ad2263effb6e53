# Images as third-party tools write them, and copies onto an image the store already holds.

# build_absolute_image DIR OUT: writes to OUT a gzip unified image of the busybox fixture made by GNU tar with absolute
# member names ("/", "/metadata.yaml", "/rootfs/…", hard link targets too; symlink targets left alone), with stray
# top-level files no layout uses, a marker file and a hard link to it in the rootfs.
build_absolute_image() {
	local build=$1 out=$2 fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	mkdir -p "${build}"
	cp -a "${fixtures}/meta/." "${build}/"
	cp -a "${fixtures}/rootfs" "${build}/rootfs"
	echo "made by GNU tar" >"${build}/rootfs/etc/compat-marker"
	ln "${build}/rootfs/etc/compat-marker" "${build}/rootfs/etc/compat-link"
	echo "stray readme" >"${build}/README"
	echo '{"stray": true}' >"${build}/manifest.json"
	tar -C "${build}" --format=gnu --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
		-P --transform='s,^\./,/,S;s,^\.$,/,S' -czf "${out}" .
}

test_images_compat_gnu_tar() {
	local d="${TEST_TMP}/d1" img="${TEST_TMP}/absolute.tar.gz" fp names
	build_absolute_image "${TEST_TMP}/build" "${img}"
	fp=$(sha256sum "${img}" | cut -d' ' -f1)

	# The tarball really has absolute names, for members and hard link targets (with --sort=name, the first of the
	# two names is the file and the second the link).
	names=$(tar -P -tvzf "${img}")
	for name in ' /$' ' /metadata.yaml$' ' /README$' ' /rootfs/bin/busybox$' ' /rootfs/etc/compat-marker link to /rootfs/etc/compat-link$'; do
		grep -qE "${name}" <<<"${names}" || fail "no member matching '${name}' in the tarball"
	done

	spawn_instance_lxd "${d}"

	# The stock client imports it into our daemon; the original bytes are kept.
	LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image import "${img}" --alias abs-stock >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/images/aliases/abs-stock | jq -r .metadata.target)" "${fp}" "imported by the stock client"
	cmp "${d}/images/${fp}" "${img}"
	assert_contains "$(LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image info abs-stock)" "Fingerprint: ${fp}"
	lxc_in "${d}" image delete abs-stock

	# Our client imports it, and a container runs from it: the rootfs files are there, the templates ran, and the
	# stray files are nowhere.
	lxc_in "${d}" image import "${img}" --alias abs >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/images/aliases/abs | jq -r .metadata.target)" "${fp}" "imported by our client"
	on_exit sh -c "LXD_DIR='${d}' LXD_CONF='${d}.conf' '${LXC_BIN}' delete -f c1 >/dev/null 2>&1"
	lxc_in "${d}" launch abs c1 >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/compat-marker)" "made by GNU tar" "file from the image"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/compat-link)" "made by GNU tar" "hard link from the image"
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %i /etc/compat-link)" "$(lxc_in "${d}" exec c1 -- stat -c %i /etc/compat-marker)" \
		"the hard link shares the file's inode"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/hostname)" "c1" "create template"
	for stray in /README /manifest.json /metadata.yaml /rootfs /templates; do
		lxc_in "${d}" exec c1 -- test ! -e "${stray}" || fail "${stray} is in the container"
	done

	if find "${d}/storage-pools" \( -name README -o -name manifest.json \) | grep -q .; then
		fail "a stray file of the image was extracted: $(find "${d}/storage-pools" \( -name README -o -name manifest.json \))"
	fi

	lxc_in "${d}" delete -f c1

	# A traversal is refused whatever prefix it hides behind, by both clients, and stores nothing.
	local bad="${TEST_TMP}/bad" before
	mkdir -p "${bad}/x"
	cp "${TEST_TMP}/build/metadata.yaml" "${bad}/x/"
	echo escape >"${bad}/x/escape"
	tar -C "${bad}/x" -P --transform='s,^escape$,/../escape,' -czf "${bad}/bad.tar.gz" metadata.yaml escape
	assert_contains "$(tar -P -tzf "${bad}/bad.tar.gz")" "/../escape"
	before=$(ls -A "${d}/images")
	assert_fails lxc_in "${d}" image import "${bad}/bad.tar.gz"
	assert_contains "${FAIL_OUTPUT}" 'entry "/../escape": path contains ".."'
	assert_fails env LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image import "${bad}/bad.tar.gz"
	assert_contains "${FAIL_OUTPUT}" 'path contains ".."'
	assert_eq "$(ls -A "${d}/images")" "${before}" "store after the refused imports"
	[ ! -e "${TEST_TMP}/escape" ] && [ ! -e "${d}/escape" ] || fail "the traversal wrote a file"
}

# assert_copied_fields OUTPUT WHAT: "lxc image info" OUTPUT shows a public, auto-updating image whose source is the
# public alias bb of the server on 127.0.0.1:8443.
assert_copied_fields() {
	local out=$1 what=$2
	assert_contains "${out}" "Public: yes" "${what}"
	assert_contains "${out}" "Auto update: enabled" "${what}"
	assert_contains "${out}" "Source:
    Server: https://127.0.0.1:8443
    Protocol: lxd
    Alias: bb" "${what}"
}

test_images_compat_copy_existing() {
	local src="${TEST_TMP}/src" a="${TEST_TMP}/a" b="${TEST_TMP}/b" conf="${TEST_TMP}/conf" oconf="${TEST_TMP}/oconf"
	local fixtures fp out
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	fp=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	make_netns
	spawn_lxd "${src}"
	spawn_lxd "${a}"
	spawn_lxd "${b}"
	lxc_in "${src}" image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	lxc_in "${src}" config set core.https_address 127.0.0.1:8443

	# Both destinations already hold the image: imported from the file, private, no auto-update, no source.
	for d in "${a}" "${b}"; do
		lxc_in "${d}" image import "${fixtures}/unified.tar.xz" >/dev/null
		out=$(local_curl "${d}" "/1.0/images/${fp}")
		assert_eq "$(echo "${out}" | jq -c '[.metadata.public, .metadata.auto_update, .metadata.update_source]')" \
			"[false,false,null]" "image before the copy"
	done

	stk() {
		LXD_DIR="${a}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	ours() {
		LXD_DIR="${b}" LXD_CONF="${oconf}" nsx "${LXC_BIN}" "$@"
	}

	stk remote add srv https://127.0.0.1:8443 --public --accept-certificate
	ours remote add srv https://127.0.0.1:8443 --public --accept-certificate

	# The stock client: the copy succeeds without downloading again, and updates the image as LXD does.
	assert_contains "$(stk image copy srv:bb local: --auto-update --public --alias x)" "Image copied successfully!"
	assert_copied_fields "$(stk image info x)" "stock client's image info"
	assert_copied_fields "$(LXD_DIR="${a}" LXD_CONF="${oconf}" "${LXC_BIN}" image info x)" "our image info after the stock copy"
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/x | jq -r .metadata.target)" "${fp}" "alias x"
	assert_eq "$(local_curl "${a}" /1.0/images | jq -r '.metadata | length')" "1" "images after the copy"
	cmp "${a}/images/${fp}" "${fixtures}/unified.tar.xz"

	# Our client does the same.
	assert_contains "$(ours image copy srv:bb local: --auto-update --public --alias x)" "Image copied successfully!"
	assert_copied_fields "$(ours image info x)" "our image info"
	assert_copied_fields "$(LXD_DIR="${b}" LXD_CONF="${conf}" /usr/bin/lxc image info x)" "stock image info after our copy"
	assert_eq "$(local_curl "${b}" /1.0/images/aliases/x | jq -r .metadata.target)" "${fp}" "alias x"

	# A copy again, without the flags, switches nothing off; a second alias is added.
	ours image copy srv:bb local: --alias y >/dev/null
	out=$(local_curl "${b}" "/1.0/images/${fp}")
	assert_eq "$(echo "${out}" | jq -c '[.metadata.public, .metadata.auto_update, .metadata.update_source.alias, ([.metadata.aliases[].name] | sort)]')" \
		'[true,true,"bb",["x","y"]]' "image after a plain copy"

	# The recorded source drives auto-update: the source's alias moves, a refresh follows it.
	local v2
	v2=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	lxc_in "${src}" image import "${fixtures}/unified.tar.gz" --public >/dev/null
	local_curl "${src}" /1.0/images/aliases/bb -X PUT -d "{\"target\": \"${v2}\"}" >/dev/null
	assert_contains "$(stk image refresh x)" "Image refreshed successfully!"
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/x | jq -r .metadata.target)" "${v2}" "alias x after the refresh"
}

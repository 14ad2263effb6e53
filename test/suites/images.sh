# The image store through lxc image and lxc image alias: our client and the stock one, against our daemon.

# imported_fp OUTPUT: the fingerprint "lxc image import" printed (the message starts with a carriage return).
imported_fp() {
	local out=$1
	out=${out//$'\r'/}
	case "${out}" in
	"Image imported with fingerprint: "*) echo "${out##* }" ;;
	*) fail "unexpected import output: ${out}" ;;
	esac
}

# image_files DIR: the files the daemon of DIR stores for its images (the temporary directory apart).
image_files() {
	find "$1/images" -path "$1/images/.tmp" -prune -o -type f -print | sort
}

# Every compression, unified and split: the printed fingerprint is the sha256 of the file(s), the stored files are the
# uploaded ones, and deleting leaves nothing behind.
test_images_import_formats() {
	local d="${TEST_TMP}/d1" fixtures fp want
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	spawn_lxd "${d}"

	for ext in "" .gz .xz .bz2 .lzma .zst; do
		want=$(sha256sum "${fixtures}/unified.tar${ext}" | cut -d' ' -f1)
		fp=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/unified.tar${ext}")")
		assert_eq "${fp}" "${want}" "fingerprint of unified.tar${ext}"
		cmp "${d}/images/${fp}" "${fixtures}/unified.tar${ext}"
		assert_eq "$(lxc_in "${d}" image list --format csv -c F)" "${fp}" "list after importing unified.tar${ext}"

		want=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar${ext}" | sha256sum | cut -d' ' -f1)
		fp=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar${ext}")")
		assert_eq "${fp}" "${want}" "fingerprint of meta.tar.xz + rootfs.tar${ext}"
		cmp "${d}/images/${fp}" "${fixtures}/meta.tar.xz"
		cmp "${d}/images/${fp}.rootfs" "${fixtures}/rootfs.tar${ext}"

		lxc_in "${d}" image delete "$(sha256sum "${fixtures}/unified.tar${ext}" | cut -c1-12)" "${fp}"
		assert_eq "$(lxc_in "${d}" image list --format csv)" "" "list after deleting the tar${ext} images"
		assert_eq "$(image_files "${d}")" "" "image files after deleting the tar${ext} images"
	done

	if [ -f "${fixtures}/rootfs.squashfs" ]; then
		want=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs" | sha256sum | cut -d' ' -f1)
		fp=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs")")
		assert_eq "${fp}" "${want}" "fingerprint of meta.tar.xz + rootfs.squashfs"
		lxc_in "${d}" image delete "${fp}"
	fi

	# A directory holding an unpacked image is packed and uploaded.
	local dir="${TEST_TMP}/unpacked"
	mkdir -p "${dir}"
	cp -a "${fixtures}/meta/." "${dir}/"
	cp -a "${fixtures}/rootfs" "${dir}/rootfs"
	fp=$(imported_fp "$(lxc_in "${d}" image import "${dir}" --alias fromdir)")
	assert_contains "$(lxc_in "${d}" image info fromdir)" "Fingerprint: ${fp}"
	assert_contains "$(lxc_in "${d}" image info fromdir)" "    os: busybox"
	lxc_in "${d}" image delete fromdir
	assert_eq "$(image_files "${d}")" "" "image files after deleting everything"

	# Quiet mode prints nothing; a second import of the same file fails.
	assert_eq "$(lxc_in "${d}" image import -q "${fixtures}/unified.tar.gz")" "" "quiet import"
	assert_fails lxc_in "${d}" image import "${fixtures}/unified.tar.gz"
	assert_eq "${FAIL_OUTPUT}" "Error: image with same fingerprint already exists" "duplicate import"
	set +e
	lxc_in "${d}" image import "${fixtures}/unified.tar.gz" 2>/dev/null
	rc=$?
	set -e
	assert_eq "${rc}" "1" "exit status of a duplicate import"

	assert_fails lxc_in "${d}" image import "${TEST_TMP}/nope.tar.gz"
	assert_contains "${FAIL_OUTPUT}" "Error: open ${TEST_TMP}/nope.tar.gz: no such file or directory"
	echo "not an image" >"${TEST_TMP}/junk.tar"
	assert_fails lxc_in "${d}" image import "${TEST_TMP}/junk.tar"
	assert_contains "${FAIL_OUTPUT}" "Error: "
	assert_eq "$(lxc_in "${d}" image list --format csv -c f | wc -l)" "1" "images after the failed imports"
}

# lxc image list with each kind of filter, info, show and edit.
test_images_list_info_edit() {
	local d="${TEST_TMP}/d1" fixtures uni split
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	spawn_lxd "${d}"
	uni=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/unified.tar.xz" --public --alias bb --alias busybox-unified)")
	split=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz" \
		--alias bbsplit release=probe)")

	list() {
		lxc_in "${d}" image list --format csv -c f "$@" | tr '\n' ' ' | sed 's/ $//'
	}

	both=$(printf '%s\n%s\n' "${uni:0:12}" "${split:0:12}" | sort | tr '\n' ' ' | sed 's/ $//')
	assert_eq "$(list)" "${both}" "unfiltered list"
	assert_eq "$(list bbs)" "${split:0:12}" "alias filter"
	assert_eq "$(list busybox-u)" "${uni:0:12}" "alias prefix filter"
	assert_eq "$(list "${split:0:6}")" "${split:0:12}" "fingerprint filter"
	assert_eq "$(list os=busybox)" "${both}" "property filter"
	assert_eq "$(list release=probe)" "${split:0:12}" "property filter from the import"
	assert_eq "$(list architecture=x86_64)" "${both}" "server-side architecture filter"
	assert_eq "$(list public=true)" "${uni:0:12}" "server-side public filter"
	assert_eq "$(list public=false)" "${split:0:12}" "server-side private filter"
	assert_eq "$(list local: type=container os=busybox bb)" "${both}" "mixed filters"
	assert_eq "$(list nothing-matches)" "" "filter matching nothing"

	out=$(lxc_in "${d}" image list)
	assert_contains "${out}" "|    ALIAS    | FINGERPRINT  | PUBLIC |  DESCRIPTION   | ARCHITECTURE |   TYPE    |"
	assert_contains "${out}" "| bb (1 more) | ${uni:0:12} | yes    | Busybox x86_64 | x86_64       | CONTAINER |"
	assert_contains "${out}" "| bbsplit     | ${split:0:12} | no     | Busybox x86_64 | x86_64       | CONTAINER |"
	assert_eq "$(lxc_in "${d}" image list --format json | jq -r 'map(.fingerprint) | sort | join(" ")')" \
		"$(printf '%s\n%s\n' "${uni}" "${split}" | sort | tr '\n' ' ' | sed 's/ $//')" "json list"
	assert_eq "$(lxc_in "${d}" image list bbsplit --format yaml | grep -c '^- auto_update: false')" "1" "yaml list"
	out=$(lxc_in "${d}" image list busybox-u --format csv -c lLpdats)
	size=$(stat -c %s "${fixtures}/unified.tar.xz")
	assert_eq "${out}" "bb (1 more),\"bb
busybox-unified\",yes,Busybox x86_64,x86_64,CONTAINER,$(awk -v s="${size}" 'BEGIN {printf "%.2fMB", s/1048576}')" "csv columns"

	out=$(lxc_in "${d}" image info bbsplit)
	assert_contains "${out}" "Fingerprint: ${split}"
	assert_contains "${out}" "Architecture: x86_64"
	assert_contains "${out}" "Type: container"
	assert_contains "${out}" "Public: no"
	assert_contains "${out}" "    Created: 2023/11/14 22:13 UTC"
	assert_contains "${out}" "    Expires: never"
	assert_contains "${out}" "    Last used: never"
	assert_contains "${out}" "Properties:
    description: Busybox x86_64
    os: busybox
    release: probe"
	assert_contains "${out}" "Aliases:
    - bbsplit
Cached: no
Auto update: disabled"

	out=$(lxc_in "${d}" image show "${uni:0:8}")
	assert_contains "${out}" "auto_update: false
properties:
  description: Busybox x86_64
  os: busybox
  release: \"1.35\"
public: true"

	# Edit from standard input replaces the properties; show and the filters see the change.
	printf 'properties:\n  os: edited\n  description: changed\npublic: true\n' | lxc_in "${d}" image edit bbsplit
	out=$(lxc_in "${d}" image show bbsplit)
	assert_contains "${out}" "properties:
  description: changed
  os: edited
public: true"
	assert_eq "$(list os=edited)" "${split:0:12}" "property filter after the edit"
	assert_eq "$(list public=true)" "${both}" "public filter after the edit"

	printf 'public: notabool\n' >"${TEST_TMP}/bad.yaml"
	assert_fails lxc_in "${d}" image edit bbsplit <"${TEST_TMP}/bad.yaml"
	assert_contains "${FAIL_OUTPUT}" "Error: yaml: unmarshal errors"

	# Unknown images.
	for sub in info show; do
		assert_fails lxc_in "${d}" image "${sub}" nope
		assert_contains "${FAIL_OUTPUT}" "Error: "
		assert_contains "${FAIL_OUTPUT}" "not found"
	done

	assert_fails lxc_in "${d}" image list -c z
	assert_eq "${FAIL_OUTPUT}" "Error: unknown column shorthand char 'z' in 'z'"
}

# Alias create (with a fingerprint prefix), list, rename and delete, names with a slash included.
test_images_aliases() {
	local d="${TEST_TMP}/d1" fixtures fp
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	spawn_lxd "${d}"
	fp=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/unified.tar.gz")")

	lxc_in "${d}" image alias create a1 "${fp:0:8}"
	lxc_in "${d}" image alias create local:distro/busybox "${fp}"
	assert_eq "$(local_curl "${d}" /1.0/images/aliases/a1 | jq -r .metadata.target)" "${fp}" "prefix expanded"
	assert_eq "$(lxc_in "${d}" image alias list --format csv)" "a1,${fp:0:12},CONTAINER,
distro/busybox,${fp:0:12},CONTAINER," "alias list"
	out=$(lxc_in "${d}" image alias list)
	assert_contains "${out}" "|     ALIAS      | FINGERPRINT  |   TYPE    | DESCRIPTION |"
	assert_eq "$(lxc_in "${d}" image alias list local: distro --format csv)" "distro/busybox,${fp:0:12},CONTAINER," "filter"
	assert_eq "$(lxc_in "${d}" image alias list --format json | jq -r 'map(.name) | sort | join(",")')" "a1,distro/busybox"

	lxc_in "${d}" image alias rename distro/busybox distro/bb
	assert_contains "$(lxc_in "${d}" image info distro/bb)" "Fingerprint: ${fp}"
	assert_contains "$(lxc_in "${d}" image info "${fp:0:10}")" "    - distro/bb"
	lxc_in "${d}" image alias delete distro/bb
	lxc_in "${d}" image alias rm a1
	assert_eq "$(lxc_in "${d}" image alias list --format csv)" "" "aliases after delete"

	assert_fails lxc_in "${d}" image alias delete a1
	assert_contains "${FAIL_OUTPUT}" "Error: "
	assert_contains "${FAIL_OUTPUT}" "not found"
	assert_fails lxc_in "${d}" image alias create a2 ffffffff
	assert_contains "${FAIL_OUTPUT}" "Error: "

	# An import --alias replaces an alias of the same name.
	lxc_in "${d}" image alias create taken "${fp}"
	fp2=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/unified.tar.xz" --alias taken)")
	assert_eq "$(local_curl "${d}" /1.0/images/aliases/taken | jq -r .metadata.target)" "${fp2}" "alias moved by import"
}

# Exports are byte-identical, into a directory (names from the server) and to a target path.
test_images_export() {
	local d="${TEST_TMP}/d1" fixtures uni split out="${TEST_TMP}/out"
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	spawn_lxd "${d}"
	uni=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/unified.tar.zst" --alias bb)")
	split=$(imported_fp "$(lxc_in "${d}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.lzma" --alias bbsplit)")
	mkdir -p "${out}"

	msg=$(cd "${out}" && lxc_in "${d}" image export bb)
	assert_eq "${msg//$'\r'/}" "Image exported successfully!" "export message"
	exported=$(cd "${out}" && ls)
	assert_eq "$(echo "${exported}" | wc -l)" "1" "files of a unified export"
	cmp "${out}/${exported}" "${fixtures}/unified.tar.zst"
	assert_contains "${exported}" "${uni}"

	rm -f "${out}"/*
	lxc_in "${d}" image export "${split:0:12}" "${out}" >/dev/null
	assert_eq "$(find "${out}" -type f | wc -l)" "2" "files of a split export"
	cmp "$(find "${out}" -name 'meta-*')" "${fixtures}/meta.tar.xz"
	cmp "$(find "${out}" -type f ! -name 'meta-*')" "${fixtures}/rootfs.tar.lzma"

	lxc_in "${d}" image export bb "${TEST_TMP}/named" >/dev/null
	cmp "${TEST_TMP}/named.${exported#*.}" "${fixtures}/unified.tar.zst"
	lxc_in "${d}" image export local:bbsplit "${TEST_TMP}/named-split" >/dev/null
	cmp "${TEST_TMP}/named-split" "${fixtures}/meta.tar.xz"
	cmp "${TEST_TMP}/named-split.root" "${fixtures}/rootfs.tar.lzma"
	assert_eq "$(lxc_in "${d}" image export -q bb "${TEST_TMP}/quiet")" "" "quiet export"

	assert_fails lxc_in "${d}" image export nope "${TEST_TMP}/nope"
	assert_contains "${FAIL_OUTPUT}" "Error: "
	[ ! -e "${TEST_TMP}/nope" ] && [ ! -e "${TEST_TMP}/nope.root" ] || fail "files left by a failed export"
}

# The stock LXD 5.0.2 client against our daemon over HTTPS, and our client reading what it imported.
test_images_stock_client() {
	local d="${TEST_TMP}/d1" fixtures conf="${TEST_TMP}/stock" addr uni split out
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	spawn_lxd "${d}"
	addr=$(enable_https "${d}")
	lxc_in "${d}" config set core.trust_password sekret
	stock_lxc "${conf}" remote add ours "https://${addr}" --accept-certificate --password sekret >/dev/null

	uni=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" | sha256sum | cut -d' ' -f1)
	out=$(stock_lxc "${conf}" image import "${fixtures}/unified.tar.gz" ours: --alias bb --public)
	assert_eq "${out//$'\r'/}" "Image imported with fingerprint: ${uni}" "stock unified import"
	out=$(stock_lxc "${conf}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" ours: release=x)
	assert_eq "${out//$'\r'/}" "Image imported with fingerprint: ${split}" "stock split import"
	stock_lxc "${conf}" image alias create ours:bbsplit "${split:0:8}"

	out=$(stock_lxc "${conf}" image list ours: --format csv -c lfp)
	assert_eq "${out}" "$(printf 'bb,%s,yes\nbbsplit,%s,no' "${uni:0:12}" "${split:0:12}")" "stock list"
	assert_eq "$(stock_lxc "${conf}" image list ours: public=true --format csv -c f)" "${uni:0:12}" "stock public filter"
	out=$(stock_lxc "${conf}" image info ours:bbsplit)
	assert_contains "${out}" "Fingerprint: ${split}"
	assert_contains "${out}" "    release: x"
	assert_eq "$(stock_lxc "${conf}" image alias list ours: --format csv)" \
		"$(printf 'bb,%s,CONTAINER,\nbbsplit,%s,CONTAINER,' "${uni:0:12}" "${split:0:12}")" "stock alias list"

	mkdir -p "${TEST_TMP}/export"
	(cd "${TEST_TMP}/export" && stock_lxc "${conf}" image export ours:bb unified >/dev/null &&
		stock_lxc "${conf}" image export ours:bbsplit split >/dev/null)
	cmp "${TEST_TMP}/export/unified.tar.gz" "${fixtures}/unified.tar.gz"
	cmp "${TEST_TMP}/export/split" "${fixtures}/meta.tar.xz"
	cmp "${TEST_TMP}/export/split.root" "${fixtures}/rootfs.tar.bz2"

	# Both clients print the same thing (the stock client prints properties in random order: info is compared sorted).
	for args in "image list" "image list --format csv" "image list --format json" "image show bb" "image alias list"; do
		# shellcheck disable=SC2086
		assert_eq "$(lxc_in "${d}" ${args})" "$(LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc ${args})" "${args}"
	done

	for img in bb bbsplit; do
		assert_eq "$(lxc_in "${d}" image info "${img}" | sort)" \
			"$(LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc image info "${img}" | sort)" "image info ${img}"
	done

	stock_lxc "${conf}" image alias delete ours:bbsplit
	stock_lxc "${conf}" image delete ours:bb "ours:${split:0:12}"
	assert_eq "$(lxc_in "${d}" image list --format csv)" "" "images after the stock deletes"
	assert_eq "$(image_files "${d}")" "" "image files after the stock deletes"

	# Our client over HTTPS, through a remote added with our client.
	local ours="${TEST_TMP}/ours"
	LXD_CONF="${ours}" "${LXC_BIN}" remote add d1 "https://${addr}" --accept-certificate --password sekret >/dev/null
	fp=$(imported_fp "$(LXD_CONF="${ours}" "${LXC_BIN}" image import "${fixtures}/meta.tar.xz" \
		"${fixtures}/rootfs.tar.xz" d1: --alias viahttps)")
	assert_eq "${fp}" "$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.xz" | sha256sum | cut -d' ' -f1)"
	assert_contains "$(stock_lxc "${conf}" image info ours:viahttps)" "Fingerprint: ${fp}"
	LXD_CONF="${ours}" "${LXC_BIN}" image export d1:viahttps "${TEST_TMP}/https-export" >/dev/null
	cmp "${TEST_TMP}/https-export.root" "${fixtures}/rootfs.tar.xz"
	LXD_CONF="${ours}" "${LXC_BIN}" image delete d1:viahttps
}

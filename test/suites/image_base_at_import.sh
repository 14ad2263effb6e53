# An upload writes the image's base (the one containers of the default profile are built on) while it is validated,
# and publishes it once the image is recorded: the first launch then finds it ready. A refused upload, a kill -9
# during the upload or before the base is published leave no base that a later launch would use, and nothing
# unfinished in the pool after a restart.

# base_inode DIR BASE: the inode of the base's rootfs/etc, which an unpack would make anew.
base_inode() {
	stat -c %i "$1/storage-pools/default/images/$2/rootfs/etc"
}

# wait_no_bases DIR: waits for the bases of deleted images to be pruned.
wait_no_bases() {
	for _ in $(seq 100); do
		[ "$(find "$1/storage-pools/default/images" -mindepth 1 -maxdepth 1 | wc -l)" = "0" ] && return 0
		sleep 0.1
	done

	fail "bases left after their image was deleted: $(ls -A "$1/storage-pools/default/images")"
}

# upload_unified DIR FILE [CURL ARGS...]: uploads a unified image with curl and prints the final operation status.
upload_unified() {
	local d=$1 file=$2 resp op
	shift 2
	resp=$(local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/octet-stream' -H 'Expect:' -T "${file}" "$@")
	op=$(echo "${resp}" | jq -r .operation)
	if [ -z "${op}" ] || [ "${op}" = "null" ]; then
		echo "${resp}" | jq -r .error
		return 0
	fi

	local_curl "${d}" "${op}/wait?timeout=120" | jq -r '.metadata.status + " " + .metadata.err'
}

# upload_succeeds DIR FILE: uploads a unified image and fails unless its operation succeeded.
upload_succeeds() {
	[ "$(upload_unified "$@")" = "Success " ]
}

test_image_base_at_import() {
	local d="${TEST_TMP}/d" debian pool fp fp_split ids base inode
	pool="${d}/storage-pools/default"
	debian=$("${TEST_DIR}/deps/debian-image.sh")
	fp=$(sha256sum "${debian}/unified.tar.gz" | cut -d' ' -f1)
	fp_split=$(cat "${debian}/meta.tar.xz" "${debian}/rootfs.tar.gz" | sha256sum | cut -d' ' -f1)
	spawn_instance_lxd "${d}"

	# A tampered image (its gzip stream cut short, found only after every entry was written) and one whose bytes do
	# not match the fingerprint asked for are refused, and leave no base and nothing staged.
	head -c -64 "${debian}/unified.tar.gz" >"${TEST_TMP}/cut.tar.gz"
	assert_contains "$(upload_unified "${d}" "${TEST_TMP}/cut.tar.gz")" "truncated" "upload of a cut image"
	assert_contains "$(upload_unified "${d}" "${debian}/unified.tar.gz" -H "X-LXD-fingerprint: $(printf '0%.0s' $(seq 64))")" \
		"fingerprint mismatch" "upload with a wrong fingerprint"
	assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l)" "0" "bases and staged bases after refused uploads"

	# Killed while the upload streams and its base is being written: after the restart no staged base is left, and
	# a base is there only if the upload had finished (complete, with its image).
	local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/octet-stream' -H 'Expect:' -T "${debian}/unified.tar.gz" >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 200); do
		compgen -G "${pool}/images/.tmp-*/rootfs/usr/share" >/dev/null && break
		sleep 0.05
	done

	compgen -G "${pool}/images/.tmp-*/rootfs/usr/share" >/dev/null || fail "the upload never wrote its base"
	kill -9 "$(cat "${d}/lxd.pid")"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	spawn_lxd "${d}"
	assert_eq "$(find "${pool}" -maxdepth 3 -name '.tmp-*' | wc -l)" "0" "staged bases after a kill during the upload"
	grep -q "removing storage left unfinished by a crash.*images/.tmp-" "${d}/lxd.log" || fail "the removal of the staged base is not logged"
	if [ "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .error_code)" = "404" ]; then
		assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l)" "0" "bases after a kill during the upload"
	else
		for base in "${pool}"/images/*; do
			[ -e "${base}" ] || continue
			[ -f "${base}/complete" ] || fail "base ${base} left incomplete by a kill during the upload"
		done

		lxc_in "${d}" image delete "${fp}"
		wait_no_bases "${d}"
	fi

	# Killed after the image is recorded, before its base is complete: the image stays, the base written at import
	# does not, and the first launch unpacks it.
	crash_at "${d}" base-unpacked upload_succeeds "${d}" "${debian}/unified.tar.gz"
	assert_eq "$(find "${pool}" -maxdepth 3 -name '.tmp-*' | wc -l)" "0" "staged bases after a kill before publishing"
	assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l)" "0" "bases after a kill before publishing"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.fingerprint)" "${fp}" "image recorded before the kill"
	lxc_in "${d}" launch "${fp}" c0
	assert_eq "$(lxc_in "${d}" list c0 --format csv -c s)" "RUNNING" "launch after a kill before publishing"
	grep -q "unpacked image base.*fingerprint=${fp}" "${d}/lxd.log" || fail "the first launch did not unpack the base"
	lxc_in "${d}" delete -f c0
	lxc_in "${d}" image delete "${fp}"
	wait_no_bases "${d}"

	# A whole upload publishes the base: the launch right after it uses that base and unpacks nothing.
	assert_eq "$(upload_unified "${d}" "${debian}/unified.tar.gz")" "Success " "upload of the unified image"
	grep -q "wrote image base while importing.*fingerprint=${fp}" "${d}/lxd.log" || fail "the base was not written at import"
	ids=$(find "${pool}/images" -mindepth 1 -maxdepth 1 -printf '%f\n')
	assert_eq "$(echo "${ids}" | wc -l)" "1" "bases after the upload"
	base=${ids}
	case "${base}" in "${fp}.shifted-"*) ;; *) fail "base ${base} is not the shifted base of ${fp}" ;; esac
	[ -f "${pool}/images/${base}/complete" ] || fail "the base written at import is not complete"
	inode=$(base_inode "${d}" "${base}")
	local unpacks
	unpacks=$(grep -c "unpacked image base" "${d}/lxd.log" || true)
	lxc_in "${d}" launch "${fp}" c1
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "RUNNING" "launch from the base written at import"
	assert_eq "$(cat "${pool}/containers/c1/lower")" "${base}" "base of c1"
	assert_eq "$(base_inode "${d}" "${base}")" "${inode}" "inode of the base after the launch"
	assert_eq "$(grep -c "unpacked image base" "${d}/lxd.log" || true)" "${unpacks}" "unpacks by the launch"
	assert_eq "$(cat "${pool}/containers/c1/upper/etc/hostname")" "c1" "hostname from the templates kept with the base"
	lxc_in "${d}" delete -f c1
	lxc_in "${d}" image delete "${fp}"
	wait_no_bases "${d}"

	# A split upload (metadata, then the rootfs tarball that is written as it arrives) does the same.
	local resp
	resp=$(local_curl "${d}" /1.0/images -X POST -F "metadata=@${debian}/meta.tar.xz" -F "rootfs=@${debian}/rootfs.tar.gz")
	assert_eq "$(local_curl "${d}" "$(echo "${resp}" | jq -r .operation)/wait?timeout=120" | jq -r .metadata.status)" "Success" "split upload"
	grep -q "wrote image base while importing.*fingerprint=${fp_split}" "${d}/lxd.log" || fail "the split image's base was not written at import"
	unpacks=$(grep -c "unpacked image base" "${d}/lxd.log" || true)
	LXD_DIR="${d}" stock_lxc "${d}.stock" launch "${fp_split}" c2 >/dev/null
	assert_eq "$(lxc_in "${d}" list c2 --format csv -c s)" "RUNNING" "launch from the split image's base"
	assert_eq "$(grep -c "unpacked image base" "${d}/lxd.log" || true)" "${unpacks}" "unpacks by the split launch"
	lxc_in "${d}" delete -f c2
	lxc_in "${d}" image delete "${fp_split}"
	assert_eq "$(find "${pool}" -maxdepth 3 -name '.tmp-*' | wc -l)" "0" "staged bases at the end"
}

# On a btrfs pool the base written while importing is a subvolume, made read-only when it is published, as a
# first launch's is; a kill before it is published leaves no subvolume behind.
test_image_base_at_import_btrfs() {
	local d="${TEST_TMP}/d" stock mnt busybox fp base
	stock="${d}.stock"
	spawn_instance_lxd "${d}"
	on_exit unmount_under "${d}"
	mnt="${d}/storage-pools/b1"
	busybox=$("${TEST_DIR}/deps/busybox-image.sh")
	fp=$(sha256sum "${busybox}/unified.tar.xz" | cut -d' ' -f1)
	LXD_DIR="${d}" stock_lxc "${stock}" storage create b1 btrfs size=1GiB
	LXD_DIR="${d}" stock_lxc "${stock}" profile device set default root pool=b1

	crash_at "${d}" base-unpacked upload_succeeds "${d}" "${busybox}/unified.tar.xz"
	assert_eq "$(pool_subvolumes "${mnt}" | wc -l)" "0" "subvolumes after a kill before publishing"
	lxc_in "${d}" image delete "${fp}"

	assert_eq "$(upload_unified "${d}" "${busybox}/unified.tar.xz")" "Success " "upload onto the btrfs pool"
	base=$(find "${mnt}/images" -mindepth 1 -maxdepth 1 -printf '%f\n')
	case "${base}" in "${fp}.shifted-"*) ;; *) fail "base ${base} is not the shifted base of ${fp}" ;; esac
	assert_eq "$(btrfs property get -ts "${mnt}/images/${base}/rootfs" ro)" "ro=true" "base read-only"
	assert_eq "$(find "${d}/storage-pools/default/images" -mindepth 1 -maxdepth 1 | wc -l)" "0" "bases on the dir pool"
	local unpacks
	unpacks=$(grep -c "unpacked image base" "${d}/lxd.log" || true)
	LXD_DIR="${d}" stock_lxc "${stock}" launch "${fp}" c1
	assert_eq "$(cat "${mnt}/containers/c1/lower")" "${base}" "base of c1"
	assert_eq "$(grep -c "unpacked image base" "${d}/lxd.log" || true)" "${unpacks}" "unpacks by the launch"
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "RUNNING" "launch on btrfs from the base written at import"
	lxc_in "${d}" delete -f c1
	lxc_in "${d}" image delete "${fp}"
	for _ in $(seq 100); do
		[ "$(pool_subvolumes "${mnt}" | grep -c '^images/' || true)" = "0" ] && break
		sleep 0.1
	done

	assert_eq "$(pool_subvolumes "${mnt}" | grep -c '^images/' || true)" "0" "base subvolumes after the image is deleted"
}

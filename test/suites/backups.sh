# Instance backups in LXD 5.0.2's format: exports from our daemon imported by the stock LXD 5.0.2 and the reverse,
# through both clients, with snapshots, data and owners checked on the other side; hostile and broken backups
# refused without leftovers; the backups API and the pruning of expired backups.

# backups_leftovers DIR: prints what a failed import could leave in the daemon of DIR: instances other than c1, their
# storage and the directories imports are unpacked in.
backups_leftovers() {
	local dir=$1
	lxc_in "${dir}" list -c n --format csv | grep -vx c1 || true
	find "${dir}/storage-pools" -mindepth 3 -maxdepth 3 \( -path '*/containers/*' -o -path '*/containers-snapshots/*' \) \
		! -name c1 || true
	find "${dir}/backups" -maxdepth 1 -name '.import-*' || true
}

# backups_craft SRC DEST KIND: writes to DEST the uncompressed backup SRC with a hostile entry of KIND appended.
backups_craft() {
	python3 - "$1" "$2" "$3" <<'PY'
import io, shutil, sys, tarfile
src, dest, kind = sys.argv[1:]
shutil.copy(src, dest)
with tarfile.open(dest, "a", format=tarfile.PAX_FORMAT) as tf:
    def add(name, type_=tarfile.REGTYPE, linkname="", data=b"x", devmajor=0, devminor=0):
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname, ti.devmajor, ti.devminor = type_, linkname, devmajor, devminor
        ti.size = len(data) if type_ == tarfile.REGTYPE else 0
        tf.addfile(ti, io.BytesIO(data) if type_ == tarfile.REGTYPE else None)
    if kind == "dotdot":
        add("backup/container/rootfs/../../../../../../../tmp/lxd-backup-escape")
    elif kind == "symlink":
        add("backup/container/rootfs/esc", tarfile.SYMTYPE, "/tmp")
        add("backup/container/rootfs/esc/lxd-backup-escape")
    elif kind == "hardlink":
        add("backup/container/rootfs/pw", tarfile.LNKTYPE, "/etc/passwd")
    elif kind == "device":
        add("backup/container/rootfs/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)
PY
}

# backups_op DIR PATH ARGS...: sends a request to the daemon of DIR and waits for the operation it starts, which
# must succeed.
backups_op() {
	local dir=$1 path=$2 op
	shift 2
	op=$(local_curl "${dir}" "${path}" "$@")
	assert_eq "$(jq -r .type <<<"${op}")" "async" "answer to ${path}: ${op}"
	op=$(local_curl "${dir}" "$(jq -r .operation <<<"${op}")/wait?timeout=30")
	assert_eq "$(jq -r .metadata.status <<<"${op}")" "Success" "operation of ${path}: ${op}"
}

test_backups_stock() {
	local ours="${TEST_TMP}/ours" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" out
	make_netns
	spawn_instance_lxd "${ours}"
	dayone_stock "${stock}" "${conf}"
	import_busybox "${ours}" bb

	# Ours to stock: an isolated id map makes the files of the backup owned by ids the stock daemon must shift.
	lxc_in "${ours}" init bb c1 -c security.idmap.isolated=true -c user.origin=ours >/dev/null
	lxc_in "${ours}" start c1
	lxc_in "${ours}" exec c1 -- sh -c 'echo before >/root/data; chown 1000:1000 /root/data'
	lxc_in "${ours}" stop c1 --force
	lxc_in "${ours}" snapshot c1 s0
	lxc_in "${ours}" start c1
	lxc_in "${ours}" exec c1 -- sh -c 'echo after >/root/data'
	# A running container is backed up as it is, as LXD does.
	lxc_in "${ours}" export c1 "${TEST_TMP}/ours.tar.gz" >/dev/null
	LXD_DIR="${ours}" stock_lxc "${ours}.stock" export c1 "${TEST_TMP}/ours-io.tar.xz" --instance-only \
		--compression xz >/dev/null
	assert_eq "$(lxc_in "${ours}" query /1.0/instances/c1/backups)" "[]" "backups left after the exports"
	assert_contains "$(file "${TEST_TMP}/ours-io.tar.xz")" "XZ compressed"
	tar -tzf "${TEST_TMP}/ours.tar.gz" >"${TEST_TMP}/list"
	# Files are kept as they are on disk: shifted to the isolated map, which is not the stock daemon's.
	out=$(tar -tvzf "${TEST_TMP}/ours.tar.gz" backup/container/rootfs/root/data | awk '{print $2}')
	[ "${out}" != "1000/1000" ] && [ "${out}" != "101000/101000" ] || fail "owner in the backup: ${out}"
	for f in backup/index.yaml backup/container/backup.yaml backup/container/metadata.yaml \
		backup/container/rootfs/root/data backup/snapshots/s0/backup.yaml backup/snapshots/s0/rootfs/root/data; do
		grep -qx "${f}" "${TEST_TMP}/list" || fail "${f} missing from the backup"
	done

	# Back into ours beside the original: its isolated map is another, to which the start shifts the files.
	lxc_in "${ours}" import "${TEST_TMP}/ours.tar.gz" c1copy
	lxc_in "${ours}" start c1copy
	out=$(lxc_in "${ours}" exec c1copy -- sh -c 'cat /root/data; stat -c %u:%g /root/data')
	assert_eq "${out}" "$(printf 'after\n1000:1000')" "our copy of our backup"
	[ "$(lxc_in "${ours}" config get c1copy volatile.idmap.base)" != "$(lxc_in "${ours}" config get c1 volatile.idmap.base)" ] ||
		fail "the copy shares the isolated map of its original"

	LXD_DIR="${stock}" stock_lxc "${conf}" import "${TEST_TMP}/ours.tar.gz" >/dev/null
	LXD_DIR="${stock}" stock_lxc "${conf}" import "${TEST_TMP}/ours-io.tar.xz" c1io >/dev/null
	LXD_DIR="${stock}" stock_lxc "${conf}" start c1
	out=$(LXD_DIR="${stock}" stock_lxc "${conf}" exec c1 -- sh -c 'cat /root/data; stat -c %u:%g /root/data')
	assert_eq "${out}" "$(printf 'after\n1000:1000')" "the stock daemon's copy"
	assert_eq "$(LXD_DIR="${stock}" stock_lxc "${conf}" config get c1 user.origin)" "ours"
	assert_eq "$(LXD_DIR="${stock}" stock_lxc "${conf}" query /1.0/instances/c1/snapshots | jq -r '.[]')" \
		"/1.0/instances/c1/snapshots/s0"
	assert_eq "$(LXD_DIR="${stock}" stock_lxc "${conf}" query /1.0/instances/c1io/snapshots | jq -r '.[]')" ""
	LXD_DIR="${stock}" stock_lxc "${conf}" stop c1 --force
	LXD_DIR="${stock}" stock_lxc "${conf}" restore c1 s0
	LXD_DIR="${stock}" stock_lxc "${conf}" start c1
	out=$(LXD_DIR="${stock}" stock_lxc "${conf}" exec c1 -- sh -c 'cat /root/data; stat -c %u:%g /root/data')
	assert_eq "${out}" "$(printf 'before\n1000:1000')" "the stock daemon's restored snapshot"

	# Stock to ours, through both clients.
	LXD_DIR="${stock}" stock_lxc "${conf}" launch bb c2 -c user.origin=stock >/dev/null 2>&1
	LXD_DIR="${stock}" stock_lxc "${conf}" exec c2 -- sh -c 'echo stock >/root/data; chown 1001:1002 /root/data'
	LXD_DIR="${stock}" stock_lxc "${conf}" stop c2 --force
	LXD_DIR="${stock}" stock_lxc "${conf}" snapshot c2 s0
	LXD_DIR="${stock}" stock_lxc "${conf}" export c2 "${TEST_TMP}/stock.tar.gz" >/dev/null
	lxc_in "${ours}" import "${TEST_TMP}/stock.tar.gz"
	LXD_DIR="${ours}" stock_lxc "${ours}.stock" import "${TEST_TMP}/stock.tar.gz" c3 >/dev/null
	for c in c2 c3; do
		lxc_in "${ours}" start "${c}"
		out=$(lxc_in "${ours}" exec "${c}" -- sh -c 'cat /root/data; stat -c %u:%g /root/data')
		assert_eq "${out}" "$(printf 'stock\n1001:1002')" "our copy ${c}"
		assert_eq "$(lxc_in "${ours}" config get "${c}" user.origin)" "stock"
		assert_eq "$(lxc_in "${ours}" query "/1.0/instances/${c}/snapshots" | jq -r '.[]')" \
			"/1.0/instances/${c}/snapshots/s0"
	done

	lxc_in "${ours}" exec c2 -- rm /root/data
	lxc_in "${ours}" restore c2 s0
	out=$(lxc_in "${ours}" exec c2 -- sh -c 'cat /root/data; stat -c %u:%g /root/data')
	assert_eq "${out}" "$(printf 'stock\n1001:1002')" "our restored snapshot"

	# Our client against the stock daemon, both ways.
	LXD_DIR="${stock}" LXD_CONF="${conf}.ours" "${LXC_BIN}" export c2 "${TEST_TMP}/stock-ours.tar.gz" --instance-only \
		>/dev/null
	LXD_DIR="${stock}" LXD_CONF="${conf}.ours" "${LXC_BIN}" import "${TEST_TMP}/stock-ours.tar.gz" c4
	assert_eq "$(LXD_DIR="${stock}" stock_lxc "${conf}" config get c4 user.origin)" "stock"
	assert_eq "$(LXD_DIR="${stock}" stock_lxc "${conf}" query /1.0/instances/c2/backups)" "[]" "backups left on stock"

	assert_eq "$(lxc_in "${ours}" config get c2 volatile.uuid)" \
		"$(LXD_DIR="${stock}" stock_lxc "${conf}" config get c2 volatile.uuid)" "the kept UUID"
}

test_backups_refusals() {
	local d="${TEST_TMP}/d" kind
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" snapshot c1 s0
	lxc_in "${d}" export c1 "${TEST_TMP}/c1.tar" --compression none >/dev/null
	assert_contains "$(file "${TEST_TMP}/c1.tar")" "tar archive"

	assert_fails lxc_in "${d}" import "${TEST_TMP}/c1.tar"
	assert_contains "${FAIL_OUTPUT}" 'instance "c1" already exists'
	assert_fails lxc_in "${d}" import "${TEST_TMP}/c1.tar" c9 --storage nope
	assert_contains "${FAIL_OUTPUT}" 'storage pool "nope" not found'
	head -c "$(($(stat -c %s "${TEST_TMP}/c1.tar") / 2))" "${TEST_TMP}/c1.tar" >"${TEST_TMP}/trunc.tar"
	assert_fails lxc_in "${d}" import "${TEST_TMP}/trunc.tar" c9
	assert_contains "${FAIL_OUTPUT}" "truncated or corrupt"
	lxc_in "${d}" export c1 "${TEST_TMP}/c1.tar.zst" --compression zstd >/dev/null
	head -c 20000 "${TEST_TMP}/c1.tar.zst" >"${TEST_TMP}/trunc.tar.zst"
	assert_fails lxc_in "${d}" import "${TEST_TMP}/trunc.tar.zst" c9
	assert_contains "${FAIL_OUTPUT}" "invalid backup"

	for kind in dotdot symlink hardlink device; do
		backups_craft "${TEST_TMP}/c1.tar" "${TEST_TMP}/${kind}.tar" "${kind}"
		assert_fails lxc_in "${d}" import "${TEST_TMP}/${kind}.tar" c9
		assert_contains "${FAIL_OUTPUT}" "invalid backup" "${kind}"
	done

	[ ! -e /tmp/lxd-backup-escape ] || fail "a crafted backup wrote outside its directory"

	# A profile the backup needs and this server lacks refuses it.
	lxc_in "${d}" profile create p1
	lxc_in "${d}" init bb c5 -p default -p p1 >/dev/null
	lxc_in "${d}" export c5 "${TEST_TMP}/c5.tar.gz" >/dev/null
	lxc_in "${d}" delete c5
	lxc_in "${d}" profile delete p1
	assert_fails lxc_in "${d}" import "${TEST_TMP}/c5.tar.gz"
	assert_contains "${FAIL_OUTPUT}" 'profile "p1" not found'

	assert_fails lxc_in "${d}" export c1 "${TEST_TMP}/opt.tar.gz" --optimized-storage
	assert_contains "${FAIL_OUTPUT}" "optimized storage backups are not supported"
	assert_fails lxc_in "${d}" export c1 "${TEST_TMP}/rar.tar" --compression rar
	assert_eq "$(backups_leftovers "${d}")" "" "leftovers of refused imports"

	# The server's default compression.
	assert_fails lxc_in "${d}" config set backups.compression_algorithm lzma
	lxc_in "${d}" config set backups.compression_algorithm zstd
	lxc_in "${d}" export c1 "${TEST_TMP}/default.tar" >/dev/null
	assert_contains "$(file "${TEST_TMP}/default.tar")" "Zstandard compressed"

	# The zstd backup, whole, imports under another name on the pool asked for.
	lxc_in "${d}" import "${TEST_TMP}/c1.tar.zst" c6 --storage default
	assert_eq "$(lxc_in "${d}" query /1.0/instances/c6 | jq -r .expanded_devices.root.pool)" "default"
	assert_eq "$(lxc_in "${d}" query /1.0/instances/c6/snapshots | jq -r '.[]')" "/1.0/instances/c6/snapshots/s0"
}

test_backups_api() {
	local d="${TEST_TMP}/d" op mon listeners action
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1 >/dev/null
	# The directories that receive whole trees are marked for ext4's allocator to spread them (on a file system
	# that keeps the mark).
	mkdir "${TEST_TMP}/probe"
	if chattr +T "${TEST_TMP}/probe" 2>/dev/null; then
		for dir in "${d}/backups" "${d}"/storage-pools/*/containers "${d}"/storage-pools/*/images; do
			assert_contains "$(lsattr -d "${dir}" | cut -d' ' -f1)" "T" "the flags of ${dir}"
		done
	fi

	listeners=$(grep -c "event listener connected" "${d}/lxd.log" || true)
	lxc_in "${d}" monitor --type lifecycle --format json >"${TEST_TMP}/events" 2>&1 &
	mon=$!
	for _ in $(seq 100); do
		[ "$(grep -c "event listener connected" "${d}/lxd.log" || true)" -gt "${listeners}" ] && break
		sleep 0.1
	done

	backups_op "${d}" /1.0/instances/c1/backups -X POST -d '{"name": "old", "expires_at": "2000-01-01T00:00:00Z"}'
	backups_op "${d}" /1.0/instances/c1/backups -X POST -d '{"instance_only": true}'
	op=$(local_curl "${d}" /1.0/instances/c1/backups -X POST -d '{"name": "b1", "compression_algorithm": "bzip2"}')
	assert_eq "$(jq -r '.metadata.description' <<<"${op}")" "Backing up instance"
	assert_eq "$(jq -c '.metadata.resources.backups' <<<"${op}")" '["/1.0/backups/b1"]'
	local_curl "${d}" "$(jq -r .operation <<<"${op}")/wait?timeout=30" >/dev/null
	assert_eq "$(lxc_in "${d}" query /1.0/instances/c1/backups | jq -r '.[]' | sort | tr '\n' ' ')" \
		"/1.0/instances/c1/backups/b1 /1.0/instances/c1/backups/backup0 /1.0/instances/c1/backups/old "
	assert_eq "$(lxc_in "${d}" query /1.0/instances/c1/backups/backup0 | jq -c '[.instance_only, .container_only]')" \
		"[true,true]"
	# Both clients show the backups of an instance.
	assert_eq "$(lxc_in "${d}" info c1 | sed -n '/^Backups:/,$p' | sed 's/ 20[0-9/]* [0-9:]* UTC /  TIME  /g')" \
		"$(LXD_DIR="${d}" stock_lxc "${d}.stock" info c1 | sed -n '/^Backups:/,$p' | sed 's/ 20[0-9/]* [0-9:]* UTC /  TIME  /g')" \
		"the backups in lxc info"
	assert_contains "$(lxc_in "${d}" info c1)" "| backup0 |"
	assert_fails lxc_in "${d}" query -X POST /1.0/instances/c1/backups -d '{"name": "b1"}'
	assert_contains "${FAIL_OUTPUT}" "already exists"
	assert_fails lxc_in "${d}" query /1.0/instances/c1/backups/nope
	assert_contains "${FAIL_OUTPUT}" "not found"

	local_curl "${d}" /1.0/instances/c1/backups/b1/export -o "${TEST_TMP}/b1.tar.bz2"
	assert_contains "$(file "${TEST_TMP}/b1.tar.bz2")" "bzip2 compressed"
	cmp "${TEST_TMP}/b1.tar.bz2" "${d}/backups/instances/c1/b1"
	backups_op "${d}" /1.0/instances/c1/backups/b1 -X POST -d '{"name": "b2"}'
	lxc_in "${d}" query /1.0/instances/c1/backups/b2 >/dev/null
	[ -f "${d}/backups/instances/c1/b2" ] || fail "renamed backup file missing"
	backups_op "${d}" /1.0/instances/c1/backups/b2 -X DELETE
	[ ! -e "${d}/backups/instances/c1/b2" ] || fail "deleted backup file left"
	kill "${mon}"
	wait "${mon}" 2>/dev/null || true
	for action in instance-backup-created instance-backup-retrieved instance-backup-renamed instance-backup-deleted; do
		grep -q "\"${action}\"" "${TEST_TMP}/events" || fail "no ${action} event"
	done

	assert_contains "$(grep instance-backup-renamed "${TEST_TMP}/events")" "/1.0/instances/c1/backups/b2"

	# The expired backup goes at the next pruning, which runs at start; the one without expiry stays.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(lxc_in "${d}" query /1.0/instances/c1/backups | jq -r '.[]')" "/1.0/instances/c1/backups/backup0"
	[ ! -e "${d}/backups/instances/c1/old" ] || fail "expired backup file left"

	# Backups follow a renamed instance and go with a deleted one.
	lxc_in "${d}" move c1 c2
	assert_eq "$(lxc_in "${d}" query /1.0/instances/c2/backups | jq -r '.[]')" "/1.0/instances/c2/backups/backup0"
	lxc_in "${d}" delete c2
	[ ! -e "${d}/backups/instances/c2" ] || fail "backups of a deleted instance left"
}

test_backups_btrfs() {
	local d="${TEST_TMP}/d" out
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" storage create b1 btrfs size=1GiB >/dev/null
	lxc_in "${d}" init bb c1 -s b1 >/dev/null
	lxc_in "${d}" start c1
	lxc_in "${d}" exec c1 -- sh -c 'echo one >/root/data; chown 1000:1000 /root/data'
	lxc_in "${d}" snapshot c1 s0
	lxc_in "${d}" exec c1 -- sh -c 'echo two >/root/data'
	lxc_in "${d}" export c1 "${TEST_TMP}/c1.tar.gz" >/dev/null
	assert_contains "$(tar -xzOf "${TEST_TMP}/c1.tar.gz" backup/index.yaml)" "backend: btrfs"

	# Onto the dir pool and onto the btrfs pool again, under other names.
	lxc_in "${d}" import "${TEST_TMP}/c1.tar.gz" c2 --storage default
	lxc_in "${d}" import "${TEST_TMP}/c1.tar.gz" c3
	assert_eq "$(lxc_in "${d}" query /1.0/instances/c3 | jq -r .expanded_devices.root.pool)" "b1"
	for c in c2 c3; do
		lxc_in "${d}" start "${c}"
		out=$(lxc_in "${d}" exec "${c}" -- sh -c 'cat /root/data; stat -c %u:%g /root/data')
		assert_eq "${out}" "$(printf 'two\n1000:1000')" "${c}"
		lxc_in "${d}" restore "${c}" s0
		assert_eq "$(lxc_in "${d}" exec "${c}" -- cat /root/data)" "one" "${c} restored"
	done
}

# Custom storage volumes: /1.0/storage-pools/<pool>/volumes through our client and the stock one, on a dir pool at
# a chosen source and on a btrfs loop pool: disks on volumes mounted at start and hot-plugged, snapshots and
# restore, copies and moves between pools, renames, sizes on btrfs, deletion refused while in use, bad requests
# refused without change, nothing left after deletion, and a daemon killed during a copy.

# volume_files DIR: the entries of the custom volume directories of the pool at DIR, sorted.
volume_files() {
	(cd "$1" && find custom custom-snapshots -mindepth 1 -maxdepth 2 2>/dev/null | sort | tr '\n' ' ')
}

# api_move_volume DIR POOL NAME NEWPOOL NEWNAME: moves a custom volume to another pool through the API and waits
# for the operation.
api_move_volume() {
	local op
	op=$(local_curl "$1" "/1.0/storage-pools/$2/volumes/custom/$3" -X POST -d "{\"name\":\"$5\",\"pool\":\"$4\"}" | jq -r .operation)
	[ "$(local_curl "$1" "${op}/wait" | jq -r .metadata.status)" = "Success" ]
}

test_storage_volumes_dir() {
	local d="${TEST_TMP}/d1" stock src before
	stock="${d}.stock"
	src="${TEST_TMP}/elsewhere/p1"
	spawn_instance_lxd "${d}"
	on_exit unmount_under "${d}"
	import_busybox "${d}" bb
	mkdir -p "$(dirname "${src}")"
	traversable_parents "${src}"
	LXD_DIR="${d}" stock_lxc "${stock}" storage create p1 dir source="${src}"

	# Created through both clients; shown as LXD shows them.
	lxc_in "${d}" storage volume create default v1 user.team=a
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume create p1 w1
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume list default --format csv | grep '^custom')" \
		"custom,v1,,filesystem,0" "volume list"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume get default v1 user.team)" "a" "volume key"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom/v1 | jq -r .metadata.content_type)" "filesystem" "content type"
	assert_contains "$(local_curl "${d}" /1.0/storage-pools/p1 | jq -c .metadata.used_by)" "/1.0/storage-pools/p1/volumes/custom/w1"
	assert_fails lxc_in "${d}" storage delete p1

	# Bad requests are refused with their reason, and nothing changes.
	before=$(local_curl "${d}" '/1.0/storage-pools/default/volumes?recursion=1' | jq -c .metadata)
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume create default bad/name 2>&1)" "invalid storage volume name"
	assert_contains "$(lxc_in "${d}" storage volume create default .hidden 2>&1)" "invalid storage volume name"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume create default v9 bogus.key=1 2>&1)" 'invalid storage volume configuration key "bogus.key"'
	assert_contains "$(lxc_in "${d}" storage volume create default v9 size=lots 2>&1)" 'is not a size'
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume create default v9 --type=block 2>&1)" "block storage volumes are not supported"
	assert_contains "$(lxc_in "${d}" storage volume create default v1 2>&1)" "already exists"
	assert_contains "$(lxc_in "${d}" storage volume set default v1 bogus.key=1 2>&1)" 'invalid storage volume configuration key'
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/bogus | jq -r .error_code)" "400" "bad volume type"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom/nope | jq -r .error_code)" "404" "missing volume"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom/v1 -X POST -d '{"name":"a/b"}' | jq -r .error_code)" "400" "bad new name"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom -X POST -d '{"name":"v9","source":{"type":"copy","name":"nope"}}' | jq -r .error_code)" "404" "copy of a missing volume"
	assert_eq "$(local_curl "${d}" '/1.0/storage-pools/default/volumes?recursion=1' | jq -c .metadata)" "${before}" "volumes after refused requests"

	# Mounted at start (c2) and hot-plugged (c1), the container's root writing to it.
	lxc_in "${d}" launch bb c1
	lxc_in "${d}" storage volume attach default v1 c1 data /data
	lxc_in "${d}" exec c1 -- sh -c 'echo from-c1 > /data/f'
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume show default v1 | grep -A1 used_by: | tail -1)" "- /1.0/instances/c1" "used by c1"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume delete default v1 2>&1)" "in use by /1.0/instances/c1"
	lxc_in "${d}" storage volume detach default v1 c1
	assert_fails lxc_in "${d}" exec c1 -- grep -q " /data " /proc/mounts
	lxc_in "${d}" init bb c2
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume attach default v1 c2 data /data
	assert_contains "$(lxc_in "${d}" config device add c2 bad disk pool=default source=nope path=/x 2>&1)" "not found"
	assert_contains "$(lxc_in "${d}" config device add c2 bad disk pool=nopool source=v1 path=/x 2>&1)" "not found"
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /data/f)" "from-c1" "read in c2"

	# The files are shifted to the unprivileged containers' map; a privileged container cannot take the volume
	# from a running one.
	assert_contains "$(lxc_in "${d}" storage volume get default v1 volatile.idmap.last)" '"Hostid":'
	lxc_in "${d}" init bb c3 -c security.privileged=true
	lxc_in "${d}" storage volume attach default v1 c3 data /data
	assert_contains "$(lxc_in "${d}" start c3 2>&1)" "cannot be shifted to another id map while it is used by running instances c2"
	lxc_in "${d}" delete -f c3

	# Profiles.
	lxc_in "${d}" profile create pv
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume attach-profile p1 w1 pv data /data
	assert_contains "$(local_curl "${d}" /1.0/storage-pools/p1/volumes/custom/w1 | jq -c .metadata.used_by)" "/1.0/profiles/pv"
	assert_contains "$(lxc_in "${d}" storage volume delete p1 w1 2>&1)" "/1.0/profiles/pv"
	api_move_volume "${d}" p1 w1 default w2
	assert_eq "$(lxc_in "${d}" profile device get pv data pool)/$(lxc_in "${d}" profile device get pv data source)" "default/w2" "the profile's disk follows the move"
	api_move_volume "${d}" default w2 p1 w1
	lxc_in "${d}" storage volume detach-profile p1 w1 pv

	# Snapshots and restore; a volume used by a running instance is not restored.
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume snapshot default v1 s0
	lxc_in "${d}" storage volume snapshot default v1
	assert_eq "$(lxc_in "${d}" storage volume list default --format csv | grep snapshot | cut -d, -f2 | sort | tr '\n' ' ')" "v1/s0 v1/snap0 " "snapshots"
	lxc_in "${d}" exec c2 -- sh -c 'echo changed > /data/f'
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume restore default v1 s0 2>&1)" "running instances c2"
	lxc_in "${d}" stop -f c2
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume restore default v1 s0
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume rename default v1/snap0 v1/last
	lxc_in "${d}" storage volume delete default v1/last
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /data/f)" "from-c1" "restored"

	# Copies and moves between pools, with their snapshots; renames.
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume copy default/v1 p1/v2
	assert_eq "$(lxc_in "${d}" storage volume list p1 --format csv | cut -d, -f2 | sort | tr '\n' ' ')" "v2 v2/s0 w1 " "copy with its snapshot"
	lxc_in "${d}" storage volume copy default/v1/s0 default/v3
	lxc_in "${d}" storage volume move p1/v2 default/v4
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume rename default v4 v5
	assert_eq "$(lxc_in "${d}" storage volume list default --format csv | grep ^custom | cut -d, -f2 | sort | tr '\n' ' ')" "v1 v1/s0 v3 v5 v5/s0 " "after move and rename"
	lxc_in "${d}" stop -f c2
	lxc_in "${d}" config device set c2 data source=v5
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /data/f)" "from-c1" "moved volume content"
	assert_contains "$(lxc_in "${d}" storage volume rename default v5 v6 2>&1)" "used by running instances c2"
	lxc_in "${d}" stop -f c2
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume rename default v5 v6
	assert_eq "$(lxc_in "${d}" config device get c2 data source)" "v6" "the disk follows the rename"
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /data/f)" "from-c1" "renamed volume content"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume info default v6 | grep -c Usage:)" "1" "volume info"

	# Killed during a copy, once staged and once placed before its commit: nothing is left after the restart.
	before=$(volume_files "${src}")
	kill_pool_op "${d}" volume-copied env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage volume copy default/v1 p1/k1
	kill_pool_op "${d}" volume-placed env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage volume copy default/v1 p1/k1
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1/volumes/custom/k1 | jq -r .error_code)" "404" "copy killed"
	assert_eq "$(volume_files "${src}")" "${before}" "storage after killed copies"
	lxc_in "${d}" storage volume copy default/v1 p1/k1

	# Killed once a move is recorded, before the source's storage is removed: the next start removes it. (Both
	# clients move between pools as a copy and a deletion; the API moves in one operation.)
	kill_pool_op "${d}" volume-moved api_move_volume "${d}" p1 k1 default k2
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom/k2 | jq -r .metadata.name)" "k2" "moved volume"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/p1/volumes/custom/k1 | jq -r .error_code)" "404" "source of the move"
	assert_eq "$(volume_files "${src}")" "${before}" "p1 after a killed move"

	# Deleted (once killed after the row is gone, before the storage is): nothing is left.
	lxc_in "${d}" delete -f c1 c2
	kill_pool_op "${d}" volume-row-deleted lxc_in "${d}" storage volume delete default v3
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom/v3 | jq -r .error_code)" "404" "deletion killed"
	for v in default/v1 default/v6 p1/w1 default/k2; do
		lxc_in "${d}" storage volume delete "${v%%/*}" "${v#*/}"
	done

	assert_eq "$(volume_files "${src}")" "" "p1 after deletion"
	assert_eq "$(volume_files "${d}/storage-pools/default")" "" "default after deletion"
	LXD_DIR="${d}" stock_lxc "${stock}" storage delete p1
	[ ! -e "${src}" ] || fail "the source of p1 is left"
}

test_storage_volumes_btrfs() {
	local d="${TEST_TMP}/d1" stock mnt
	stock="${d}.stock"
	spawn_instance_lxd "${d}"
	on_exit unmount_under "${d}"
	import_busybox "${d}" bb
	mnt="${d}/storage-pools/b1"
	LXD_DIR="${d}" stock_lxc "${stock}" storage create b1 btrfs size=1GiB

	# A volume with a size: a subvolume whose quota refuses a larger write in the container.
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume create b1 q size=50MiB
	lxc_in "${d}" launch bb c1 -s b1
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume attach b1 q c1 data /data
	lxc_in "${d}" exec c1 -- sh -c 'dd if=/dev/zero of=/data/small bs=1M count=10 && sync'
	assert_fails lxc_in "${d}" exec c1 -- sh -c 'dd if=/dev/urandom of=/data/big bs=1M count=100 && sync /data/big'
	lxc_in "${d}" exec c1 -- rm -f /data/big
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" storage volume info b1 q | grep -c 'Usage:')" "1" "usage shown"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/b1/volumes/custom/q/state | jq -r .metadata.usage.total)" "52428800" "total"

	# Snapshots are read-only subvolumes; copies to dir and back keep the data.
	LXD_DIR="${d}" stock_lxc "${stock}" storage volume snapshot b1 q s0
	assert_eq "$(pool_subvolumes "${mnt}" | grep -c '^custom')" "2" "volume and snapshot subvolumes"
	lxc_in "${d}" storage volume copy b1/q default/qd
	lxc_in "${d}" storage volume move default/qd b1/qb
	lxc_in "${d}" storage volume detach b1 q c1
	lxc_in "${d}" storage volume attach b1 qb c1 data /data
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %s /data/small)" "10485760" "copied back"
	lxc_in "${d}" storage volume detach b1 qb c1

	# Killed during a copy on btrfs: no subvolume is left.
	before=$(pool_subvolumes "${mnt}" | tr '\n' ' ')
	kill_pool_op "${d}" volume-placed env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc storage volume copy b1/q b1/k1
	assert_eq "$(pool_subvolumes "${mnt}" | tr '\n' ' ')" "${before}" "subvolumes after a killed copy"

	# Deleted: no subvolume of a volume is left.
	lxc_in "${d}" storage volume delete b1 q
	lxc_in "${d}" storage volume delete b1 qb
	assert_eq "$(pool_subvolumes "${mnt}" | grep -c '^custom')" "0" "volume subvolumes after deletion"
	lxc_in "${d}" delete -f c1
	LXD_DIR="${d}" stock_lxc "${stock}" storage delete b1
}

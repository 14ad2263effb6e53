# lxc move (instance and snapshot rename) with our client and the stock LXD 5.0.2 client.

test_instances_move() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local stock="${d}.stock"
	local pool="${d}/storage-pools/default"

	# A running instance is not renamed, by either client, and nothing changes.
	lxc_in "${d}" launch bb c1
	assert_fails lxc_in "${d}" move c1 c2
	assert_contains "${FAIL_OUTPUT}" "Renaming of running container not allowed"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc move c1 c2
	assert_contains "${FAIL_OUTPUT}" "Renaming of running container not allowed"
	assert_eq "$(lxc_in "${d}" list --format csv -c ns)" "c1,RUNNING" "instances after refused renames"

	# A stopped one is, with its snapshots, and its rename templates render.
	lxc_in "${d}" stop c1
	lxc_in "${d}" snapshot c1 snap0
	lxc_in "${d}" move c1 c2
	assert_eq "$(lxc_in "${d}" list --format csv -c n)" "c2" "instances after rename"
	assert_eq "$(cat "${pool}/containers/c2/upper/etc/hostname")" "c2" "hostname after rename"
	assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c2/snapshots/snap0" "snapshot after rename"

	# Snapshot rename, then both renames again with the stock client.
	lxc_in "${d}" move c2/snap0 c2/snap1
	assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c2/snapshots/snap1" "renamed snapshot"
	[ -d "${pool}/containers-snapshots/c2/snap1/rootfs" ] || fail "renamed snapshot storage"
	LXD_DIR="${d}" stock_lxc "${stock}" move c2 c3
	LXD_DIR="${d}" stock_lxc "${stock}" move c3/snap1 c3/snap2
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c3/snapshots/snap2" "stock snapshot rename"
	assert_eq "$(cat "${pool}/containers/c3/upper/etc/hostname")" "c3" "hostname after stock rename"

	# Errors leave everything as it was.
	lxc_in "${d}" init bb c4
	assert_fails lxc_in "${d}" move c3 c4
	assert_contains "${FAIL_OUTPUT}" "already exists"
	assert_fails lxc_in "${d}" move nope c5
	assert_fails lxc_in "${d}" move c3/nope c3/other
	assert_fails lxc_in "${d}" move c3/snap2 c4/snap2
	assert_fails lxc_in "${d}" move c3 c3/snap9
	assert_eq "$(lxc_in "${d}" list --format csv -c n | tr '\n' ' ')" "c3 c4 " "instances after failed moves"
	assert_eq "$(cat "${pool}/containers/c3/upper/etc/hostname")" "c3" "hostname after failed moves"
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/snapshots | jq -r '.metadata | length')" "1" "snapshots after failed moves"
}

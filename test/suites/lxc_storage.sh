# lxc storage and lxc storage volume: our client against the stock LXD 5.0.2 daemon (in a network namespace of the
# test's own), next to the stock client: the same output, and changes with the same effect.

# storage_api_fields: drops the volume fields api.StorageVolume does not carry yet (project, created_at) from YAML
# or JSON read on stdin, so that the rest of the two clients' output can be compared.
storage_api_fields() {
	sed -E -e '/^ *(- )?(project|created_at): /d' -e 's/,"project":"[^"]*"//g; s/,"created_at":"[^"]*"//g'
}

# storage_space_masked: hides the used space of "lxc storage info", which moves while other tests write.
storage_space_masked() {
	sed -E 's/^(  space used: ).*/\1X/'
}

# storage_error_case: lower-cases the first letter of an error message.
storage_error_case() {
	sed -E 's/^Error: (.)/Error: \L\1/'
}

test_lxc_storage_stock() {
	local d="${TEST_TMP}/stock" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_stock_lxd "${d}"
	mkdir -p "${TEST_TMP}/src1" "${TEST_TMP}/src2" "${TEST_TMP}/src3"

	ours() {
		LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" "$@"
	}

	theirs() {
		LXD_DIR="${d}" stock_lxc "${TEST_TMP}/stock.conf" "$@"
	}

	# same ARGS...: both clients print the same and exit the same way. Error messages are compared from their second
	# letter: ours start in lower case, as every message of this client does.
	same() {
		local o t orc=0 trc=0
		o=$(ours "$@" 2>&1 | storage_error_case) || orc=$?
		t=$(theirs "$@" 2>&1 | storage_error_case) || trc=$?
		assert_eq "${o}" "${t}" "lxc $*"
		assert_eq "${orc}" "${trc}" "exit status of lxc $*"
	}

	# same_vol ARGS...: as same, for output holding volumes.
	same_vol() {
		assert_eq "$(ours "$@" 2>&1 | storage_api_fields)" "$(theirs "$@" 2>&1 | storage_api_fields)" "lxc $*"
	}

	# The stock client's first run prints a welcome; it is not part of what is compared.
	theirs storage list >/dev/null 2>&1

	# No pool yet: the empty list.
	same storage list
	assert_contains "$(ours storage list)" "| NAME | DRIVER | SOURCE | DESCRIPTION | USED BY | STATE |"

	# Pools: ours creates p1, the stock client p2; both list, show and describe them alike.
	assert_eq "$(ours storage create p1 dir source="${TEST_TMP}/src1" user.k=v)" "Storage pool p1 created"
	theirs storage create p2 dir source="${TEST_TMP}/src2" user.k=v >/dev/null
	assert_eq "$(theirs storage show p1 | sed 's/p1/pN/g; s/src1/srcN/')" "$(theirs storage show p2 | sed 's/p2/pN/g; s/src2/srcN/')" \
		"a pool created by ours against one created by the stock client"
	for f in table csv json yaml compact; do
		same storage list --format "${f}"
	done

	same storage list local:
	same storage show p1
	same storage get p1 source
	same storage get p1 nope
	assert_eq "$(ours storage info p1 | storage_space_masked)" "$(theirs storage info p1 | storage_space_masked)" "storage info"
	assert_contains "$(ours storage info p1)" "  total space: "
	assert_eq "$(ours storage info p1 --bytes | grep 'total space')" "$(theirs storage info p1 --bytes | grep 'total space')" \
		"storage info --bytes"
	same storage show p1 --target none
	same storage info p1 --target none
	for cli in ours theirs; do
		assert_eq "$("${cli}" storage create p3 dir source="${TEST_TMP}/src3" --target none)" \
			"Storage pool p3 pending on member none" "${cli}: create --target none"
		"${cli}" storage delete p3 >/dev/null
	done
	assert_fails ours storage show p1 --resources --target nobody
	assert_contains "${FAIL_OUTPUT}" "Error: cluster member not found"
	assert_fails theirs storage show p1 --resources --target nobody
	assert_contains "${FAIL_OUTPUT}" "Error: Cluster member not found"

	# set, unset, edit: the same effect as the stock client's on its own pool.
	ours storage set p1 user.a=1 user.b=2
	theirs storage set p2 user.a=1 user.b=2
	ours storage set p1 user.c 3
	theirs storage set p2 user.c 3
	ours storage unset p1 user.a
	theirs storage unset p2 user.a
	printf 'description: edited\nconfig:\n  source: %s\n  user.e: "5"\n' "${TEST_TMP}/src1" | ours storage edit p1
	printf 'description: edited\nconfig:\n  source: %s\n  user.e: "5"\n' "${TEST_TMP}/src2" | theirs storage edit p2
	assert_eq "$(theirs storage show p1 | sed 's/p1/pN/g; s/src1/srcN/')" "$(theirs storage show p2 | sed 's/p2/pN/g; s/src2/srcN/')" \
		"pools after set, unset and edit"
	assert_eq "$(theirs storage get p1 user.e)" "5" "key set by edit"
	assert_eq "$(theirs storage get p1 user.a)" "" "key unset"

	# Bad input: the same refusals, nothing created.
	same storage create p1 dir
	same storage create p3 nodriver
	same storage show nopool
	same storage set p1 user.x=1 user.y 2
	assert_fails ours storage create p3 dir novalue
	assert_contains "${FAIL_OUTPUT}" "Error: bad key=value pair: [novalue]"
	assert_contains "$(ours storage show)" "Usage:"
	assert_fails ours storage get p1
	assert_contains "${FAIL_OUTPUT}" "Error: invalid number of arguments"
	assert_fails ours storage show local:
	assert_contains "${FAIL_OUTPUT}" "Error: missing pool name"
	assert_eq "$(theirs storage list -f csv | cut -d, -f1 | tr '\n' ' ')" "p1 p2 " "pools after refused creations"

	# Volumes: ours creates v1 and a block volume, the stock client w1; both list and show them alike.
	assert_eq "$(ours storage volume create p1 v1 user.foo=bar)" "Storage volume v1 created"
	assert_eq "$(ours storage volume create p1 custom/blk size=10MiB --type=block)" "Storage volume custom/blk created"
	theirs storage volume create p1 w1 user.foo=bar >/dev/null
	assert_eq "$(theirs storage volume show p1 v1 | sed 's/v1/vN/')" "$(theirs storage volume show p1 w1 | sed 's/w1/vN/')" \
		"a volume created by ours against one created by the stock client"
	assert_eq "$(theirs storage volume get p1 blk size)" "10MiB" "block volume size"
	assert_contains "$(theirs storage volume list p1 -f csv)" "custom,blk,,block,0"
	for f in table csv compact; do
		same storage volume list p1 --format "${f}"
	done

	for f in json yaml; do
		same_vol storage volume list p1 --format "${f}"
	done

	same storage volume list p1 -c ndtcu
	same storage volume list p1 v
	same storage volume list p1 type=custom content_type=block
	same storage volume list p1 config.user.foo=bar -f csv
	same storage volume list p1 name=v1 user.foo=bar -f csv
	same_vol storage volume show p1 v1
	same_vol storage volume show p1 custom/v1
	same storage volume get p1 v1 user.foo
	same storage volume info p1 v1
	same storage volume show p1 nope
	same storage volume show nopool v1
	same storage volume create p1 v1
	same storage volume create p1 image/x
	same storage volume info p1 image/x
	assert_fails ours storage volume list p1 -c L
	assert_contains "${FAIL_OUTPUT}" "Error: can't specify column L when not clustered"
	assert_fails ours storage volume create p1 bad novalue
	assert_contains "${FAIL_OUTPUT}" "Error: bad key=value pair: [novalue]"
	assert_fails theirs storage volume show p1 bad

	# set, unset, edit of volumes.
	ours storage volume set p1 v1 user.a=1 user.b=2
	theirs storage volume set p1 w1 user.a=1 user.b=2
	ours storage volume set p1 v1 user.c 3
	theirs storage volume set p1 w1 user.c 3
	ours storage volume unset p1 v1 user.a
	theirs storage volume unset p1 w1 user.a
	printf 'description: edited\nconfig:\n  user.e: "5"\n' | ours storage volume edit p1 v1
	printf 'description: edited\nconfig:\n  user.e: "5"\n' | theirs storage volume edit p1 w1
	assert_eq "$(theirs storage volume show p1 v1 | sed 's/v1/vN/')" "$(theirs storage volume show p1 w1 | sed 's/w1/vN/')" \
		"volumes after set, unset and edit"
	assert_eq "$(theirs storage volume get p1 v1 user.e)" "5" "volume key set by edit"

	# Snapshots: create (named and not), show, list, edit, rename, restore, delete.
	echo data1 >"${TEST_TMP}/src1/custom/default_v1/f"
	ours storage volume snapshot p1 v1 s1
	ours storage volume snapshot p1 v1
	theirs storage volume snapshot p1 w1 s1
	theirs storage volume snapshot p1 w1
	same storage volume list p1 -f csv
	assert_contains "$(ours storage volume list p1 -f csv)" "custom (snapshot),v1/s1,edited,filesystem,0"
	assert_contains "$(ours storage volume list p1 -f csv)" "custom (snapshot),v1/snap0,edited,filesystem,0"
	same_vol storage volume show p1 v1/s1
	same storage volume snapshot p1 v1 s1
	ours storage volume snapshot p1 v1 s1 --reuse
	printf 'description: snap\n' | ours storage volume edit p1 v1/s1
	assert_contains "$(theirs storage volume show p1 v1/s1)" "description: snap"
	echo data2 >"${TEST_TMP}/src1/custom/default_v1/f"
	ours storage volume restore p1 v1 s1
	assert_eq "$(cat "${TEST_TMP}/src1/custom/default_v1/f")" "data1" "file after restore"
	same storage volume restore p1 v1 nosnap
	assert_eq "$(ours storage volume rename p1 v1/snap0 v1/snap9)" 'Renamed storage volume from "v1/snap0" to "snap9"'
	theirs storage volume show p1 v1/snap9 >/dev/null
	same storage volume rename p1 v1/s1 other/s2
	same storage volume rename p1 v1/s1 s2
	same storage volume set p1 v1/s1 user.x=1
	same storage volume snapshot p1 container/v1
	same storage volume restore p1 custom/v1 s1
	assert_eq "$(ours storage volume delete p1 v1/snap9)" "Storage volume v1/snap9 deleted"
	assert_fails theirs storage volume show p1 v1/snap9

	# Rename, copy (of a volume, of a snapshot, to another pool, volume only, refresh), move.
	assert_eq "$(ours storage volume rename p1 v1 v2)" 'Renamed storage volume from "v1" to "v2"'
	same storage volume rename p1 v2 w1
	assert_eq "$(ours storage volume copy p1/v2 p2/c1)" "Storage volume copied successfully!"
	assert_eq "$(theirs storage volume get p2 c1 user.e)" "5" "copied configuration"
	assert_eq "$(cat "${TEST_TMP}/src2/custom/default_c1/f")" "data1" "copied content"
	assert_contains "$(theirs storage volume list p2 -f csv)" "custom (snapshot),c1/s1,snap,filesystem,0"
	ours storage volume copy p1/v2 p2/c2 --volume-only >/dev/null
	assert_eq "$(theirs storage volume list p2 -f csv | grep -c 'c2/')" "0" "snapshots of a --volume-only copy"
	ours storage volume copy p1/v2/s1 p1/c3 >/dev/null
	assert_eq "$(cat "${TEST_TMP}/src1/custom/default_c3/f")" "data1" "content of a snapshot's copy"
	same storage volume copy p1/v2 p2/c1
	ours storage volume copy p1/v2 p2/c1 --refresh >/dev/null
	same storage volume copy v2 p1/x
	same storage volume copy p1/v2 x
	same storage volume copy p1/nope p1/x
	assert_eq "$(ours storage volume move p1/c3 p2/c4)" "Storage volume moved successfully!"
	assert_fails theirs storage volume show p1 c3
	assert_eq "$(cat "${TEST_TMP}/src2/custom/default_c4/f")" "data1" "content of a moved volume"
	ours storage volume move p2/c4 p2/c5 >/dev/null
	theirs storage volume show p2 c5 >/dev/null
	assert_fails theirs storage volume show p2 c4

	# Attach and detach: to an instance of the stock daemon, and to a profile.
	theirs image import "${fixtures}/unified.tar.xz" --alias bb >/dev/null
	theirs profile device add default root disk path=/ pool=p1 >/dev/null
	theirs init bb c1 >/dev/null
	ours storage volume attach p1 v2 c1 /mnt/v2
	ours storage volume attach p1 v2 c1 data2 /mnt/d2
	assert_eq "$(theirs config device get c1 v2 path)" "/mnt/v2" "device named after the volume"
	assert_eq "$(theirs config device get c1 data2 source)" "v2" "named device"
	assert_eq "$(theirs storage volume list p1 -f csv -c nu | grep '^v2,')" "v2,1" "volume used by the instance"
	same storage volume detach p1 v2 c1
	same storage volume attach p1 blk c1
	same storage volume attach p1 container/c1 c1 /x
	same storage volume attach p1 v2 nosuch /x
	assert_fails ours storage volume attach p1 v2 c1 /again
	assert_contains "${FAIL_OUTPUT}" "Error: the device already exists"
	ours storage volume detach p1 v2 c1 data2
	same storage volume detach p1 v2 c1 nodev
	ours storage volume detach p1 v2 c1
	same storage volume detach p1 v2 c1
	assert_eq "$(theirs config device list c1)" "" "devices after detach"
	ours storage volume attach-profile p1 v2 default pv /mnt/pv
	assert_eq "$(theirs profile device get default pv path)" "/mnt/pv" "profile device"
	same storage volume attach-profile p1 v2 default pv /mnt/pv
	same storage volume attach-profile p1 nope default /mnt/pv
	ours storage volume detach-profile p1 v2 default
	assert_fails theirs profile device get default pv path

	# Another project's volumes, through --project and --target-project.
	theirs project create pj -c features.storage.volumes=true >/dev/null
	assert_eq "$(ours storage volume create p1 pv1 --project pj)" "Storage volume pv1 created"
	ours storage volume snapshot p1 pv1 --project pj
	ours storage volume copy p1/pv1 p1/pv2 --project pj --target-project default >/dev/null
	same storage volume list p1 --project pj
	same storage volume list p1 -f csv
	assert_contains "$(theirs storage volume list p1 -f csv --project pj)" "custom (snapshot),pv1/snap0,,filesystem,0"
	assert_contains "$(theirs storage volume list p1 -f csv)" "custom (snapshot),pv2/snap0,,filesystem,0"
	assert_contains "$(ours storage info p1)" '  - pv1 (project "pj")'

	# Used by: the instance, the profile and the volumes, as the stock client groups them.
	assert_eq "$(ours storage info p1 | storage_space_masked)" "$(theirs storage info p1 | storage_space_masked)" "storage info with users"
	assert_contains "$(ours storage info p1)" "  instances:
  - c1"

	# Delete: refused while in use, then done.
	same storage volume delete p1 container/c1
	same storage delete p1
	theirs delete c1
	assert_eq "$(ours storage volume delete p1 blk)" "Storage volume blk deleted"
	assert_fails theirs storage volume show p1 blk
	for v in v2 w1 pv2; do
		ours storage volume delete p1 "${v}" >/dev/null
	done

	ours storage volume delete p1 pv1 --project pj >/dev/null
	theirs project delete pj >/dev/null

	for v in c1 c2 c5; do
		ours storage volume delete p2 "${v}" >/dev/null
	done

	theirs profile device remove default root >/dev/null
	theirs image delete bb
	assert_eq "$(ours storage delete p2)" "Storage pool p2 deleted"
	ours storage delete p1 >/dev/null
	same storage list -f csv
	assert_eq "$(theirs storage list -f csv)" "" "pools after delete"
}

# Our client and the stock one against our daemon: the pool commands print and do the same (the daemon serves no
# volumes yet; its pools take the volume.* keys).
test_lxc_storage_ours() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	mkdir -p "${TEST_TMP}/src1" "${TEST_TMP}/src2"
	traversable_parents "${TEST_TMP}/src1"

	ours() {
		lxc_in "${d}" "$@"
	}

	theirs() {
		LXD_DIR="${d}" stock_lxc "${d}.stock" "$@"
	}

	same() {
		local o t orc=0 trc=0
		o=$(ours "$@" 2>&1 | storage_error_case) || orc=$?
		t=$(theirs "$@" 2>&1 | storage_error_case) || trc=$?
		assert_eq "${o}" "${t}" "lxc $*"
		assert_eq "${orc}" "${trc}" "exit status of lxc $*"
	}

	theirs storage list >/dev/null 2>&1

	# The default pool, listed and shown alike.
	for f in table csv json yaml compact; do
		same storage list --format "${f}"
	done

	same storage show default
	same storage get default source

	# Pools created by ours and by the stock client look alike.
	assert_eq "$(ours storage create p1 dir source="${TEST_TMP}/src1" volume.snapshots.expiry=1d)" "Storage pool p1 created"
	theirs storage create p2 dir source="${TEST_TMP}/src2" volume.snapshots.expiry=1d >/dev/null
	assert_eq "$(theirs storage show p1 | sed 's/p1/pN/g; s/src1/srcN/')" "$(theirs storage show p2 | sed 's/p2/pN/g; s/src2/srcN/')" \
		"a pool created by ours against one created by the stock client"
	same storage list -f csv
	same storage show p1
	assert_eq "$(ours storage info p1 | storage_space_masked)" "$(theirs storage info p1 | storage_space_masked)" "storage info"
	assert_contains "$(ours storage info p1)" "  total space: "

	# set, unset and edit with the same effect.
	ours storage set p1 volume.snapshots.pattern=s%d volume.snapshots.schedule=@daily
	theirs storage set p2 volume.snapshots.pattern=s%d volume.snapshots.schedule=@daily
	ours storage unset p1 volume.snapshots.pattern
	theirs storage unset p2 volume.snapshots.pattern
	assert_eq "$(theirs storage show p1 | sed 's/p1/pN/g; s/src1/srcN/')" "$(theirs storage show p2 | sed 's/p2/pN/g; s/src2/srcN/')" \
		"pools after set and unset"
	assert_eq "$(ours storage get p1 volume.snapshots.schedule)" "@daily" "key set"
	assert_eq "$(ours storage get p1 volume.snapshots.pattern)" "" "key unset"
	printf 'description: edited\nconfig:\n  source: %s\n  volume.snapshots.expiry: 5d\n' "${TEST_TMP}/src1" | ours storage edit p1
	printf 'description: edited\nconfig:\n  source: %s\n  volume.snapshots.expiry: 5d\n' "${TEST_TMP}/src2" | theirs storage edit p2
	assert_eq "$(theirs storage show p1 | sed 's/p1/pN/g; s/src1/srcN/')" "$(theirs storage show p2 | sed 's/p2/pN/g; s/src2/srcN/')" \
		"pools after set, unset and edit"
	assert_eq "$(ours storage get p1 volume.snapshots.expiry)" "5d" "key set by edit"

	# Refusals: the daemon's words through both clients, nothing changed.
	same storage create p1 dir
	same storage create p3 nodriver
	same storage show nopool
	same storage set p1 bogus.key=1
	same storage delete default
	assert_eq "$(theirs storage list -f csv | cut -d, -f1 | tr '\n' ' ')" "default p1 p2 " "pools after refusals"

	# Delete.
	assert_eq "$(ours storage delete p1)" "Storage pool p1 deleted"
	theirs storage delete p2 >/dev/null
	same storage list -f csv
	[ -z "$(ls -A "${TEST_TMP}/src1")" ] || fail "p1 left files in its source: $(ls -A "${TEST_TMP}/src1")"
}

# Instance snapshots: complete copies of the root filesystem, created, listed, renamed, restored and deleted with
# our client, the stock client and the REST API.

test_instances_snapshots() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local stock="${d}.stock"

	lxc_in "${d}" launch bb c1
	lxc_in "${d}" exec c1 -- sh -c 'echo one > /root/state; mkdir -p /root/dir; ln -s state /root/link; chown 12:34 /root/state'

	# A snapshot of a running instance, named by the daemon.
	lxc_in "${d}" snapshot c1
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c1/snapshots/snap0" "snapshot list"
	snapdir="${d}/storage-pools/default/containers-snapshots/c1/snap0/rootfs"
	assert_eq "$(cat "${snapdir}/root/state")" "one" "snapshot content"
	assert_eq "$(readlink "${snapdir}/root/link")" "state" "snapshot symlink"
	[ -x "${snapdir}/bin/busybox" ] || fail "the snapshot misses the image files"
	host_uid=$(stat -c %u "${d}/storage-pools/default/containers/c1/rootfs/root/state")
	assert_eq "$(stat -c %u "${snapdir}/root/state")" "${host_uid}" "snapshot ownership"

	# Changes after the snapshot; a named snapshot from the stock client, with lifecycle events.
	lxc_in "${d}" exec c1 -- sh -c 'echo two > /root/state; rm /root/link; touch /root/new'
	LXD_DIR="${d}" stock_lxc "${stock}" monitor --type lifecycle --format json >"${d}.events" 2>/dev/null &
	local mon=$!
	sleep 0.5
	LXD_DIR="${d}" stock_lxc "${stock}" snapshot c1 second
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots/second | jq -r .metadata.name)" "second"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" info c1)" "second"
	assert_contains "$(lxc_in "${d}" info c1)" "snap0"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" list --format csv -c nS)" "c1,2"
	assert_contains "$(lxc_in "${d}" list --format csv -c nS)" "c1,2"

	# Restore: the running instance goes back to snap0 and runs again.
	lxc_in "${d}" restore c1 snap0
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/state)" "one" "restored content"
	assert_eq "$(lxc_in "${d}" exec c1 -- readlink /root/link)" "state" "restored symlink"
	assert_fails lxc_in "${d}" exec c1 -- test -e /root/new
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %u:%g /root/state)" "12:34" "restored ownership"
	assert_contains "$(lxc_in "${d}" list --format csv -c ns)" "c1,RUNNING"

	# The stock client restores a stopped instance, and deletes a snapshot.
	lxc_in "${d}" stop c1
	LXD_DIR="${d}" stock_lxc "${stock}" restore c1 second
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/state)" "two" "restored second"
	LXD_DIR="${d}" stock_lxc "${stock}" delete c1/second
	lxc_in "${d}" delete c1/snap0
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots | jq -r '.metadata | length')" "0" "snapshots after delete"
	[ ! -e "${d}/storage-pools/default/containers-snapshots/c1/snap0" ] || fail "snapshot storage left behind"
	kill "${mon}" 2>/dev/null || true
	wait "${mon}" 2>/dev/null || true
	for action in instance-snapshot-created instance-paused instance-resumed instance-snapshot-restored instance-snapshot-deleted; do
		grep -q "\"${action}\"" "${d}.events" || fail "no ${action} event"
	done

	# Rename, expiry, errors.
	lxc_in "${d}" snapshot c1 a
	out=$(local_curl "${d}" /1.0/instances/c1/snapshots/a -X POST -d '{"name": "b"}' | jq -r .operation)
	assert_eq "$(local_curl "${d}" "${out}/wait?timeout=30" | jq -r .metadata.status)" "Success" "rename"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots/b | jq -r .metadata.name)" "b"
	[ -d "${d}/storage-pools/default/containers-snapshots/c1/b/rootfs" ] || fail "renamed snapshot storage"
	out=$(local_curl "${d}" /1.0/instances/c1/snapshots -X POST -d '{"name": "exp", "expires_at": "2030-01-02T03:04:05Z"}' | jq -r .operation)
	local_curl "${d}" "${out}/wait?timeout=30" >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots/exp | jq -r .metadata.expires_at)" "2030-01-02T03:04:05Z"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots -X POST -d '{"name": "b"}' | jq -r .error_code)" "409" "duplicate snapshot"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots -X POST -d '{"name": "a/b"}' | jq -r .error_code)" "400" "bad snapshot name"
	assert_eq "$(local_curl "${d}" /1.0/instances/nope/snapshots -X POST -d '{"name": "s"}' | jq -r .error_code)" "404" "unknown instance"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots/nope | jq -r .error_code)" "404" "unknown snapshot"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 -X PUT -d '{"restore": "nope"}' | jq -r .error_code)" "404" "restore unknown"
	assert_fails lxc_in "${d}" snapshot nope
	assert_fails lxc_in "${d}" snapshot c1 b
	assert_contains "${FAIL_OUTPUT}" "already exists"

	# Renaming the instance keeps its snapshots; deleting it removes them.
	lxc_in "${d}" stop c1
	local_curl "${d}" "$(local_curl "${d}" /1.0/instances/c1 -X POST -d '{"name": "c2"}' | jq -r .operation)/wait?timeout=30" >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata | length')" "2" "snapshots after rename"
	lxc_in "${d}" restore c2 b
	lxc_in "${d}" delete c2
	assert_no_instance "${d}" c2
	[ ! -e "${d}/storage-pools/default/containers-snapshots/c2" ] || fail "snapshots left after delete"
}

test_instances_publish() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local stock="${d}.stock"

	lxc_in "${d}" launch bb c1
	lxc_in "${d}" exec c1 -- sh -c 'echo published > /root/mark; ln /root/mark /root/hard; chown 7:8 /root/mark'

	# A running instance is refused without --force, and nothing is stored.
	before=$(ls "${d}/images")
	assert_fails lxc_in "${d}" publish c1 --alias p0
	assert_contains "${FAIL_OUTPUT}" "running"
	res=$(local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/json' -d '{"source": {"type": "instance", "name": "c1"}}')
	assert_eq "$(echo "${res}" | jq -r .error_code)" "400" "publish running"
	assert_eq "$(ls "${d}/images")" "${before}" "store after refused publish"

	# --force stops, publishes (gzip by default) and starts again.
	out=$(lxc_in "${d}" publish c1 --alias p1 --force description="my image")
	assert_contains "${out}" "Instance published with fingerprint"
	assert_contains "$(lxc_in "${d}" list --format csv -c ns)" "c1,RUNNING"
	fp=$(local_curl "${d}" /1.0/images/aliases/p1 | jq -r .metadata.target)
	assert_eq "$(sha256sum "${d}/images/${fp}" | cut -d' ' -f1)" "${fp}" "fingerprint of the stored file"
	assert_eq "$(file -b --mime-type "${d}/images/${fp}")" "application/gzip" "default compression"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.properties.description)" "my image"
	assert_contains "$(tar -xzOf "${d}/images/${fp}" metadata.yaml)" "hostname"
	assert_contains "$(tar -tzf "${d}/images/${fp}")" "templates/"
	assert_contains "$(tar -tvzf "${d}/images/${fp}" rootfs/root/mark --numeric-owner)" " 7/8 "

	# The export is byte-identical, and the image launches.
	mkdir "${d}.export"
	lxc_in "${d}" image export p1 "${d}.export/" >/dev/null
	cmp "${d}.export/"* "${d}/images/${fp}"
	lxc_in "${d}" launch p1 c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /root/mark)" "published" "published content"
	assert_eq "$(lxc_in "${d}" exec c2 -- stat -c %u:%g:%h /root/mark)" "7:8:2" "owner and links in the new instance"
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /etc/hostname)" "c2" "templates rendered for the new instance"

	# From a snapshot, uncompressed, with the stock client; properties come from the instance's image keys.
	lxc_in "${d}" snapshot c1 s0
	LXD_DIR="${d}" stock_lxc "${stock}" publish c1/s0 --alias p2 --compression none >/dev/null
	fp2=$(local_curl "${d}" /1.0/images/aliases/p2 | jq -r .metadata.target)
	assert_eq "$(file -b --mime-type "${d}/images/${fp2}")" "application/x-tar" "uncompressed"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp2}" | jq -r .metadata.properties.os)" \
		"$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["image.os"]')" "properties from the instance"

	# The server's default compression applies, and the stock client publishes a stopped instance.
	lxc_in "${d}" config set images.compression_algorithm xz
	lxc_in "${d}" stop c2
	LXD_DIR="${d}" stock_lxc "${stock}" publish c2 --alias p3 >/dev/null
	fp3=$(local_curl "${d}" /1.0/images/aliases/p3 | jq -r .metadata.target)
	assert_eq "$(file -b --mime-type "${d}/images/${fp3}")" "application/x-xz" "server compression"

	# Errors.
	assert_fails lxc_in "${d}" publish nope
	assert_fails lxc_in "${d}" publish c1/nope
	res=$(local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/json' -d '{"source": {"type": "snapshot", "name": "c1/s0"}, "compression_algorithm": "rar"}')
	assert_eq "$(echo "${res}" | jq -r .error_code)" "400" "unknown compression"
	assert_fails lxc_in "${d}" publish c1/s0 --alias p1
	assert_contains "${FAIL_OUTPUT}" "already exists"
}

test_instances_copy() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local stock="${d}.stock"

	lxc_in "${d}" launch bb c1 -c user.note=orig
	lxc_in "${d}" exec c1 -- sh -c 'echo data > /root/file; chown 3:4 /root/file'

	# A copy of a running instance: its own root filesystem, fresh volatile keys, copy templates rendered.
	lxc_in "${d}" copy c1 c2
	c1=$(local_curl "${d}" /1.0/instances/c1 | jq .metadata)
	c2=$(local_curl "${d}" /1.0/instances/c2 | jq .metadata)
	assert_eq "$(echo "${c2}" | jq -r .status)" "Stopped" "copy status"
	assert_eq "$(echo "${c2}" | jq -r '.config["user.note"]')" "orig" "copied config"
	assert_eq "$(echo "${c2}" | jq -r '.config["volatile.base_image"]')" "$(echo "${c1}" | jq -r '.config["volatile.base_image"]')"
	[ "$(echo "${c2}" | jq -r '.config["volatile.uuid"]')" != "$(echo "${c1}" | jq -r '.config["volatile.uuid"]')" ] || fail "uuid copied"
	lxc_in "${d}" start c2
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /root/file)" "data" "copied content"
	assert_eq "$(lxc_in "${d}" exec c2 -- stat -c %u:%g /root/file)" "3:4" "copied ownership"
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /etc/hostname)" "c2" "copy template"

	# Independent: changing the copy leaves the source alone.
	lxc_in "${d}" exec c2 -- sh -c 'echo changed > /root/file'
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/file)" "data" "source after changing the copy"

	# From a snapshot, with the stock client, and overriding config.
	lxc_in "${d}" snapshot c1 s0
	lxc_in "${d}" exec c1 -- rm /root/file
	LXD_DIR="${d}" stock_lxc "${stock}" copy c1/s0 c3
	lxc_in "${d}" copy c1/s0 c4 -c user.note=other
	assert_eq "$(local_curl "${d}" /1.0/instances/c4 | jq -r '.metadata.config["user.note"]')" "other" "overridden config"
	lxc_in "${d}" start c3
	assert_eq "$(lxc_in "${d}" exec c3 -- cat /root/file)" "data" "copy of a snapshot"
	assert_eq "$(lxc_in "${d}" exec c3 -- cat /etc/hostname)" "c3" "copy template from a snapshot"
	LXD_DIR="${d}" stock_lxc "${stock}" copy c1 c5
	assert_contains "$(lxc_in "${d}" list --format csv -c n)" "c5"
	assert_eq "$(local_curl "${d}" /1.0/instances/c5/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c5/snapshots/s0" "snapshots copied"
	lxc_in "${d}" copy c1 c9 --instance-only
	assert_eq "$(local_curl "${d}" /1.0/instances/c9/snapshots | jq -r '.metadata | length')" "0" "instance only"

	# Deleting the source keeps the copies working.
	lxc_in "${d}" delete -f c1
	lxc_in "${d}" restart c3
	lxc_in "${d}" restore c5 s0
	lxc_in "${d}" start c5
	assert_eq "$(lxc_in "${d}" exec c5 -- cat /root/file)" "data" "copied snapshot restored"
	assert_contains "$(lxc_in "${d}" list --format csv -c ns)" "c3,RUNNING"

	# Errors leave nothing behind.
	assert_fails lxc_in "${d}" copy nope c6
	assert_no_instance "${d}" c6
	assert_fails lxc_in "${d}" copy c2/nope c6
	assert_no_instance "${d}" c6
	assert_fails lxc_in "${d}" copy c2 c3
	assert_contains "${FAIL_OUTPUT}" "already exists"
	assert_fails lxc_in "${d}" copy c2 c7 -c security.privileged=true
	assert_no_instance "${d}" c7
	res=$(local_curl "${d}" /1.0/instances -X POST -d '{"name": "c8", "source": {"type": "copy"}}')
	assert_eq "$(echo "${res}" | jq -r .error_code)" "400" "copy without a source"
}

test_instances_config() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	lxc_in "${d}" init bb c1
	lxc_in "${d}" config set c1 user.a=1 user.b=2
	lxc_in "${d}" config set c1 limits.memory 128MiB
	assert_eq "$(lxc_in "${d}" config get c1 user.a)" "1" "instance key"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["limits.memory"]')" "128MiB"
	lxc_in "${d}" config unset c1 user.b
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["user.b"]')" "null" "unset key"
	assert_fails lxc_in "${d}" config unset c1 user.b
	assert_contains "$(lxc_in "${d}" config show c1)" "user.a: \"1\""
	assert_contains "$(lxc_in "${d}" config show c1 --expanded)" "root:"
	assert_contains "$(lxc_in "${d}" config get c1 volatile.uuid)" "-"
	lxc_in "${d}" config show c1 | sed 's/user.a: "1"/user.a: "edited"/' | lxc_in "${d}" config edit c1
	assert_eq "$(lxc_in "${d}" config get c1 user.a)" "edited" "edited key"
	assert_fails lxc_in "${d}" config set c1 bogus.key=1
	assert_fails lxc_in "${d}" config set nope user.a=1

	# raw.lxc: liblxc settings applied last; the keys the daemon owns are refused; a key liblxc does not know
	# fails the start with its name and leaves the instance stopped.
	lxc_in "${d}" config set c1 raw.lxc "lxc.environment = RAWTEST=yes"
	lxc_in "${d}" start c1
	assert_contains "$(lxc_in "${d}" exec c1 -- cat /proc/1/environ | tr '\0' '\n')" "RAWTEST=yes"
	lxc_in "${d}" stop -f c1
	assert_fails lxc_in "${d}" config set c1 raw.lxc "lxc.rootfs.path = dir:/"
	assert_contains "${FAIL_OUTPUT}" "lxc.rootfs.path is not allowed"
	assert_eq "$(lxc_in "${d}" config get c1 raw.lxc)" "lxc.environment = RAWTEST=yes" "raw.lxc after a refused change"
	lxc_in "${d}" config set c1 raw.lxc "lxc.no.such.key = 1"
	assert_fails lxc_in "${d}" start c1
	assert_contains "${FAIL_OUTPUT}" "lxc.no.such.key"
	assert_eq "$(lxc_in "${d}" list c1 -c s -f csv)" "STOPPED" "status after a refused raw.lxc"
	lxc_in "${d}" config unset c1 raw.lxc

	# The server forms still work.
	lxc_in "${d}" config set images.remote_cache_expiry 3
	assert_eq "$(lxc_in "${d}" config get images.remote_cache_expiry)" "3" "server key"
}

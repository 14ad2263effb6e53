# Migration of stopped containers between servers (lxd/migration): copies and moves between two of our daemons
# and the stock LXD daemon, in both directions, driven by the stock client, in pull, push and relay mode.

# migration_setup: starts our daemons a and b and the stock daemon in a namespace of the test, each on an HTTPS port
# of its loopback, with remotes a, b and s for the stock client (function mig) and a container c1 on a and s1 on
# the stock daemon, each with a snapshot snap0 and then a file /root/hello.
migration_setup() {
	a="${TEST_TMP}/a" b="${TEST_TMP}/b" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf"
	local fixtures port=8443
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_instance_lxd "${a}"
	spawn_instance_lxd "${b}"
	spawn_stock_lxd "${stock}"
	printf 'storage_pools:\n- name: default\n  driver: dir\nprofiles:\n- name: default\n  devices:\n    root:\n      path: /\n      pool: default\n      type: disk\n' |
		LXD_DIR="${stock}" /usr/bin/lxd init --preseed
	for d in a b s; do
		case "${d}" in
		a) dir="${a}" ;;
		b) dir="${b}" ;;
		s) dir="${stock}" ;;
		esac

		LXD_DIR="${dir}" LXD_CONF="${conf}" /usr/bin/lxc config set core.https_address "127.0.0.1:${port}"
		LXD_DIR="${dir}" LXD_CONF="${conf}" /usr/bin/lxc config set core.trust_password pw
		mig remote add "${d}" "https://127.0.0.1:${port}" --accept-certificate --password pw >/dev/null
		port=$((port + 1))
	done

	echo hello >"${TEST_TMP}/hello"
	mig image import "${fixtures}/unified.tar.xz" a: --alias bb >/dev/null
	mig image import "${fixtures}/unified.tar.xz" s: --alias bb >/dev/null
	mig init a:bb a:c1 >/dev/null
	mig init s:bb s:s1 >/dev/null
	for c in a:c1 s:s1; do
		mig snapshot "${c}" snap0
		mig file push "${TEST_TMP}/hello" "${c}/root/hello"
	done
}

# mig ARGS...: the stock client in the test's namespace, with the remotes a, b and s.
mig() {
	LXD_DIR="${a}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
}

# assert_migrated REMOTE:NAME: the copy has its file and its snapshot.
assert_migrated() {
	assert_eq "$(mig file pull "$1/root/hello" -)" "hello" "file of $1"
	assert_eq "$(mig query "${1%%:*}:/1.0/instances/${1#*:}/snapshots" | jq -r '.[]')" \
		"/1.0/instances/${1#*:}/snapshots/snap0" "snapshots of $1"
}

test_migration() {
	local a b stock conf dir
	migration_setup

	# Ours to the stock daemon and back, ours to ours, each with its snapshot.
	mig copy a:c1 s:c1
	assert_migrated s:c1
	mig copy s:s1 a:s1
	assert_migrated a:s1
	mig copy a:c1 b:c1
	assert_migrated b:c1

	# A snapshot becomes an instance on the other server (it was taken before /root/hello was written).
	mig copy a:c1/snap0 s:fs1
	mig copy s:s1/snap0 a:fs2 --mode push
	for c in s:fs1 a:fs2; do
		assert_eq "$(mig query "${c%%:*}:/1.0/instances/${c#*:}/snapshots" | jq -r 'length')" "0" "snapshots of ${c}"
		mig file pull "${c}/bin/busybox" "${TEST_TMP}/busybox"
		assert_fails mig file pull "${c}/root/hello" -
	done

	# Files arrive as the source had them and are shifted to this server's map: root owns them in the container.
	mig start a:s1
	assert_eq "$(mig exec a:s1 -- stat -c %u:%g /root/hello)" "0:0" "owner in a container from the stock daemon"
	assert_eq "$(mig exec a:s1 -- cat /etc/hostname)" "s1" "hostname rendered by the image's copy template"
	mig stop -f a:s1
	mig start b:c1
	assert_eq "$(mig exec b:c1 -- stat -c %u:%g /root/hello)" "0:0" "owner in a container from our daemon"
	mig stop -f b:c1

	# Push and relay modes, and an instance without its snapshots.
	mig copy a:c1 s:c2 --mode push
	assert_migrated s:c2
	mig copy s:s1 b:s2 --mode relay
	assert_migrated b:s2
	mig copy a:c1 b:c3 --instance-only
	assert_eq "$(mig query b:/1.0/instances/c3/snapshots | jq -r 'length')" "0" "snapshots of an instance-only copy"

	# A move is a copy, then the deletion of the source.
	mig move b:c1 s:m1
	assert_migrated s:m1
	assert_no_instance "${b}" c1
	mig move s:s1 b:m2
	assert_migrated b:m2
	assert_fails mig info s:s1

	# A name already taken on the target is refused before anything moves; live migration is refused.
	assert_fails mig copy a:c1 b:c3
	assert_contains "${FAIL_OUTPUT}" "already exists"
	mig start a:c1
	assert_fails mig copy a:c1 b:c4
	assert_contains "${FAIL_OUTPUT}" "live migration is not supported"
	assert_no_instance "${b}" c4
	mig copy a:c1 b:c4 --stateless
	assert_migrated b:c4
	mig stop -f a:c1

	# A root disk on a pool the target lacks lands on the pool of the target's profile.
	mig storage create a:p2 dir >/dev/null
	mig init a:bb a:onp2 -s p2 >/dev/null
	mig copy a:onp2 b:
	assert_eq "$(mig query b:/1.0/instances/onp2 | jq -r .devices.root.pool)" "default" "pool of a copy from a pool the target lacks"

	# Our client copies and moves between servers too.
	ours() {
		LXD_DIR="${a}" LXD_CONF="${TEST_TMP}/ours" nsx "${LXC_BIN}" "$@"
	}

	for d in a:8443 b:8444 s:8445; do
		ours remote add "${d%%:*}" "https://127.0.0.1:${d#*:}" --accept-certificate --password pw >/dev/null
	done

	ours copy a:c1 s:oc1
	assert_migrated s:oc1
	ours copy c1 b:oc2
	assert_migrated b:oc2
	ours copy a:c1/snap0 b:oc4
	mig file pull b:oc4/bin/busybox "${TEST_TMP}/busybox"
	assert_fails mig file pull b:oc4/root/hello -
	ours copy s:m1 b:oc3 --instance-only
	assert_eq "$(mig query b:/1.0/instances/oc3/snapshots | jq -r 'length')" "0" "snapshots of an instance-only copy"
	ours move b:oc2 s:
	assert_migrated s:oc2
	assert_no_instance "${b}" oc2

	# --refresh brings an existing copy up to date: changed files, new snapshots, deleted ones; a running copy is
	# left alone.
	echo changed >"${TEST_TMP}/hello"
	mig file push "${TEST_TMP}/hello" a:c1/root/hello
	mig snapshot a:c1 snap1
	mig delete a:c1/snap0
	ours copy a:c1 b:c4 --refresh
	assert_eq "$(mig file pull b:c4/root/hello -)" "changed" "refreshed file"
	assert_eq "$(mig query b:/1.0/instances/c4/snapshots | jq -r '.[]')" "/1.0/instances/c4/snapshots/snap1" \
		"snapshots of a refreshed copy"
	ours copy s:m1 b:oc3 --refresh
	assert_eq "$(mig query b:/1.0/instances/oc3/snapshots | jq -r 'length')" "1" "snapshot added by a refresh"
	mig start b:c4
	assert_fails ours copy a:c1 b:c4 --refresh
	assert_contains "${FAIL_OUTPUT}" "is running"
	mig stop -f b:c4
}

# wait_staged DIR PID: waits until the daemon of DIR receives a migration into its staging directory; returns 1
# when the copy PID ended before that was seen (a transfer quicker than the look).
wait_staged() {
	for _ in $(seq 600); do
		! compgen -G "$1/migration/migration-*/container" >/dev/null || return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done

	fail "the transfer never started"
}

# copy_staged SRC DST DIR: starts "mig copy SRC DST" in the background, its pid in COPY_PID, and returns once the
# daemon of DIR stages its files. A copy that ended before is undone and started again.
copy_staged() {
	local try
	for try in 1 2 3 4 5; do
		mig copy "$1" "$2" >"${TEST_TMP}/copy.log" 2>&1 &
		COPY_PID=$!
		if wait_staged "$3" "${COPY_PID}"; then
			return 0
		fi

		wait "${COPY_PID}" || fail "copy failed before its transfer could be seen: $(cat "${TEST_TMP}/copy.log")"
		echo "copy ${try} ended before its transfer was seen; again"
		mig delete "$2"
	done

	fail "the transfer was never seen"
}

test_migration_killed() {
	local a b stock conf dir stale
	migration_setup
	mig init a:bb a:big >/dev/null
	head -c 200M /dev/urandom >"${TEST_TMP}/big"
	mig file push "${TEST_TMP}/big" a:big/root/big
	rm "${TEST_TMP}/big"

	# The target daemon dies while the files travel: the source fails and keeps its instance; the staging directory
	# left behind is removed by a later migration once it is stale (no migration holds it).
	copy_staged a:big b:big "${b}"
	kill -9 "$(cat "${b}/lxd.pid")"
	! wait "${COPY_PID}" || fail "the copy succeeded although its target died"
	mig info a:big >/dev/null
	stale=$(compgen -G "${b}/migration/migration-*")
	spawn_lxd "${b}"
	assert_no_instance "${b}" big
	touch -d "-2 minutes" "${stale}"
	mig copy a:c1 b:c1
	[ ! -e "${stale}" ] || fail "stale staging directory kept"

	# The source daemon dies while the files travel: the target is left with no instance and no staged files.
	copy_staged a:big b:big "${b}"
	kill -9 "$(cat "${a}/lxd.pid")"
	! wait "${COPY_PID}" || fail "the copy succeeded although its source died"
	assert_no_instance "${b}" big
	[ -z "$(ls -A "${b}/migration")" ] || fail "staged files left behind: $(ls -A "${b}/migration")"
}

# volatile_of REMOTE:NAME KEY: a volatile key of an instance.
volatile_of() {
	mig query "${1%%:*}:/1.0/instances/${1#*:}" | jq -r ".config[\"$2\"] // \"\""
}

# assert_refreshed REMOTE:NAME: the copy and its snapshot have the source's new files, not the one it deleted, and
# it has only snap1.
assert_refreshed() {
	assert_eq "$(mig file pull "$1/root/hello" -)" "changed" "changed file of $1"
	assert_eq "$(mig file pull "$1/root/new" -)" "new" "new file of $1"
	assert_fails mig file pull "$1/root/gone" -
	assert_eq "$(mig query "${1%%:*}:/1.0/instances/${1#*:}/snapshots" | jq -r '.[]')" \
		"/1.0/instances/${1#*:}/snapshots/snap1" "snapshots of $1"
	mig copy "$1/snap1" "$1-snap1"
	assert_eq "$(mig file pull "$1-snap1/root/new" -)" "new" "new file in the snapshot of $1"
	assert_fails mig file pull "$1-snap1/root/gone" -
	mig delete "$1-snap1"
}

# The stock client's "lxc copy --refresh" (container_incremental_copy), stock to ours, ours to the stock daemon and
# ours to ours: changed, added and deleted files, an added and a deleted snapshot; the copy keeps its own id map.
test_migration_refresh() {
	local a b stock conf dir c idmaps
	migration_setup
	echo gone >"${TEST_TMP}/gone"
	for c in a:c1 s:s1; do
		mig file push "${TEST_TMP}/gone" "${c}/root/gone"
	done

	mig query a:/1.0 | jq -e '.api_extensions | index("container_incremental_copy")' >/dev/null
	mig copy s:s1 a:r1
	mig copy a:c1 s:r2
	mig copy a:c1 b:r3
	idmaps=$(for c in a:r1 b:r3; do
		volatile_of "${c}" volatile.last_state.idmap
		volatile_of "${c}" volatile.idmap.next
	done)

	echo changed >"${TEST_TMP}/hello"
	echo new >"${TEST_TMP}/new"
	for c in a:c1 s:s1; do
		mig file push "${TEST_TMP}/hello" "${c}/root/hello"
		mig file push "${TEST_TMP}/new" "${c}/root/new"
		mig file delete "${c}/root/gone"
		mig snapshot "${c}" snap1
		mig delete "${c}/snap0"
	done

	mig copy s:s1 a:r1 --refresh
	assert_refreshed a:r1
	mig copy a:c1 s:r2 --refresh
	assert_refreshed s:r2
	mig copy a:c1 b:r3 --refresh
	assert_refreshed b:r3

	# The stock client puts the source's configuration last: the copy takes its identity, as on the stock daemon,
	# and keeps its own id map.
	assert_eq "$(volatile_of a:r1 volatile.uuid)" "$(volatile_of s:s1 volatile.uuid)" "uuid of a refreshed copy"
	assert_eq "$(volatile_of s:r2 volatile.uuid)" "$(volatile_of a:c1 volatile.uuid)" "uuid of a refreshed copy on the stock daemon"
	assert_eq "$(for c in a:r1 b:r3; do
		volatile_of "${c}" volatile.last_state.idmap
		volatile_of "${c}" volatile.idmap.next
	done)" "${idmaps}" "id maps of refreshed copies"

	# A refresh with nothing changed changes nothing; the copies run with their files owned by their root.
	mig copy a:c1 b:r3 --refresh
	assert_refreshed b:r3
	for c in a:r1 b:r3; do
		mig start "${c}"
		assert_eq "$(mig exec "${c}" -- stat -c %u:%g /root/new)" "0:0" "owner of a refreshed file in ${c}"
		mig stop -f "${c}"
	done
}

# A PUT of an instance takes the volatile keys that describe it, keeps those that record the daemon's state (its
# id map, its power state, a running nic's), and refuses volatile keys LXD does not know.
test_migration_volatile_put() {
	local d="${TEST_TMP}/d" cfg put
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1 >/dev/null
	put() {
		cfg=$(local_curl "${d}" /1.0/instances/c1 | jq ".metadata | {architecture,config,devices,profiles,ephemeral,description} | $1")
		local_curl "${d}" /1.0/instances/c1 -X PUT -d "${cfg}" | jq -r '.error // ""'
	}

	assert_eq "$(put '.config["volatile.uuid"]="11111111-2222-3333-4444-555555555555" | .config["volatile.base_image"]="abc"')" "" "put of identity keys"
	assert_eq "$(lxc_in "${d}" config get c1 volatile.uuid)" "11111111-2222-3333-4444-555555555555" "uuid put"
	assert_eq "$(lxc_in "${d}" config get c1 volatile.base_image)" "abc" "base image put"
	local next base
	next=$(lxc_in "${d}" config get c1 volatile.idmap.next)
	base=$(lxc_in "${d}" config get c1 volatile.idmap.base)
	assert_eq "$(put '.config["volatile.idmap.next"]="[]" | .config["volatile.idmap.base"]="0" | .config["volatile.last_state.power"]="RUNNING"')" "" "put of daemon keys"
	assert_eq "$(lxc_in "${d}" config get c1 volatile.idmap.next)" "${next}" "id map kept"
	assert_eq "$(lxc_in "${d}" config get c1 volatile.idmap.base)" "${base}" "id map base kept"
	[ "$(lxc_in "${d}" config get c1 volatile.last_state.power)" != "RUNNING" ] || fail "power state taken from a PUT"
	assert_contains "$(put '.config["volatile.foo"]="bar"')" "volatile.foo"
	assert_contains "$(put '.config["volatile.uuid"]="x"')" "volatile.uuid"
	assert_contains "$(local_curl "${d}" /1.0/instances/c1 -X PATCH -d '{"config":{"volatile.idmap.bogus":"1"}}' | jq -r .error)" "volatile.idmap.bogus"

	# The started container runs on its own map.
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %u /bin/busybox)" "0" "owner in the container"
	[ "$(lxc_in "${d}" config get c1 volatile.last_state.idmap)" != "[]" ] || fail "container started unshifted"
	lxc_in "${d}" stop -f c1
}

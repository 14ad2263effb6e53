# System containers: lxc launch/init, list, start/stop/restart, info, delete and profiles, with our client and the
# stock LXD 5.0.2 client, over the unix socket and HTTPS. Containers really run (the suite runs as root).

# spawn_instance_lxd DIR: spawns a daemon whose directories unprivileged containers can reach: their root (a host
# uid that is not 0) must be able to traverse every parent of the rootfs, as on a real host.
spawn_instance_lxd() {
	local dir=$1
	mkdir -p "${dir}"
	traversable_parents "${dir}"
	spawn_lxd "${dir}"
}

# import_busybox DIR ALIAS [FILE]: imports the busybox test image (or FILE) into the daemon of DIR under ALIAS.
import_busybox() {
	local dir=$1 alias=$2 file=${3:-}
	if [ -z "${file}" ]; then
		file="$("${TEST_DIR}/deps/busybox-image.sh")/unified.tar.xz"
	fi

	LXD_DIR="${dir}" LXD_CONF="${dir}.stock" /usr/bin/lxc image import "${file}" --alias "${alias}" >/dev/null
}

# instance_mounts DIR: counts the mounts under the daemon directory DIR.
instance_mounts() {
	grep -c " $1/" /proc/self/mountinfo || true
}

# assert_no_instance DIR NAME: no row, no storage, no liblxc directory and no mount are left for NAME.
assert_no_instance() {
	local dir=$1 name=$2
	assert_eq "$(local_curl "${dir}" "/1.0/instances/${name}" | jq -r .error_code)" "404" "instance ${name} after removal"
	[ ! -e "${dir}/storage-pools/default/containers/${name}" ] || fail "storage of ${name} left behind"
	[ ! -e "${dir}/containers/${name}" ] || fail "liblxc directory of ${name} left behind"
	[ ! -e "${dir}/logs/${name}" ] || fail "logs of ${name} left behind"
	if grep -q " ${dir}/storage-pools/default/containers/${name}/" /proc/self/mountinfo; then
		fail "mount of ${name} left behind"
	fi
}

# now_ms prints the time in milliseconds.
now_ms() {
	date +%s%3N
}

test_instances_lifecycle() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# The first launch unpacks the image base; the next ones only lay out an overlay.
	local t0 t1 t2
	t0=$(now_ms)
	lxc_in "${d}" launch bb c1
	t1=$(now_ms)
	lxc_in "${d}" launch bb c3
	t2=$(now_ms)
	echo "launch timing: first $((t1 - t0))ms, cached base $((t2 - t1))ms" | tee -a "${RUN_DIR}/timings"
	lxc_in "${d}" launch bb c2 -c security.privileged=true -c user.note=hello

	out=$(lxc_in "${d}" list --format csv -c ns)
	assert_contains "${out}" "c1,RUNNING"
	assert_contains "${out}" "c2,RUNNING"
	assert_contains "$(lxc_in "${d}" list)" "| c1   | RUNNING |      |      | CONTAINER | 0         |"

	# One base per image and id map, both unpacked once: the shifted one owned by the host ids the daemon mapped the
	# containers' root to (root's range in /etc/subuid and /etc/subgid), the other by the host's root.
	local pool="${d}/storage-pools/default" ids host_uid host_gid fp
	ids=$(instance_idmap "${d}" c1)
	read -r host_uid host_gid _ <<<"${ids}"
	assert_eq "$(instance_idmap "${d}" c3)" "${ids}" "id map of c3"
	assert_eq "$(local_curl "${d}" /1.0/instances/c2 | jq -r '.metadata.config | keys[] | select(startswith("volatile.idmap") or . == "volatile.last_state.idmap")')" "" "id map keys of the privileged c2"
	fp=$(local_curl "${d}" /1.0/images/aliases/bb | jq -r .metadata.target)
	assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')" \
		"${fp} ${fp}.shifted-${host_uid}-${host_gid} " "bases in the pool"
	assert_eq "$(stat -c %u:%g "${pool}/images/${fp}.shifted-${host_uid}-${host_gid}/rootfs/bin/busybox")" "${host_uid}:${host_gid}" "owner in the shifted base"
	assert_eq "$(stat -c %u:%g "${pool}/images/${fp}/rootfs/bin/busybox")" "0:0" "owner in the privileged base"
	grep -q "${pool}/containers/c1/rootfs overlay" /proc/self/mountinfo || grep -q " ${pool}/containers/c1/rootfs .* - overlay " /proc/self/mountinfo || fail "c1 has no overlay root"

	# The create template wrote the hostname, the start template the motd.
	assert_eq "$(cat "${pool}/containers/c1/rootfs/etc/hostname")" "c1" "hostname of c1"
	assert_eq "$(cat "${pool}/containers/c2/rootfs/etc/motd")" "hello from c2 (start)" "motd of c2"
	assert_eq "$(stat -c %u:%g "${pool}/containers/c1/upper/etc/hostname")" "${host_uid}:${host_gid}" "owner of a rendered file"
	assert_eq "$(stat -c %u:%g "${pool}/containers/c2/upper/etc/hostname")" "0:0" "owner of a rendered file of the privileged c2"

	# The server applies status filters, the client name filters.
	assert_eq "$(lxc_in "${d}" list status=running --format csv -c n | sort | tr '\n' ' ')" "c1 c2 c3 " "running filter"
	assert_eq "$(lxc_in "${d}" list c2 --format csv -c n)" "c2" "name filter"
	assert_eq "$(local_curl "${d}" "/1.0/instances?recursion=1&filter=config.user.note+eq+hello" | jq -r '.metadata[].name')" "c2" "config filter"

	out=$(lxc_in "${d}" info c1)
	assert_contains "${out}" "Name: c1"
	assert_contains "${out}" "Status: RUNNING"
	assert_contains "${out}" "Processes:"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1?recursion=1 | jq -r .metadata.state.status)" "Running" "state in the full instance"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.expanded_devices.root.pool')" "default" "root disk from the default profile"
	assert_eq "$(local_curl "${d}" /1.0/containers | jq -r '.metadata[0]')" "/1.0/containers/c1" "containers alias"

	# Stop, start, restart.
	lxc_in "${d}" stop c1
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "STOPPED" "after stop"
	if grep -q "${pool}/containers/c1/rootfs" /proc/self/mountinfo; then
		fail "the root of a stopped container stays mounted"
	fi

	assert_fails lxc_in "${d}" stop c1
	assert_contains "${FAIL_OUTPUT}" "already stopped"
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "RUNNING" "after start"
	assert_fails lxc_in "${d}" start c1
	assert_contains "${FAIL_OUTPUT}" "already running"
	pid1=$(local_curl "${d}" /1.0/instances/c1/state | jq -r .metadata.pid)
	lxc_in "${d}" restart c1 --timeout 30
	pid2=$(local_curl "${d}" /1.0/instances/c1/state | jq -r .metadata.pid)
	[ "${pid1}" != "${pid2}" ] && [ "${pid2}" -gt 0 ] || fail "restart kept pid ${pid1} (now ${pid2})"
	lxc_in "${d}" pause c1
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "FROZEN" "after pause"
	lxc_in "${d}" resume c1
	lxc_in "${d}" stop c2 --force

	# Delete refuses a running instance without --force, then leaves nothing behind.
	assert_fails lxc_in "${d}" delete c1
	assert_contains "${FAIL_OUTPUT}" "stop it first or pass --force"
	lxc_in "${d}" delete -f c1 c3
	lxc_in "${d}" delete c2
	for c in c1 c2 c3; do
		assert_no_instance "${d}" "${c}"
	done

	assert_eq "$(find "${pool}/containers" -mindepth 1 | wc -l)" "0" "files left in the pool"
	assert_eq "$(instance_mounts "${d}")" "0" "mounts left"

	# No cgroup is left behind, and the daemon stays in its own cgroups: liblxc moves whoever starts a container
	# into the container's monitor cgroup, which then could never be removed. A name no other test uses.
	# Where liblxc puts them depends on the host's layout (v1, hybrid or unified) and on the cgroup the daemon was
	# started in, so the whole tree is searched, and the search must find them while the container runs.
	local cg="cgroup-check-$$" daemon_cgroups
	daemon_cgroups=$(cat "/proc/$(cat "${d}/lxd.pid")/cgroup")
	lxc_in "${d}" launch bb "${cg}"
	assert_eq "$(cat "/proc/$(cat "${d}/lxd.pid")/cgroup")" "${daemon_cgroups}" "cgroups of the daemon after a start"
	[ -n "$(find /sys/fs/cgroup -type d -name "lxc.*.${cg}*" 2>/dev/null)" ] || fail "no cgroup lxc.*.${cg} found under /sys/fs/cgroup while it runs"
	lxc_in "${d}" delete -f "${cg}"
	for _ in $(seq 20); do
		[ -z "$(find /sys/fs/cgroup -type d -name "lxc.*.${cg}*" 2>/dev/null)" ] && break
		sleep 0.1
	done

	assert_eq "$(find /sys/fs/cgroup -type d -name "lxc.*.${cg}*" 2>/dev/null)" "" "cgroups left after delete"

	# Bases stay while their image exists and go with it.
	assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l)" "2" "bases after deleting the instances"
	LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc image delete bb
	for _ in $(seq 50); do
		[ "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l)" = "0" ] && break
		sleep 0.1
	done

	assert_eq "$(find "${pool}/images" -mindepth 1 -maxdepth 1 | wc -l)" "0" "bases after deleting the image"
}

test_instances_ephemeral_and_restart() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# An ephemeral instance goes away when it stops.
	lxc_in "${d}" launch bb e1 -e
	lxc_in "${d}" stop e1
	for _ in $(seq 300); do
		[ "$(local_curl "${d}" /1.0/instances/e1 | jq -r .error_code)" = "404" ] && break
		sleep 0.1
	done

	assert_no_instance "${d}" e1

	# A running instance is stopped with the daemon and started again with it; a running ephemeral one is deleted
	# with its stop, as LXD does.
	lxc_in "${d}" launch bb r1
	lxc_in "${d}" init bb s1
	lxc_in "${d}" launch bb e2 --ephemeral
	shutdown_lxd "${d}"
	assert_eq "$(instance_mounts "${d}")" "0" "mounts after daemon shutdown"
	spawn_lxd "${d}"
	assert_eq "$(lxc_in "${d}" list --format csv -c ns | tr '\n' ' ')" "r1,RUNNING s1,STOPPED " "after daemon restart"
	lxc_in "${d}" delete -f r1 s1
	assert_eq "$(instance_mounts "${d}")" "0" "mounts left"
}

# A clean stop right after a start, while the container's init has not yet set up its halt handler (the kernel
# drops the halt signal then), still stops it.
test_instances_stop_before_init_ready() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb s1 -c raw.lxc="lxc.init.cmd = /sbin/slowinit"
	printf '#!/bin/sh\nsleep 1.5\nexec /sbin/init\n' >"${TEST_TMP}/slowinit"
	lxc_in "${d}" file push --mode 0755 "${TEST_TMP}/slowinit" s1/sbin/slowinit
	lxc_in "${d}" start s1
	LXD_DIR="${d}" LXD_CONF="${d}.conf" timeout 30 "${LXC_BIN}" stop s1 || fail "the clean stop did not end"
	assert_eq "$(lxc_in "${d}" list --format csv -c ns s1)" "s1,STOPPED" "after the stop"
}

test_instances_errors() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	for name in "-bad" "1abc" "has_underscore" "a.b" "ends-" "$(printf 'a%.0s' $(seq 64))"; do
		code=$(local_curl "${d}" /1.0/instances -X POST -d "{\"name\":\"${name}\",\"source\":{\"type\":\"image\",\"alias\":\"bb\"}}" | jq -r .error_code)
		assert_eq "${code}" "400" "creating ${name}"
	done

	assert_fails lxc_in "${d}" launch bb c1 -c limits.bogus=1
	assert_contains "${FAIL_OUTPUT}" 'unknown configuration key "limits.bogus"'
	assert_fails lxc_in "${d}" launch bb c1 -c limits.memory=lots
	assert_contains "${FAIL_OUTPUT}" 'invalid value for "limits.memory"'
	assert_fails lxc_in "${d}" launch bb c1 -c volatile.uuid=x
	assert_contains "${FAIL_OUTPUT}" "internal"
	assert_fails lxc_in "${d}" launch nope c1
	assert_contains "${FAIL_OUTPUT}" 'image "nope" not found'
	assert_fails lxc_in "${d}" launch bb c1 -p nope
	assert_contains "${FAIL_OUTPUT}" 'profile "nope" not found'
	assert_fails lxc_in "${d}" launch bb c1 --no-profiles
	assert_contains "${FAIL_OUTPUT}" "No root device could be found"
	op=$(local_curl "${d}" /1.0/instances -X POST -d '{"name":"c1","source":{"type":"image","alias":"bb","server":"https://127.0.0.1:1"}}' | jq -r .operation)
	assert_eq "$(local_curl "${d}" "${op}/wait?timeout=30" | jq -r .metadata.status)" "Failure" "unreachable image server"
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | length')" "0" "instances after refused creates"
	assert_eq "$(find "${d}/storage-pools/default/containers" -mindepth 1 | wc -l)" "0" "storage after refused creates"

	lxc_in "${d}" init bb c1
	assert_fails lxc_in "${d}" init bb c1
	assert_contains "${FAIL_OUTPUT}" 'instance "c1" already exists'

	# PATCH merges, volatile keys stay the daemon's, unknown keys are refused.
	local_curl "${d}" /1.0/instances/c1 -X PATCH -d '{"config":{"user.a":"1"}}' | jq -e '.status_code == 200' >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["user.a"]')" "1" "patched key"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 -X PATCH -d '{"config":{"bogus":"1"}}' | jq -r .error_code)" "400" "unknown key"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 -X PATCH -d '{"config":{"volatile.uuid":"x"}}' | jq -r .error_code)" "400" "volatile key"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 -X PATCH -d '{"config":{"security.privileged":"true"}}' | jq -r .error_code)" "400" "privileged change"

	# Rename renders the rename templates.
	local_curl "${d}" /1.0/instances/c1 -X POST -d '{"name":"c9"}' | jq -r .operation >/dev/null
	for _ in $(seq 50); do
		[ "$(local_curl "${d}" /1.0/instances/c9 | jq -r .error_code)" = "0" ] && break
		sleep 0.1
	done

	lxc_in "${d}" start c9
	assert_eq "$(cat "${d}/storage-pools/default/containers/c9/rootfs/etc/hostname")" "c9" "hostname after rename"
	lxc_in "${d}" delete -f c9
	assert_no_instance "${d}" c9
}

test_instances_broken_template() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	local fixtures img="${TEST_TMP}/img"
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	mkdir -p "${img}"
	cp -a "${fixtures}/meta/." "${img}/"
	cp -a "${fixtures}/rootfs" "${img}/rootfs"
	printf 'line one\n{{ container.name \n' >"${img}/templates/hostname.tpl"
	(cd "${img}" && tar -cJf "${TEST_TMP}/broken.tar.xz" metadata.yaml templates rootfs)
	import_busybox "${d}" broken "${TEST_TMP}/broken.tar.xz"

	assert_fails lxc_in "${d}" launch broken c1
	assert_contains "${FAIL_OUTPUT}" 'template "hostname.tpl": line 2'
	assert_no_instance "${d}" c1
	assert_eq "$(find "${d}/storage-pools/default/containers" -mindepth 1 | wc -l)" "0" "storage after a failed launch"
	assert_eq "$(instance_mounts "${d}")" "0" "mounts after a failed launch"
}

test_instances_profiles() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	assert_contains "$(lxc_in "${d}" profile list --format csv)" "default,Default LXD profile,0"
	assert_contains "$(lxc_in "${d}" profile show default)" "pool: default"
	lxc_in "${d}" profile create small
	lxc_in "${d}" profile set small limits.memory=128MiB
	assert_eq "$(lxc_in "${d}" profile get small limits.memory)" "128MiB" "profile key"
	assert_fails lxc_in "${d}" profile set small bogus.key=1
	assert_contains "${FAIL_OUTPUT}" 'unknown configuration key "bogus.key"'
	printf 'description: edited\nconfig:\n  limits.processes: "100"\ndevices: {}\n' | lxc_in "${d}" profile edit small
	assert_contains "$(lxc_in "${d}" profile show small)" "description: edited"
	lxc_in "${d}" profile unset small limits.processes

	lxc_in "${d}" launch bb c1 -p default -p small
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.profiles | join(",")')" "default,small" "profiles of c1"
	assert_eq "$(local_curl "${d}" /1.0/profiles/small | jq -r '.metadata.used_by[0]')" "/1.0/instances/c1" "used_by"
	assert_fails lxc_in "${d}" profile delete small
	assert_contains "${FAIL_OUTPUT}" "in use"
	assert_fails lxc_in "${d}" profile delete default
	assert_contains "${FAIL_OUTPUT}" "default profile cannot be deleted"
	lxc_in "${d}" delete -f c1
	lxc_in "${d}" profile rename small tiny
	lxc_in "${d}" profile delete tiny
	assert_eq "$(lxc_in "${d}" profile list --format csv | wc -l)" "1" "profiles left"
}

test_instances_stock_client() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local stock="${d}.stock"

	# Over the unix socket.
	LXD_DIR="${d}" stock_lxc "${stock}" launch bb s1
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" list --format csv -c ns)" "s1,RUNNING"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" info s1)" "Status: RUNNING"
	LXD_DIR="${d}" stock_lxc "${stock}" stop s1
	LXD_DIR="${d}" stock_lxc "${stock}" start s1
	LXD_DIR="${d}" stock_lxc "${stock}" delete -f s1
	assert_no_instance "${d}" s1

	# Over HTTPS.
	local addr
	addr=$(enable_https "${d}")
	lxc_in "${d}" config set core.trust_password=sekret
	stock_lxc "${stock}" remote add d1 "${addr}" --accept-certificate --password sekret >/dev/null
	stock_lxc "${stock}" launch d1:bb d1:s2
	assert_contains "$(stock_lxc "${stock}" list d1: --format csv -c ns)" "s2,RUNNING"
	assert_eq "$(stock_lxc "${stock}" list d1: status=running --format csv -c n)" "s2" "stock status filter"
	stock_lxc "${stock}" stop d1:s2
	assert_contains "$(stock_lxc "${stock}" list d1: --format csv -c ns)" "s2,STOPPED"
	stock_lxc "${stock}" delete d1:s2
	assert_no_instance "${d}" s2

	# Our client over HTTPS too.
	LXD_CONF="${d}.https" "${LXC_BIN}" remote add d1 "${addr}" --accept-certificate --password sekret >/dev/null
	LXD_CONF="${d}.https" "${LXC_BIN}" launch d1:bb d1:o1
	assert_contains "$(LXD_CONF="${d}.https" "${LXC_BIN}" list d1: --format csv -c ns)" "o1,RUNNING"
	LXD_CONF="${d}.https" "${LXC_BIN}" delete -f d1:o1
	assert_no_instance "${d}" o1
}

test_instances_exec() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb c1
	lxc_in "${d}" launch bb c2 -c security.privileged=true -c environment.FROM_CONFIG=yes

	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/hostname)" "c1" "hostname from the create template"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/motd)" "hello from c1 (start)" "motd from the start template"
	# The kernel's maps of c1 are the ones the daemon recorded; c2 runs with the host's ids.
	local host_uid host_gid count ids
	ids=$(instance_idmap "${d}" c1)
	read -r host_uid host_gid count <<<"${ids}"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /proc/self/uid_map | awk '{print $1, $2, $3}')" "0 ${host_uid} ${count}" "unprivileged uid map"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /proc/self/gid_map | awk '{print $1, $2, $3}')" "0 ${host_gid} ${count}" "unprivileged gid map"
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /proc/self/uid_map | awk '{print $1, $2}')" "0 0" "privileged uid map"
	assert_eq "$(lxc_in "${d}" exec c2 -- cat /proc/self/gid_map | awk '{print $1, $2}')" "0 0" "privileged gid map"
	# The init of c1, seen from the host, runs as the mapped root.
	assert_eq "$(stat -c %u:%g "/proc/$(local_curl "${d}" /1.0/instances/c1/state | jq -r .metadata.pid)")" "${host_uid}:${host_gid}" "host owner of the init of c1"

	# Exit status, stdout and stderr kept apart, stdin forwarded.
	set +e
	lxc_in "${d}" exec c1 -- sh -c 'echo out; echo err >&2; exit 3' >"${TEST_TMP}/out" 2>"${TEST_TMP}/err"
	rc=$?
	set -e
	assert_eq "${rc}" "3" "exit status"
	assert_eq "$(cat "${TEST_TMP}/out")" "out" "stdout"
	assert_eq "$(cat "${TEST_TMP}/err")" "err" "stderr"
	assert_eq "$(echo piped | lxc_in "${d}" exec c1 -- cat)" "piped" "stdin"
	assert_eq "$(head -c 300000 /dev/urandom | lxc_in "${d}" exec c1 -- wc -c | tr -d ' ')" "300000" "large stdin"

	# Environment, working directory, user and group.
	assert_eq "$(lxc_in "${d}" exec c2 -- sh -c 'echo $FROM_CONFIG $HOME $PATH')" \
		"yes /root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "environment"
	assert_eq "$(lxc_in "${d}" exec c1 --env A=b --cwd /tmp --user 65534 --group 65534 -- sh -c 'echo $A $(pwd) $(id -u):$(id -g)')" \
		"b /tmp 65534:65534" "env, cwd, user and group"

	# A terminal on the container's own devpts.
	assert_contains "$(lxc_in "${d}" exec c1 -t -- tty </dev/null)" "/dev/pts/"

	# Signals are forwarded; the status says which one.
	lxc_in "${d}" exec c1 -T -- sleep 60 &
	local pid=$!
	sleep 1.5
	kill -TERM "${pid}"
	set +e
	wait "${pid}"
	rc=$?
	set -e
	assert_eq "${rc}" "143" "status after SIGTERM"

	assert_fails lxc_in "${d}" exec c1 -- /no/such/command
	lxc_in "${d}" stop c1
	assert_fails lxc_in "${d}" exec c1 -- true
	assert_contains "${FAIL_OUTPUT}" "not running"

	# The stock client.
	local stock="${d}.stock"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" exec c2 -- cat /etc/hostname)" "c2" "stock exec"
	set +e
	LXD_DIR="${d}" stock_lxc "${stock}" exec c2 -- sh -c 'exit 3'
	rc=$?
	set -e
	assert_eq "${rc}" "3" "stock exec exit status"
	assert_eq "$(echo in | LXD_DIR="${d}" stock_lxc "${stock}" exec c2 --cwd /tmp -- sh -c 'cat; pwd')" "in
/tmp" "stock exec stdin and cwd"
	lxc_in "${d}" delete -f c1 c2
}

test_instances_files() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb c1
	local stock="${d}.stock" src="${TEST_TMP}/hello.txt"
	echo hello >"${src}"
	chmod 0640 "${src}"

	# The stock client pushes with an absolute path and pulls with a relative one.
	LXD_DIR="${d}" stock_lxc "${stock}" file push "${src}" c1/root/hello.txt >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%u:%g %a' /root/hello.txt)" "0:0 640" "owner and mode of a pushed file"
	local host_uid host_gid ids
	ids=$(instance_idmap "${d}" c1)
	read -r host_uid host_gid _ <<<"${ids}"
	assert_eq "$(stat -c %u:%g "${d}/storage-pools/default/containers/c1/upper/root/hello.txt")" "${host_uid}:${host_gid}" "host owner of a pushed file"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" file pull c1/root/hello.txt -)" "hello" "stock pull"
	LXD_DIR="${d}" stock_lxc "${stock}" file push --uid 12 --gid 34 --mode 0600 "${src}" c1/tmp/x >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%u:%g %a' /tmp/x)" "12:34 600" "explicit owner and mode"
	headers=$(local_curl "${d}" "/1.0/instances/c1/files?path=tmp%2Fx" -D - -o /dev/null)
	assert_contains "${headers}" "X-Lxd-Uid: 12"
	assert_contains "${headers}" "X-Lxd-Mode: 0600"
	assert_contains "${headers}" "X-Lxd-Type: file"

	# Our client, directories, append and delete.
	lxc_in "${d}" file push -p "${src}" c1/a/b/
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /a/b/hello.txt)" "hello" "push into created directories"
	local_curl "${d}" "/1.0/instances/c1/files?path=/a/b/hello.txt" -X POST -H 'X-LXD-write: append' --data-binary 'again' >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /a/b/hello.txt)" "hello
again" "append"
	assert_eq "$(local_curl "${d}" "/1.0/instances/c1/files?path=/a/b" | jq -r '.metadata[0]')" "hello.txt" "directory listing"
	lxc_in "${d}" file pull c1/etc/hostname "${TEST_TMP}/pulled"
	assert_eq "$(cat "${TEST_TMP}/pulled")" "c1" "pull to a file"
	lxc_in "${d}" file delete c1/a/b/hello.txt
	assert_fails lxc_in "${d}" file pull c1/a/b/hello.txt -
	assert_contains "${FAIL_OUTPUT}" "not found"

	# A symlink in the instance cannot make the daemon write or read outside it.
	local outside="${TEST_TMP}/outside"
	echo "host" >"${outside}"
	lxc_in "${d}" exec c1 -- ln -s "${outside}" /root/link
	lxc_in "${d}" exec c1 -- ln -s / /root/rootlink
	lxc_in "${d}" file push "${src}" c1/root/link
	assert_eq "$(cat "${outside}")" "host" "host file after a push through a symlink"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/link)" "hello" "the symlink was replaced by the file"
	assert_fails lxc_in "${d}" file push "${src}" "c1/root/rootlink${TEST_TMP}/outside"
	assert_contains "${FAIL_OUTPUT}" "not found"
	assert_eq "$(cat "${outside}")" "host" "host file after a push through a directory symlink"
	# Absolute symlinks resolve from the instance's root, as LXD resolves them (/etc/localtime, /var/lock...).
	lxc_in "${d}" exec c1 -- sh -c 'mkdir -p /opt/sub && ln -s /opt/sub /root/abslink'
	lxc_in "${d}" file push "${src}" c1/root/abslink/through.txt
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /opt/sub/through.txt)" "hello" "push through an absolute symlink"
	assert_eq "$(lxc_in "${d}" file pull c1/root/abslink/through.txt -)" "hello" "pull through an absolute symlink"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${d}.stock" file pull c1/root/abslink/through.txt -)" "hello" \
		"stock pull through an absolute symlink"
	local_curl "${d}" "/1.0/instances/c1/files?path=/root/../../../../../../etc/passwd" -o "${TEST_TMP}/passwd"
	assert_eq "$(head -1 "${TEST_TMP}/passwd")" "root:x:0:0:root:/root:/bin/sh" "dot-dot stays in the instance"

	# Files of a stopped instance.
	lxc_in "${d}" stop c1
	assert_eq "$(lxc_in "${d}" file pull c1/etc/hostname -)" "c1" "pull from a stopped instance"
	lxc_in "${d}" file push "${src}" c1/root/offline.txt
	if grep -q " ${d}/storage-pools/default/containers/c1/" /proc/self/mountinfo; then
		fail "file access left a stopped instance mounted"
	fi

	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/offline.txt)" "hello" "file pushed while stopped"
	lxc_in "${d}" delete -f c1
	assert_no_instance "${d}" c1
}

# Recursive push and pull: directories, files with their modes and symlinks, there and back, with our client and
# the stock one.
test_instances_files_recursive() {
	local d="${TEST_TMP}/d1" tree="${TEST_TMP}/tree"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb c1 >/dev/null

	mkdir -p "${tree}/sub/deeper"
	echo "top" >"${tree}/a.txt"
	echo "secret" >"${tree}/sub/private"
	chmod 0600 "${tree}/sub/private"
	echo "deep" >"${tree}/sub/deeper/b.txt"
	chmod 0750 "${tree}/sub/deeper"
	ln -s ../a.txt "${tree}/sub/link"

	assert_fails lxc_in "${d}" file push "${tree}" c1/root/
	assert_contains "${FAIL_OUTPUT}" "use -r"
	lxc_in "${d}" file push -r "${tree}" c1/root/
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /root/tree/sub/deeper/b.txt)" "deep" "pushed nested file"
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %a /root/tree/sub/private /root/tree/sub/deeper | tr '\n' ' ')" "600 750 " "pushed modes"
	assert_eq "$(lxc_in "${d}" exec c1 -- readlink /root/tree/sub/link)" "../a.txt" "pushed symlink"

	# Into an existing directory the tree goes under its own name; to a new path it takes that name, as cp -r does.
	mkdir -p "${TEST_TMP}/back"
	lxc_in "${d}" file pull -r c1/root/tree "${TEST_TMP}/back"
	diff -r "${tree}" "${TEST_TMP}/back/tree" || fail "the tree pulled back differs"
	lxc_in "${d}" file pull -r c1/root/tree "${TEST_TMP}/renamed"
	diff -r "${tree}" "${TEST_TMP}/renamed" || fail "the tree pulled to a new path differs"
	assert_eq "$(stat -c %a "${TEST_TMP}/back/tree/sub/private")" "600" "pulled mode"
	assert_eq "$(readlink "${TEST_TMP}/back/tree/sub/link")" "../a.txt" "pulled symlink"

	mkdir -p "${TEST_TMP}/stock"
	LXD_DIR="${d}" stock_lxc "${d}.stock" file pull -r c1/root/tree "${TEST_TMP}/stock"
	diff -r "${tree}" "${TEST_TMP}/stock/tree" || fail "the tree pulled by the stock client differs"
	lxc_in "${d}" delete -f c1
}

# Confinement keys of containers: isolated id maps and raw.idmap, protection against deletion and shifting,
# AppArmor, and the disk priority and hugepage limits, through both clients and real containers.

# uid_map_of DIR NAME: prints "HOSTID SIZE" of the first line of the uid map of NAME, read from inside.
uid_map_of() {
	lxc_in "$1" exec "$2" -- cat /proc/self/uid_map | awk 'NR == 1 {print $2, $3}'
}

# host_owner DIR NAME PATH: prints the host uid:gid of PATH in the root filesystem of the running NAME.
host_owner() {
	stat -c '%u:%g' "$1/storage-pools/default/containers/$2/rootfs$3"
}

# assert_in_range ID START SIZE WHAT: ID lies in [START, START+SIZE).
assert_in_range() {
	[ "$1" -ge "$2" ] && [ "$1" -lt $(($2 + $3)) ] || fail "$4: $1 is outside ${2}+${3}"
}

test_confinement_idmap_isolated() {
	local d="${TEST_TMP}/d1" h1 s1 h2 s2 h3 s3 h4 s4 owner shared
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	shared=$(root_subid_range /etc/subuid)
	lxc_in "${d}" launch bb c1 -c security.idmap.isolated=true
	LXD_DIR="${d}" stock_lxc "${d}.stock" launch bb c2 -c security.idmap.isolated=true
	lxc_in "${d}" launch bb c3

	read -r h1 s1 <<<"$(uid_map_of "${d}" c1)"
	read -r h2 s2 <<<"$(uid_map_of "${d}" c2)"
	read -r h3 s3 <<<"$(uid_map_of "${d}" c3)"
	assert_eq "${s1} ${s2}" "65536 65536" "sizes of the isolated maps"
	[ $((h1 + s1)) -le "${h2}" ] || [ $((h2 + s2)) -le "${h1}" ] || fail "isolated maps overlap: ${h1}+${s1} and ${h2}+${s2}"
	assert_eq "${h3}" "${shared%% *}" "host root of the shared map"
	# Isolated ranges come after the first 65536 ids of the daemon's range, which containers sharing it use.
	[ "${h1}" -ge $((h3 + 65536)) ] && [ "${h2}" -ge $((h3 + 65536)) ] || fail "isolated maps ${h1} ${h2} overlap the shared ${h3}"

	# The volatile keys, as LXD records them.
	assert_eq "$(lxc_in "${d}" config get c1 volatile.idmap.base)" "${h1}" "volatile.idmap.base of c1"
	assert_eq "$(lxc_in "${d}" config get c1 volatile.idmap.next | jq -c '.[0]')" \
		"{\"Isuid\":true,\"Isgid\":false,\"Hostid\":${h1},\"Nsid\":0,\"Maprange\":65536}" "volatile.idmap.next of c1"
	for k in volatile.idmap.current volatile.last_state.idmap; do
		assert_eq "$(lxc_in "${d}" config get c1 "${k}")" "$(lxc_in "${d}" config get c1 volatile.idmap.next)" "${k} of c1"
	done

	# A file created in each is owned on the host by ids of its range.
	for c in c1 c2; do
		lxc_in "${d}" exec "${c}" -- sh -c 'echo x > /root/made && chown 5:7 /root/made'
	done

	owner=$(host_owner "${d}" c1 /root/made)
	assert_eq "${owner}" "$((h1 + 5)):$((h1 + 7))" "host owner of a file made in c1"
	owner=$(host_owner "${d}" c2 /root/made)
	assert_eq "${owner}" "$((h2 + 5)):$((h2 + 7))" "host owner of a file made in c2"
	assert_eq "$(host_owner "${d}" c1 /bin/busybox)" "${h1}:${h1}" "host owner of the image's files in c1"

	# The range stays across a restart; a copy gets a range of its own, its files shifted to it.
	lxc_in "${d}" restart c1 --force
	assert_eq "$(uid_map_of "${d}" c1)" "${h1} 65536" "map of c1 after a restart"
	lxc_in "${d}" stop c2 --force
	lxc_in "${d}" copy c2 c4
	lxc_in "${d}" start c2
	lxc_in "${d}" start c4
	read -r h4 s4 <<<"$(uid_map_of "${d}" c4)"
	for h in "${h1}" "${h2}"; do
		[ $((h4 + s4)) -le "${h}" ] || [ $((h + 65536)) -le "${h4}" ] || fail "the copy's map ${h4} overlaps ${h}"
	done

	assert_eq "$(host_owner "${d}" c4 /root/made)" "$((h4 + 5)):$((h4 + 7))" "host owner of the copied file"
	assert_eq "$(lxc_in "${d}" exec c4 -- stat -c '%u:%g' /root/made)" "5:7" "owner of the copied file inside"

	# Turning isolation on for a stopped container shifts its files at the next start.
	lxc_in "${d}" stop c3 --force
	LXD_DIR="${d}" stock_lxc "${d}.stock" config set c3 security.idmap.isolated true
	lxc_in "${d}" start c3
	read -r h3 s3 <<<"$(uid_map_of "${d}" c3)"
	assert_eq "${s3}" "65536" "size of c3's map once isolated"
	assert_eq "$(host_owner "${d}" c3 /bin/busybox)" "${h3}:${h3}" "host owner of c3's files once isolated"
	assert_eq "$(lxc_in "${d}" exec c3 -- stat -c '%u' /bin/busybox)" "0" "owner of c3's files inside once isolated"

	# security.idmap.size and security.idmap.base.
	lxc_in "${d}" launch bb c5 -c security.idmap.isolated=true -c security.idmap.size=100000
	assert_eq "$(uid_map_of "${d}" c5 | cut -d' ' -f2)" "100000" "size of c5's map"
	lxc_in "${d}" launch bb c6 -c security.idmap.isolated=true -c security.idmap.base=$((${shared%% *} + 5000000))
	assert_eq "$(uid_map_of "${d}" c6)" "$((${shared%% *} + 5000000)) 65536" "map of c6 from security.idmap.base"

	# Refusals: more ids than the daemon has, a base outside its range, bad values.
	assert_fails lxc_in "${d}" launch bb c7 -c security.idmap.isolated=true -c security.idmap.size=4000000000
	assert_contains "${FAIL_OUTPUT}" "not enough uid/gid available"
	assert_fails lxc_in "${d}" launch bb c7 -c security.idmap.isolated=true -c security.idmap.base=5
	assert_contains "${FAIL_OUTPUT}" "outside the daemon's id range"
	assert_fails lxc_in "${d}" config set c1 security.idmap.size=-1
	assert_contains "${FAIL_OUTPUT}" "security.idmap.size"
	assert_fails lxc_in "${d}" config set c1 security.idmap.isolated=maybe
	assert_eq "$(lxc_in "${d}" list c7 --format csv -c n)" "" "instances left by the refused launches"
}

test_confinement_raw_idmap() {
	local d="${TEST_TMP}/d1" dir="${TEST_TMP}/shared" host base
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	# raw.idmap maps host ids that root may delegate (/etc/subuid and /etc/subgid, as LXD requires): one of the
	# daemon's range that the isolated container's own map leaves out.
	base=$(root_subid_range /etc/subuid)
	host=$((${base%% *} + 1234))
	mkdir -p "${dir}"
	echo hello >"${dir}/f"
	chown "${host}:${host}" "${dir}" "${dir}/f"
	chmod 700 "${dir}"

	# Host id HOST is container id 1000: the bind-mounted directory of host user HOST is the container user 1000's.
	lxc_in "${d}" launch bb c1 -c security.idmap.isolated=true -c raw.idmap="both ${host} 1000"
	lxc_in "${d}" config device add c1 shared disk source="${dir}" path=/mnt/shared
	assert_eq "$(lxc_in "${d}" exec c1 -- awk '$1 == 1000 {print $2, $3}' /proc/self/uid_map)" "${host} 1" "uid 1000 in the map"
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%u:%g' /mnt/shared/f)" "1000:1000" "owner of the shared file inside"
	lxc_in "${d}" exec c1 -- sh -c 'touch /root/mine && chown 1000:1000 /root/mine'
	assert_eq "$(host_owner "${d}" c1 /root/mine)" "${host}:${host}" "host owner of a file of the mapped user"

	# Several lines, ranges, set through the stock client on a stopped container: applied at the next start.
	lxc_in "${d}" stop c1 --force
	LXD_DIR="${d}" stock_lxc "${d}.stock" config set c1 raw.idmap "$(printf 'uid %d-%d 500-510\ngid %d 1000' $((host + 10)) $((host + 20)) "${host}")"
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- awk '$1 == 500 {print $2, $3}' /proc/self/uid_map)" "$((host + 10)) 11" "uids 500-510 in the map"
	assert_eq "$(lxc_in "${d}" exec c1 -- awk '$1 == 1000 {print $2, $3}' /proc/self/gid_map)" "${host} 1" "gid 1000 in the map"
	assert_eq "$(host_owner "${d}" c1 /root/mine)" "$(($(uid_map_of "${d}" c1 | cut -d' ' -f1) + 1000)):${host}" \
		"host owner of the file once uid 1000 is no longer mapped to ${host}"
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%u:%g' /root/mine)" "1000:1000" "owner of the file inside"

	# Refusals: syntax, sizes that differ, host ids already in the container's map.
	assert_fails lxc_in "${d}" config set c1 raw.idmap "both 1000"
	assert_contains "${FAIL_OUTPUT}" "invalid raw.idmap line"
	assert_fails lxc_in "${d}" config set c1 raw.idmap "uid 1-3 1-2"
	assert_contains "${FAIL_OUTPUT}" "different sizes"
	assert_fails lxc_in "${d}" config set c1 raw.idmap "uid $(uid_map_of "${d}" c1 | cut -d' ' -f1) 7"
	assert_contains "${FAIL_OUTPUT}" "already uses"
}

test_confinement_protection() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# security.protection.delete: refused with LXD's words while true, also after lxc delete -f stopped it.
	lxc_in "${d}" launch bb c1 -c security.protection.delete=true
	assert_fails lxc_in "${d}" delete -f c1
	assert_contains "${FAIL_OUTPUT}" "Container is protected"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc delete c1
	assert_contains "${FAIL_OUTPUT}" "Container is protected"
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c n)" "c1" "the protected instance after the refused deletes"
	lxc_in "${d}" start c1
	assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc delete -f c1
	assert_contains "${FAIL_OUTPUT}" "Container is protected"
	LXD_DIR="${d}" stock_lxc "${d}.stock" config set c1 security.protection.delete false
	lxc_in "${d}" delete -f c1
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c n)" "" "the instance once unprotected and deleted"

	# From a profile too.
	lxc_in "${d}" profile create keep
	lxc_in "${d}" profile set keep security.protection.delete true
	lxc_in "${d}" init bb c2 -p default -p keep
	assert_fails lxc_in "${d}" delete c2
	assert_contains "${FAIL_OUTPUT}" "Container is protected"
	lxc_in "${d}" profile remove c2 keep
	lxc_in "${d}" delete c2

	# security.protection.shift: a change of the id map that would shift the root filesystem is refused, and
	# nothing changes; one that does not shift it is taken.
	lxc_in "${d}" launch bb c3 -c security.protection.shift=true
	assert_fails lxc_in "${d}" config set c3 security.idmap.isolated=true
	assert_contains "${FAIL_OUTPUT}" "Container is protected against filesystem shifting"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc config set c3 raw.idmap "both 50 1000"
	assert_contains "${FAIL_OUTPUT}" "Container is protected against filesystem shifting"
	assert_fails lxc_in "${d}" config set c3 security.privileged=true
	assert_eq "$(lxc_in "${d}" config get c3 security.idmap.isolated)" "" "security.idmap.isolated after the refusal"
	lxc_in "${d}" config set c3 user.note=kept
	lxc_in "${d}" restart c3 --force
	# Unprotected, the same change is taken and applied at the next start.
	lxc_in "${d}" config set c3 security.protection.shift=false security.idmap.isolated=true
	lxc_in "${d}" restart c3 --force
	assert_eq "$(uid_map_of "${d}" c3 | cut -d' ' -f1)" "$(lxc_in "${d}" config get c3 volatile.idmap.base)" "map of c3 once isolated"
}

test_confinement_apparmor() {
	local d="${TEST_TMP}/d1"
	[ -d /sys/kernel/security/apparmor ] && { echo "SKIP: this host has AppArmor; the profiles are checked by the unit tests"; return 0; }
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# Without AppArmor in the kernel: the start-up warning, in both clients' lists, and containers unconfined.
	assert_contains "$(lxc_in "${d}" warning list -f csv -c t)" "AppArmor support has been disabled"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${d}.stock" warning list -f csv -c t)" "AppArmor support has been disabled"
	lxc_in "${d}" launch bb c1 -c security.nesting=true -c raw.apparmor="deny /etc/shadow r,"
	assert_eq "$(lxc_in "${d}" config get c1 raw.apparmor)" "deny /etc/shadow r," "raw.apparmor"
	[ ! -e "${d}/security/apparmor/profiles/lxd-c1" ] || fail "a profile was written for a host without AppArmor"
	assert_eq "$(lxc_in "${d}" exec c1 -- echo ok)" "ok" "a command in the unconfined container"
}

# cgroup_file_of DIR NAME FILE: prints the path of FILE in the cgroup v2 hierarchy of the running container NAME.
cgroup_file_of() {
	local pid cg root=/sys/fs/cgroup
	pid=$(lxc_in "$1" info "$2" | awk '$1 == "PID:" {print $2}')
	cg=$(sed -n 's/^0:://p' "/proc/${pid}/cgroup")
	[ -e /sys/fs/cgroup/cgroup.controllers ] || root=/sys/fs/cgroup/unified
	echo "${root}${cg}/$3"
}

test_confinement_limits() {
	local d="${TEST_TMP}/d1" f
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# Values are checked when set, by both clients.
	assert_fails lxc_in "${d}" init bb c0 -c limits.disk.priority=11
	assert_contains "${FAIL_OUTPUT}" "limits.disk.priority"
	lxc_in "${d}" init bb c1
	assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc config set c1 limits.hugepages.2MB=lots
	assert_contains "${FAIL_OUTPUT}" "limits.hugepages.2MB"

	# limits.disk.priority: the block I/O weight where the host has one; refused when set where it has none, as
	# the other limits are, rather than left to fail a start.
	if [ -e /sys/fs/cgroup/blkio/blkio.weight ] || [ -e /sys/fs/cgroup/blkio/blkio.bfq.weight ]; then
		LXD_DIR="${d}" stock_lxc "${d}.stock" config set c1 limits.disk.priority 5
		lxc_in "${d}" start c1
		f=$(ls "/sys/fs/cgroup/blkio$(sed -n 's/^[0-9]*:blkio://p' "/proc/$(lxc_in "${d}" info c1 | awk '$1 == "PID:" {print $2}')/cgroup")"/blkio*weight | head -1)
		assert_eq "$(head -1 "${f}")" "500" "block I/O weight"
		lxc_in "${d}" stop c1 --force
		lxc_in "${d}" config unset c1 limits.disk.priority
	elif grep -qsw io /sys/fs/cgroup/cgroup.controllers /sys/fs/cgroup/unified/cgroup.controllers; then
		LXD_DIR="${d}" stock_lxc "${d}.stock" config set c1 limits.disk.priority 5
		lxc_in "${d}" start c1
		assert_contains "$(cat "$(cgroup_file_of "${d}" c1 io.weight)")" "500"
		lxc_in "${d}" stop c1 --force
		lxc_in "${d}" config unset c1 limits.disk.priority
	else
		assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc config set c1 limits.disk.priority 5
		assert_contains "${FAIL_OUTPUT}" "the host has no block I/O weight cgroup controller"
		assert_fails lxc_in "${d}" launch bb c2 -c limits.disk.priority=5
		assert_contains "${FAIL_OUTPUT}" "limits.disk.priority"
	fi

	# limits.hugepages.*: the hugetlb limit of the container's cgroup (v1, v2, or the v2 hierarchy of a hybrid
	# host), rounded down to whole pages by the kernel; sizes the host lacks are refused at start.
	if [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] &&
		{ [ -d /sys/fs/cgroup/hugetlb ] || grep -qsw hugetlb /sys/fs/cgroup/cgroup.controllers /sys/fs/cgroup/unified/cgroup.controllers; }; then
		lxc_in "${d}" config set c1 limits.hugepages.2MB=64MiB
		lxc_in "${d}" start c1
		if [ -d /sys/fs/cgroup/hugetlb ]; then
			f=/sys/fs/cgroup/hugetlb$(sed -n 's/^[0-9]*:hugetlb://p' "/proc/$(lxc_in "${d}" info c1 | awk '$1 == "PID:" {print $2}')/cgroup")/hugetlb.2MB.limit_in_bytes
		else
			f=$(cgroup_file_of "${d}" c1 hugetlb.2MB.max)
		fi

		assert_eq "$(cat "${f}")" "67108864" "hugetlb limit of c1"
		lxc_in "${d}" stop c1 --force
		lxc_in "${d}" config unset c1 limits.hugepages.2MB
	else
		echo "SKIP: no hugetlb controller or 2MB pages on this host"
	fi

	if [ ! -d /sys/kernel/mm/hugepages/hugepages-64kB ]; then
		assert_fails lxc_in "${d}" config set c1 limits.hugepages.64KB=1MiB
		assert_contains "${FAIL_OUTPUT}" "the host has no 64KB huge pages"
	fi
}

test_confinement_idmap_snapshots() {
	local d="${TEST_TMP}/d1" h1 h2
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# A snapshot taken under the shared map, restored once a profile has isolated the container: the restored
	# files are shifted to the isolated map at the next start.
	lxc_in "${d}" profile create iso
	lxc_in "${d}" launch bb c1 -p default -p iso
	lxc_in "${d}" exec c1 -- sh -c 'echo x > /root/made && chown 5:7 /root/made'
	lxc_in "${d}" snapshot c1 s0
	lxc_in "${d}" profile set iso security.idmap.isolated true
	lxc_in "${d}" restart c1 --force
	h1=$(uid_map_of "${d}" c1 | cut -d' ' -f1)
	assert_eq "${h1}" "$(lxc_in "${d}" config get c1 volatile.idmap.base)" "c1 isolated by its profile"
	lxc_in "${d}" restore c1 s0
	assert_eq "$(uid_map_of "${d}" c1 | cut -d' ' -f1)" "${h1}" "map of c1 after the restore"
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%u:%g' /root/made /bin/busybox | tr '\n' ' ')" "5:7 0:0 " \
		"owners inside after restoring a snapshot of the shared map"
	assert_eq "$(host_owner "${d}" c1 /root/made)" "$((h1 + 5)):$((h1 + 7))" "host owner after the restore"

	# A copy with its snapshots gets a map of its own; restoring the copied snapshot gives files of that map.
	lxc_in "${d}" stop c1 --force
	lxc_in "${d}" copy c1 c2
	lxc_in "${d}" start c2
	h2=$(uid_map_of "${d}" c2 | cut -d' ' -f1)
	[ "${h2}" != "${h1}" ] || fail "the copy shares c1's map"
	lxc_in "${d}" restore c2 s0
	assert_eq "$(lxc_in "${d}" exec c2 -- stat -c '%u:%g' /root/made)" "5:7" "owner inside the copy after restoring its snapshot"
	assert_eq "$(host_owner "${d}" c2 /root/made)" "$((h2 + 5)):$((h2 + 7))" "host owner in the copy after the restore"
}

test_confinement_idmap_parallel() {
	local d="${TEST_TMP}/d1" pids=() c h prev
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# Isolated containers created together, and containers a profile isolates started together, each get a range
	# of their own.
	for c in p1 p2 p3; do
		lxc_in "${d}" init bb "${c}" -c security.idmap.isolated=true >/dev/null &
		pids+=("$!")
	done

	lxc_in "${d}" profile create iso
	for c in q1 q2 q3; do
		lxc_in "${d}" init bb "${c}" -p default -p iso >/dev/null
	done

	for pid in "${pids[@]}"; do
		wait "${pid}"
	done

	lxc_in "${d}" profile set iso security.idmap.isolated true
	pids=()
	for c in p1 p2 p3 q1 q2 q3; do
		lxc_in "${d}" start "${c}" &
		pids+=("$!")
	done

	for pid in "${pids[@]}"; do
		wait "${pid}"
	done

	assert_eq "$(for c in p1 p2 p3 q1 q2 q3; do uid_map_of "${d}" "${c}"; done | sort -u | awk '{print $2}' | sort -u)" "65536" "sizes"
	prev=-65536
	for h in $(for c in p1 p2 p3 q1 q2 q3; do uid_map_of "${d}" "${c}" | cut -d' ' -f1; done | sort -n); do
		[ $((h - prev)) -ge 65536 ] || fail "isolated ranges ${prev} and ${h} overlap"
		prev=${h}
	done
}

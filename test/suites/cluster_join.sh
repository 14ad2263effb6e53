# Clusters of three members: servers join with tokens, every member serves the whole API (requests about an
# instance of another member are forwarded to it), a member killed leaves the other two serving, and a member is
# removed. Each daemon runs in a network namespace of the test's own, the namespaces joined by veth pairs to a bridge
# in a fourth one; the addresses exist only inside them, and everything that contacts a member's address runs in a
# member's namespace.

# cl_lan N: a bridge in a namespace of its own and N member namespaces on it, their veth pairs created in place (the
# host's namespace never holds them); member i has 192.0.2.1<i>/24 on eth0. The namespaces are in CL_NS (1-based).
cl_lan() {
	local n=$1 br i ns
	br="lxdgo-br-$$-${RANDOM}"
	ip netns add "${br}"
	ip netns exec "${br}" ip link add br0 type bridge
	ip netns exec "${br}" ip link set br0 up
	CL_NS=("")
	for i in $(seq 1 "${n}"); do
		ns="lxdgo-m${i}-$$-${RANDOM}"
		ip netns add "${ns}"
		on_exit cl_lan_down "${TEST_TMP}/m${i}" "${ns}"
		ip netns exec "${ns}" ip link set lo up
		ip link add eth0 netns "${ns}" type veth peer name "m${i}" netns "${br}"
		ip netns exec "${br}" ip link set "m${i}" master br0 up
		ip netns exec "${ns}" ip addr add "192.0.2.1${i}/24" dev eth0
		ip netns exec "${ns}" ip link set eth0 up
		CL_NS+=("${ns}")
	done

	# The bridge goes once every member has stopped: members hand the database over to each other as they stop.
	on_exit ip netns del "${br}"
}

# cl_lan_down DIR NS: stops the daemon of DIR, then removes its namespace NS.
cl_lan_down() {
	shutdown_lxd "$1" || true
	ip netns del "$2"
}

# cl_member I: starts member I's daemon in its namespace, with its address set (a restart keeps what it had).
cl_member() {
	local i=$1
	NETNS="${CL_NS[${i}]}" spawn_instance_lxd "${TEST_TMP}/m${i}"
	lxc_in "${TEST_TMP}/m${i}" config set core.https_address "192.0.2.1${i}:8443"
}

# cl_join I TOKEN: member I joins with TOKEN through "lxd init --preseed", run in its namespace.
cl_join() {
	local i=$1 token=$2
	printf 'cluster:\n  enabled: true\n  server_address: 192.0.2.1%s:8443\n  cluster_token: %s\n' "${i}" "${token}" |
		LXD_DIR="${TEST_TMP}/m${i}" ip netns exec "${CL_NS[${i}]}" "${LXD_BIN}" init --preseed
}

# cl_wait_members DIR WANT: waits until "lxc cluster list -f csv" through DIR, reduced to name, roles and state,
# reads WANT.
cl_wait_members() {
	local dir=$1 want=$2 got=""
	for _ in $(seq 60); do
		got=$(lxc_in "${dir}" cluster list -f csv | awk -F, '{ gsub(/"/, ""); print $1 ":" $(NF-1) }' | tr '\n' ' ')
		[ "${got}" = "${want}" ] && return 0
		sleep 1
	done

	fail "members through ${dir}: got '${got}', want '${want}'"
}

test_cluster_join() {
	local m1="${TEST_TMP}/m1" m2="${TEST_TMP}/m2" m3="${TEST_TMP}/m3" token
	cl_lan 3
	for i in 1 2 3; do
		cl_member "${i}"
	done

	import_busybox "${m1}" bb
	lxc_in "${m1}" cluster enable m1 >/dev/null
	lxc_in "${m1}" config set cluster.offline_threshold 10

	# Tokens: listed by both clients, revoked, refused once used or revoked.
	token=$(lxc_in "${m1}" cluster add m2 | tail -n1)
	local revoked
	revoked=$(lxc_in "${m1}" cluster add m3 | tail -n1)
	assert_eq "$(lxc_in "${m1}" cluster list-tokens -f csv | cut -d, -f1 | tr '\n' ' ')" "m2 m3 " "tokens"
	assert_eq "$(cl_stock "${m1}" cluster list-tokens -f csv | cut -d, -f1 | tr '\n' ' ')" "m2 m3 " "tokens (stock)"
	lxc_in "${m1}" cluster revoke-token m3 >/dev/null
	assert_fails cl_join 3 "${revoked}"
	assert_contains "${FAIL_OUTPUT}" "Failed to join cluster"
	[ ! -e "${m3}/database/global" ] || fail "a refused join left database/global"
	[ ! -e "${m3}/cluster.crt" ] || fail "a refused join left cluster.crt"
	assert_eq "$(local_curl "${m3}" /1.0/cluster | jq -c '[.metadata.enabled, .metadata.server_name]')" '[false,""]' "m3 not clustered"

	# A joiner holding data the cluster would hide is refused before anything changes.
	import_busybox "${m3}" bb3
	assert_fails cl_join 3 "$(lxc_in "${m1}" cluster add m3 | tail -n1)"
	assert_contains "${FAIL_OUTPUT}" "This server has [1 images]: delete them before joining a cluster"
	lxc_in "${m3}" image delete bb3
	lxc_in "${m1}" cluster revoke-token m3 >/dev/null

	cl_join 2 "${token}"
	assert_eq "$(lxc_in "${m1}" cluster list-tokens -f csv)" "" "token used up"

	# The third member joins through the second, with a token the stock client asked for.
	token=$(cl_stock "${m2}" cluster add m3 | tail -n1)
	assert_eq "$(lxc_in "${m1}" cluster list-tokens -f csv | cut -d, -f1)" "m3" "a token of m2 listed through m1"
	lxc_in "${m1}" cluster revoke-token m3 >/dev/null
	assert_eq "$(lxc_in "${m2}" cluster list-tokens -f csv)" "" "a token of m2 revoked through m1"
	token=$(cl_stock "${m2}" cluster add m3 | tail -n1)
	cl_join 3 "${token}"
	for d in "${m1}" "${m2}" "${m3}"; do
		cl_wait_members "${d}" "m1:ONLINE m2:ONLINE m3:ONLINE "
	done

	# Three voters, one of them the leader.
	for _ in $(seq 30); do
		[ "$(lxc_in "${m3}" cluster list -f csv | grep -c database)" = 3 ] && break
		sleep 1
	done
	assert_eq "$(lxc_in "${m3}" cluster list -f csv | grep -c database)" 3 "three database members"
	assert_eq "$(lxc_in "${m3}" cluster list -f csv | grep -c database-leader)" 1 "one leader"
	assert_eq "$(cl_stock "${m2}" cluster list -f csv | cut -d, -f1 | tr '\n' ' ')" "m1 m2 m3 " "members (stock)"

	# Instances on the member of the request, and placed with --target through another (the image follows).
	lxc_in "${m1}" launch bb c1 >/dev/null
	lxc_in "${m2}" launch bb c2 --target m3 >/dev/null
	ls "${m3}/images/" | grep -qE '^[0-9a-f]{64}$' || fail "the image was not copied to m3"
	for d in "${m1}" "${m2}" "${m3}"; do
		assert_eq "$(lxc_in "${d}" list -f csv -c nsL | tr '\n' ' ')" "c1,RUNNING,m1 c2,RUNNING,m3 " "instances through ${d}"
	done
	assert_eq "$(cl_stock "${m2}" list -f csv -c nsL | tr '\n' ' ')" "c1,RUNNING,m1 c2,RUNNING,m3 " "instances (stock)"
	assert_eq "$(local_curl "${m1}" "/1.0/instances?recursion=2" | jq -r '[.metadata[] | .name + ":" + .state.status] | join(" ")')" \
		"c1:Running c2:Running" "recursion 2"

	# Exec and files on m3's instance through members that do not host it, with both clients.
	assert_eq "$(lxc_in "${m1}" exec c2 -- hostname)" "c2" "exec through m1"
	echo "through m2" >"${TEST_TMP}/f.txt"
	lxc_in "${m2}" file push "${TEST_TMP}/f.txt" c2/root/f.txt
	assert_eq "$(cl_stock "${m1}" exec c2 -- cat /root/f.txt)" "through m2" "file through m2, exec through m1 (stock)"
	cl_stock "${m1}" stop -f c2
	assert_eq "$(lxc_in "${m3}" list -f csv -c ns c2)" "c2,STOPPED" "stopped through m1"
	cl_stock "${m2}" start c2
	assert_eq "$(lxc_in "${m3}" list -f csv -c ns c2)" "c2,RUNNING" "started through m2"

	# Without --target, an instance goes on the member holding the fewest (m2), and not on one that takes instances
	# only when named.
	lxc_in "${m1}" launch bb c4 >/dev/null
	assert_eq "$(lxc_in "${m3}" list -f csv -c nsL c4)" "c4,RUNNING,m2" "placed on the least loaded member"
	lxc_in "${m1}" cluster set m2 scheduler.instance manual
	lxc_in "${m1}" init bb c5 >/dev/null
	assert_eq "$(lxc_in "${m1}" list -f csv -c L c5)" "m1" "not placed on a manual member"
	lxc_in "${m2}" delete -f c4 c5
	lxc_in "${m1}" cluster unset m2 scheduler.instance

	# An image imported on one member is copied to the others (cluster.images_minimal_replica, 3 by default); with
	# 1 it stays where it was imported.
	local fp tiny="${TEST_TMP}/tiny"
	mkdir -p "${tiny}/rootfs"
	printf 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: replicated\n' >"${tiny}/metadata.yaml"
	tar -C "${tiny}" -czf "${TEST_TMP}/tiny.tar.gz" metadata.yaml rootfs
	fp=$(sha256sum "${TEST_TMP}/tiny.tar.gz" | cut -d' ' -f1)
	lxc_in "${m2}" image import "${TEST_TMP}/tiny.tar.gz" --alias rep1 >/dev/null
	for _ in $(seq 50); do
		[ -e "${m1}/images/${fp}" ] && [ -e "${m3}/images/${fp}" ] && break
		sleep 0.2
	done
	[ -e "${m1}/images/${fp}" ] && [ -e "${m3}/images/${fp}" ] || fail "the image was not copied to the other members"
	lxc_in "${m2}" image delete rep1
	lxc_in "${m1}" config set cluster.images_minimal_replica 1
	printf 'architecture: x86_64\ncreation_date: 1700000001\nproperties:\n  description: kept\n' >"${tiny}/metadata.yaml"
	tar -C "${tiny}" -czf "${TEST_TMP}/tiny.tar.gz" metadata.yaml rootfs
	fp=$(sha256sum "${TEST_TMP}/tiny.tar.gz" | cut -d' ' -f1)
	lxc_in "${m2}" image import "${TEST_TMP}/tiny.tar.gz" --alias rep2 >/dev/null
	sleep 2
	[ ! -e "${m1}/images/${fp}" ] && [ ! -e "${m3}/images/${fp}" ] || fail "an image was copied with cluster.images_minimal_replica 1"
	lxc_in "${m2}" image delete rep2
	lxc_in "${m1}" config unset cluster.images_minimal_replica

	# A profile changed through one member is seen through the others.
	lxc_in "${m3}" profile set default user.k v
	assert_eq "$(lxc_in "${m1}" profile get default user.k)" "v" "profile"

	# kill -9 of a member: the other two keep serving reads and writes; it is reported offline, its instances in
	# error, and it returns online.
	kill -9 "$(cat "${m3}/lxd.pid")"
	lxc_in "${m1}" profile set default user.k w
	assert_eq "$(lxc_in "${m2}" profile get default user.k)" "w" "write with a member down"
	assert_eq "$(lxc_in "${m2}" list -f csv -c nsL | tr '\n' ' ')" "c1,RUNNING,m1 c2,ERROR,m3 " "instances with a member down"
	cl_wait_members "${m1}" "m1:ONLINE m2:ONLINE m3:OFFLINE "
	cl_member 3
	cl_wait_members "${m2}" "m1:ONLINE m2:ONLINE m3:ONLINE "
	assert_eq "$(lxc_in "${m1}" list -f csv -c nsL | tr '\n' ' ')" "c1,RUNNING,m1 c2,RUNNING,m3 " "instances after the restart"
	assert_eq "$(lxc_in "${m3}" profile get default user.k)" "w" "the restarted member sees the write"

	# Evacuation: the instances of m3 stop, and stay stopped across a restart; the scheduler leaves m3 out; a restore
	# starts them again. An instance that asks to be moved refuses the evacuation before anything stops.
	lxc_in "${m1}" config set c2 cluster.evacuate migrate
	assert_fails lxc_in "${m1}" cluster evacuate m3 --force
	assert_contains "${FAIL_OUTPUT}" 'instance "c2" asks to be moved to another member'
	assert_eq "$(lxc_in "${m1}" list -f csv -c ns c2)" "c2,RUNNING" "nothing stopped by a refused evacuation"
	lxc_in "${m1}" config unset c2 cluster.evacuate
	lxc_in "${m1}" cluster evacuate m3 --force >/dev/null
	cl_wait_members "${m2}" "m1:ONLINE m2:ONLINE m3:EVACUATED "
	assert_eq "$(lxc_in "${m2}" list -f csv -c ns c2)" "c2,STOPPED" "evacuated instance stopped"
	shutdown_lxd "${m3}"
	cl_member 3
	assert_eq "$(lxc_in "${m3}" list -f csv -c ns c2)" "c2,STOPPED" "evacuated instance not started at boot"
	lxc_in "${m3}" launch bb c6 >/dev/null
	assert_eq "$(lxc_in "${m3}" list -f csv -c L c6)" "m2" "nothing placed on an evacuated member"
	lxc_in "${m3}" delete -f c6
	cl_stock "${m2}" cluster restore m3 --force >/dev/null
	cl_wait_members "${m1}" "m1:ONLINE m2:ONLINE m3:ONLINE "
	assert_eq "$(lxc_in "${m1}" list -f csv -c ns c2)" "c2,RUNNING" "restored instance running"

	# Removal: refused while the member holds an instance, then it leaves and is a server of its own again.
	assert_fails lxc_in "${m1}" cluster remove m3
	assert_contains "${FAIL_OUTPUT}" 'Cluster member "m3" still has instances: [c2]'
	lxc_in "${m1}" delete -f c2
	lxc_in "${m1}" cluster remove m3 >/dev/null
	cl_wait_members "${m2}" "m1:ONLINE m2:ONLINE "
	assert_eq "$(local_curl "${m3}" /1.0 | jq -c '.metadata.environment.server_clustered')" "false" "m3 standalone"
	[ ! -e "${m3}/database/global" ] || fail "the removed member kept the cluster database"
	[ ! -e "${m3}/cluster.crt" ] || fail "the removed member kept the cluster certificate"
	assert_eq "$(lxc_in "${m3}" list -f csv)" "" "the removed member lists its own instances"
}

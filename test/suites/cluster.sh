# Clustering: a server becomes the first member of a cluster ("lxc cluster enable", "lxd init --preseed"); its data
# moves into the replicated dqlite database and its members are listed, shown, edited and renamed, with our client
# and the stock LXD 5.0.2 client. Each daemon runs in a network namespace of the test's own, on its loopback.

# cl_stock DIR ARGS...: the stock client against the daemon of DIR.
cl_stock() {
	local dir=$1
	shift
	LXD_DIR="${dir}" stock_lxc "${dir}.stock" "$@"
}

# cl_spawn DIR: a namespace and a daemon in it, with the busybox image as "bb".
cl_spawn() {
	local d=$1
	make_netns
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
}

# cl_member_csv DIR: the members as "lxc cluster list -f csv" prints them.
cl_member_csv() {
	lxc_in "$1" cluster list -f csv
}

# Enable on a server with data: the data moves, the member is recorded, both clients see the cluster, and the member
# survives a restart and a kill -9.
test_cluster_enable() {
	local d="${TEST_TMP}/d1"
	cl_spawn "${d}"

	assert_eq "$(local_curl "${d}" /1.0/cluster | jq -c .metadata)" '{"server_name":"","enabled":false,"member_config":[]}' "not clustered"
	assert_eq "$(local_curl "${d}" /1.0/cluster/members | jq -c .metadata)" '[]' "no members"
	assert_fails lxc_in "${d}" cluster list
	assert_eq "${FAIL_OUTPUT}" "Error: LXD server isn't part of a cluster" "list refused"

	# Without an address nothing is created.
	local refusal="Error: Failed to configure cluster: This server is not available on the network: set core.https_address or cluster.https_address first"
	assert_fails lxc_in "${d}" cluster enable n1
	assert_eq "${FAIL_OUTPUT}" "${refusal}" "no address"
	assert_fails cl_stock "${d}" cluster enable n1
	assert_eq "${FAIL_OUTPUT}" "${refusal}" "no address (stock)"
	local out
	out=$(local_curl "${d}" /1.0/cluster -X PUT -d '{"server_name":"n1","enabled":true}')
	op=$(jq -r .operation <<<"${out}")
	assert_eq "$(local_curl "${d}" "${op}/wait" | jq -r .metadata.err)" \
		"This server is not available on the network: set core.https_address or cluster.https_address first" "no address (API)"
	[ ! -e "${d}/database/global" ] || fail "a refused enable left database/global"
	[ ! -e "${d}/cluster.crt" ] || fail "a refused enable left cluster.crt"

	# Data of every kind before: a running container, a profile, an image alias, server configuration.
	lxc_in "${d}" launch bb c1 >/dev/null
	lxc_in "${d}" profile create p1 >/dev/null
	lxc_in "${d}" profile set p1 user.k v
	lxc_in "${d}" config set images.auto_update_interval 7
	lxc_in "${d}" config set core.https_address 127.0.0.1:8443

	assert_fails lxc_in "${d}" cluster enable -- -bad-
	assert_contains "${FAIL_OUTPUT}" "must not start or end with a dash" "bad name"
	assert_eq "$(lxc_in "${d}" cluster enable n1)" "Clustering enabled" "enable"
	assert_fails lxc_in "${d}" cluster enable n2
	assert_eq "${FAIL_OUTPUT}" "Error: This LXD server is already clustered" "enable twice"

	assert_eq "$(cl_member_csv "${d}")" 'n1,https://127.0.0.1:8443,"database,database-leader",x86_64,default,,ONLINE,Fully operational' "members"
	assert_eq "$(local_curl "${d}" /1.0/cluster | jq -c .metadata)" '{"server_name":"n1","enabled":true,"member_config":[]}' "clustered"
	assert_eq "$(local_curl "${d}" /1.0 | jq -c '.metadata.environment | [.server_clustered, .server_name]')" '[true,"n1"]' "environment"
	cmp -s "${d}/cluster.crt" "${d}/server.crt" || fail "cluster.crt is not the server certificate"
	[ -f "${d}/database/global/member" ] || fail "no member marker"

	# Everything is read from the cluster database now, and the member's own keys from its own.
	assert_contains "$(LXD_DIR="${d}" "${LXD_BIN}" sql global "SELECT name, address FROM nodes")" "| n1   | 127.0.0.1:8443 |"
	assert_contains "$(LXD_DIR="${d}" "${LXD_BIN}" sql global "SELECT key FROM config")" "images.auto_update_interval"
	case "$(LXD_DIR="${d}" "${LXD_BIN}" sql global "SELECT key FROM config")" in
	*core.https_address* | *cluster.https_address*) fail "node keys in the cluster configuration" ;;
	esac
	assert_contains "$(LXD_DIR="${d}" "${LXD_BIN}" sql local "SELECT value FROM config WHERE key = 'cluster.https_address'")" "127.0.0.1:8443"
	assert_eq "$(lxc_in "${d}" config get images.auto_update_interval)" "7" "cluster key"
	assert_eq "$(lxc_in "${d}" config get cluster.https_address)" "127.0.0.1:8443" "member key"
	assert_fails lxc_in "${d}" config set cluster.https_address 127.0.0.1:9443
	assert_contains "${FAIL_OUTPUT}" "Changing cluster.https_address is currently not supported"

	assert_eq "$(lxc_in "${d}" profile get p1 user.k)" "v" "profile moved"
	assert_eq "$(lxc_in "${d}" list -c nsL -f csv)" "c1,RUNNING,n1" "instance moved, located on n1"
	assert_contains "$(cl_stock "${d}" list c1)" "LOCATION"
	assert_contains "$(cl_stock "${d}" list c1 -c nL -f csv)" "c1,n1"
	lxc_in "${d}" launch bb c2 >/dev/null
	assert_eq "$(lxc_in "${d}" exec c2 -- echo hi)" "hi" "exec on the cluster database"
	lxc_in "${d}" delete -f c2

	# Members through the stock client: show, edit, rename.
	assert_contains "$(cl_stock "${d}" cluster list)" "| n1   | https://127.0.0.1:8443 | database"
	assert_contains "$(cl_stock "${d}" cluster show n1)" "status: Online"
	cl_stock "${d}" cluster show n1 | sed -e 's/^description: .*/description: first member/' -e 's/^failure_domain: .*/failure_domain: rack1/' |
		cl_stock "${d}" cluster edit n1
	assert_eq "$(local_curl "${d}" /1.0/cluster/members/n1 | jq -c '.metadata | [.description, .failure_domain, .roles]')" \
		'["first member","rack1",["database","database-leader"]]' "edited"
	lxc_in "${d}" cluster set n1 scheduler.instance manual
	assert_eq "$(lxc_in "${d}" cluster get n1 scheduler.instance)" "manual" "member config"
	assert_fails lxc_in "${d}" cluster set n1 bogus.key 1
	assert_contains "${FAIL_OUTPUT}" 'unknown cluster member configuration key "bogus.key"'
	out=$(local_curl "${d}" /1.0/cluster/members/n1 -X PATCH -d '{"roles":["bogus"]}')
	assert_eq "$(jq -r .error_code <<<"${out}")" "400" "bad role"
	assert_eq "$(cl_stock "${d}" cluster rename n1 m1)" "Member n1 renamed to m1" "rename"
	assert_eq "$(lxc_in "${d}" list -c nL -f csv)" "c1,m1" "location follows the rename"
	assert_fails lxc_in "${d}" cluster show n1
	assert_contains "${FAIL_OUTPUT}" "not found"

	# A restart and a kill -9: the member comes back from its own files, ONLINE, with its data.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_contains "$(cl_member_csv "${d}")" "m1,https://127.0.0.1:8443,"
	assert_eq "$(lxc_in "${d}" list -c nsL -f csv)" "c1,RUNNING,m1" "after restart"
	kill -9 "$(cat "${d}/lxd.pid")"
	wait "$(cat "${d}/lxd.pid")" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	spawn_lxd "${d}"
	assert_contains "$(cl_member_csv "${d}")" ",ONLINE,Fully operational"
	assert_eq "$(lxc_in "${d}" profile get p1 user.k)" "v" "after kill -9"
	lxc_in "${d}" delete -f c1
}

# kill -9 at any point of an enable leaves a server that starts either as a member or as the server it was, its data
# whole either way.
test_cluster_enable_killed() {
	local d="${TEST_TMP}/d1"
	cl_spawn "${d}"
	lxc_in "${d}" profile create p1 >/dev/null
	lxc_in "${d}" config set core.https_address 127.0.0.1:8443

	local delay clustered=0 standalone=0
	for delay in 0.02 0.06 0.1 0.15 0.3; do
		if [ -f "${d}/database/global/member" ]; then
			break
		fi

		local pid
		pid=$(cat "${d}/lxd.pid")
		lxc_in "${d}" cluster enable n1 >/dev/null 2>&1 &
		sleep "${delay}"
		kill -9 "${pid}"
		wait "${pid}" 2>/dev/null || true
		wait || true
		rm -f "${d}/lxd.pid"
		spawn_lxd "${d}"
		if [ "$(local_curl "${d}" /1.0/cluster | jq -r .metadata.enabled)" = "true" ]; then
			clustered=$((clustered + 1))
			assert_contains "$(cl_member_csv "${d}")" "n1,https://127.0.0.1:8443,"
		else
			standalone=$((standalone + 1))
			[ ! -e "${d}/database/global" ] || fail "an interrupted enable left database/global"
			[ ! -e "${d}/cluster.crt" ] || fail "an interrupted enable left cluster.crt"
		fi

		assert_contains "$(lxc_in "${d}" profile list -f csv)" "p1" "profile after kill -9 at ${delay}s"
	done

	echo "kill -9 during enable: ${standalone} times before it finished, ${clustered} after"
	[ -f "${d}/database/global/member" ] || assert_eq "$(lxc_in "${d}" cluster enable n1)" "Clustering enabled" "enable after the kills"
	assert_contains "$(cl_member_csv "${d}")" ",ONLINE,"
}

# lxd init --preseed with a cluster section: the server is configured, then becomes the first member.
test_cluster_preseed() {
	local d="${TEST_TMP}/d1"
	make_netns
	SPAWN_BARE=1 spawn_lxd "${d}"
	printf 'config:\n  core.https_address: 127.0.0.1:8443\nstorage_pools:\n- name: default\n  driver: dir\ncluster:\n  server_name: boot1\n  enabled: true\n' |
		LXD_DIR="${d}" "${LXD_BIN}" init --preseed
	assert_contains "$(cl_member_csv "${d}")" "boot1,https://127.0.0.1:8443,"
	assert_eq "$(lxc_in "${d}" storage list -f csv | cut -d, -f1)" "default" "pool"

	# Once clustered, a second bootstrap is refused before anything changes.
	assert_fails sh -c "printf 'config:\n  images.auto_update_interval: 3\ncluster:\n  server_name: boot2\n  enabled: true\n' | LXD_DIR='${d}' '${LXD_BIN}' init --preseed"
	assert_eq "${FAIL_OUTPUT}" "Error: Failed to configure cluster: This server is already clustered" "second bootstrap"
	assert_eq "$(lxc_in "${d}" config get images.auto_update_interval)" "" "nothing applied"
}

# lxc cluster update-certificate: the listeners present the new certificate at once, a remote pinned to the old one
# follows, the database connections use it after a restart, and a certificate that does not match its key changes
# nothing.
test_cluster_certificate() {
	local d="${TEST_TMP}/d1" conf="${TEST_TMP}/remote-conf"
	make_netns
	spawn_lxd "${d}"
	lxc_in "${d}" config set core.https_address 127.0.0.1:8443
	lxc_in "${d}" config set core.trust_password s3cret
	assert_fails lxc_in "${d}" cluster update-certificate "${d}/server.crt" "${d}/server.key"
	assert_contains "${FAIL_OUTPUT}" "This server is not clustered"
	lxc_in "${d}" cluster enable n1 >/dev/null

	# A client in the namespace with the remote pinned to the current certificate.
	nsx env LXD_CONF="${conf}" "${LXC_BIN}" remote add r https://127.0.0.1:8443 --accept-certificate --password s3cret >/dev/null
	cmp -s "${conf}/servercerts/r.crt" "${d}/cluster.crt" || fail "pinned certificate is not the cluster certificate"

	local tmp="${TEST_TMP}/certs"
	mkdir -p "${tmp}"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -days 30 -subj /CN=cluster2 \
		-keyout "${tmp}/new.key" -out "${tmp}/new.crt" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -days 30 -subj /CN=other \
		-keyout "${tmp}/other.key" -out "${tmp}/other.crt" 2>/dev/null
	local want
	want=$(openssl x509 -in "${tmp}/new.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')

	# A certificate with another key: refused, nothing changed.
	assert_fails lxc_in "${d}" cluster update-certificate "${tmp}/new.crt" "${tmp}/other.key"
	assert_contains "${FAIL_OUTPUT}" "invalid cluster certificate or key"
	cmp -s "${d}/cluster.crt" "${d}/server.crt" || fail "a refused update changed cluster.crt"

	assert_eq "$(nsx env LXD_CONF="${conf}" "${LXC_BIN}" cluster update-certificate r: "${tmp}/new.crt" "${tmp}/new.key")" \
		"Successfully updated cluster certificates for remote r" "update"
	cmp -s "${d}/cluster.crt" "${tmp}/new.crt" || fail "cluster.crt not replaced"
	cmp -s "${d}/cluster.key" "${tmp}/new.key" || fail "cluster.key not replaced"
	cmp -s "${conf}/servercerts/r.crt" "${tmp}/new.crt" || fail "pinned certificate not updated"
	assert_eq "$(local_curl "${d}" /1.0 | jq -r .metadata.environment.certificate_fingerprint)" "${want}" "environment"
	local served
	served=$(nsx openssl s_client -connect 127.0.0.1:8443 </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
	assert_eq "${served}" "${want}" "served certificate"
	assert_contains "$(nsx env LXD_CONF="${conf}" "${LXC_BIN}" cluster list r: -f csv)" "n1,https://127.0.0.1:8443,"

	# After a restart the member's database connections authenticate with the new certificate.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_contains "$(lxc_in "${d}" cluster list -f csv)" "n1,https://127.0.0.1:8443,"
	assert_eq "$(local_curl "${d}" /1.0 | jq -r .metadata.environment.certificate_fingerprint)" "${want}" "after restart"
}

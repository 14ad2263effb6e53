# Everyday flags of the instance commands, with our client and the stock LXD 5.0.2 one against our daemon:
# start/stop/restart --all, delete -i, launch/init --ephemeral, exec --cwd/--user/--group/--env, list columns and
# --fast, monitor --pretty/--format. Uses conv_run, conv_same and conv_fails of lxc_conveniences.sh.

# flags_states DIR: the instances of the daemon of DIR as "name,STATE" words.
flags_states() {
	lxc_in "$1" list -c ns -f csv | tr '\n' ' '
}

test_lxc_flags_all() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local conf="${d}.shared"
	for c in c1 c2 c3; do
		lxc_in "${d}" init bb "${c}" >/dev/null
	done

	# start --all starts every stopped instance; a second run (ours, then stock's) has nothing left to do.
	lxc_in "${d}" start --all
	assert_eq "$(flags_states "${d}")" "c1,RUNNING c2,RUNNING c3,RUNNING " "after start --all"
	conv_same "${d}" "${conf}" start --all
	assert_eq "${CONV_RC_OURS}" "0" "exit status of start --all with everything running"

	# restart --all restarts every instance; stop --all stops the running ones only.
	lxc_in "${d}" stop c2
	lxc_in "${d}" pause c3
	assert_fails lxc_in "${d}" restart --all
	assert_contains "${FAIL_OUTPUT}" "local:c2: error: "
	assert_contains "${FAIL_OUTPUT}" "Error: some instances failed to restart"
	lxc_in "${d}" stop --all
	assert_eq "$(flags_states "${d}")" "c1,STOPPED c2,STOPPED c3,STOPPED " "after stop --all"
	conv_same "${d}" "${conf}" stop --all local:
	assert_eq "${CONV_RC_OURS}" "0" "exit status of stop --all with everything stopped"

	# The stock client's --all does the same.
	LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc start --all
	assert_eq "$(flags_states "${d}")" "c1,RUNNING c2,RUNNING c3,RUNNING " "after the stock start --all"
	lxc_in "${d}" stop --all --force
	assert_eq "$(flags_states "${d}")" "c1,STOPPED c2,STOPPED c3,STOPPED " "after stop --all --force"

	# Several instances: each failure on its own line, then the summary; both clients exit 1.
	conv_run "${d}" "${conf}" restart c1 c2
	assert_eq "${CONV_RC_OURS}" "1" "exit status of restart over stopped instances"
	assert_eq "${CONV_RC_STOCK}" "1" "stock exit status of restart over stopped instances"
	assert_eq "$(grep -c ': error: ' "${TEST_TMP}/ours.err")" "2" "failure lines: $(cat "${TEST_TMP}/ours.err")"
	assert_eq "$(grep -c ': error: ' "${TEST_TMP}/stock.err")" "2" "stock failure lines"

	# Bad input.
	conv_fails "${d}" "${conf}" "both --all and instance name given" start --all c1
	conv_fails "${d}" "${conf}" "both --all and instance name given" stop --all c1 c2
	conv_fails "${d}" "${conf}" 'must supply instance name for: "local:"' start local:
	conv_fails "${d}" "${conf}" "unknown flag: --bogus" start --all --bogus
	assert_eq "$(flags_states "${d}")" "c1,STOPPED c2,STOPPED c3,STOPPED " "after refused commands"
}

test_lxc_flags_delete() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local conf="${d}.shared"
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" snapshot c1 s1

	# Anything but "yes" aborts, and the prompt is the stock one.
	for answer in no y "" " yes"; do
		set +e
		printf '%s\n' "${answer}" | LXD_DIR="${d}" LXD_CONF="${conf}" "${LXC_BIN}" delete -i c1 \
			>"${TEST_TMP}/ours.out" 2>"${TEST_TMP}/ours.err"
		rc=$?
		printf '%s\n' "${answer}" | LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc delete -i c1 \
			>"${TEST_TMP}/stock.out" 2>"${TEST_TMP}/stock.err"
		rc_stock=$?
		set -e
		assert_eq "${rc}" "1" "exit status of delete -i answered '${answer}'"
		assert_eq "${rc_stock}" "1" "stock exit status of delete -i answered '${answer}'"
		assert_eq "$(cat "${TEST_TMP}/ours.out")" "Remove c1 (yes/no): " "prompt"
		cmp -s "${TEST_TMP}/ours.out" "${TEST_TMP}/stock.out" || fail "prompt differs: $(cat "${TEST_TMP}/stock.out")"
		assert_contains "$(cat "${TEST_TMP}/ours.err")" "Error: user aborted delete operation"
	done

	assert_eq "$(flags_states "${d}")" "c1,STOPPED c2,STOPPED " "after aborted deletes"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots | jq -r '.metadata | length')" "1" "snapshots kept"

	# A snapshot, then an instance: "yes" in any case goes on.
	echo YES | lxc_in "${d}" delete --interactive c1/s1 >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/snapshots | jq -r '.metadata | length')" "0" "snapshots left"
	printf 'yes\nno\n' | lxc_in "${d}" delete -i c1 c2 >"${TEST_TMP}/two.out" 2>&1 && fail "the second answer was no"
	assert_eq "$(head -c 40 "${TEST_TMP}/two.out")" "Remove c1 (yes/no): Remove c2 (yes/no): " "prompts"
	assert_no_instance "${d}" c1
	assert_eq "$(flags_states "${d}")" "c2,STOPPED " "after yes then no"

	# Every name is checked before anything is asked or removed.
	conv_fails "${d}" "${conf}" 'failed checking instance exists "local:nope"' delete -i c2 nope
	conv_fails "${d}" "${conf}" 'failed checking instance snapshot exists "local:c2/nope"' delete c2/nope
	assert_eq "$(flags_states "${d}")" "c2,STOPPED " "after refused deletes"

	# A running instance needs --force, asked or not.
	lxc_in "${d}" start c2
	echo yes | lxc_in "${d}" delete -i c2 >/dev/null 2>"${TEST_TMP}/err" && fail "deleted a running instance"
	assert_contains "$(cat "${TEST_TMP}/err")" "stop it first or pass --force"
	echo yes | lxc_in "${d}" delete -i -f c2 >/dev/null
	assert_no_instance "${d}" c2
}

test_lxc_flags_ephemeral() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	lxc_in "${d}" launch bb e1 --ephemeral >/dev/null
	lxc_in "${d}" init bb e2 -e >/dev/null
	LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc init bb e3 --ephemeral >/dev/null 2>&1
	for n in e1 e2 e3; do
		assert_eq "$(local_curl "${d}" "/1.0/instances/${n}" | jq -r .metadata.ephemeral)" "true" "ephemeral of ${n}"
	done

	assert_eq "$(lxc_in "${d}" list -c nst -f csv | tr '\n' ' ')" \
		"e1,RUNNING,CONTAINER (EPHEMERAL) e2,STOPPED,CONTAINER (EPHEMERAL) e3,STOPPED,CONTAINER (EPHEMERAL) " "list"

	# Stopping an ephemeral instance removes it.
	lxc_in "${d}" stop e1
	for _ in $(seq 300); do
		[ "$(local_curl "${d}" /1.0/instances/e1 | jq -r .error_code)" = "404" ] && break
		sleep 0.1
	done

	assert_no_instance "${d}" e1

	# delete --force stops a running ephemeral instance, which the server then removes, as with the stock client.
	lxc_in "${d}" start e2
	lxc_in "${d}" delete -f e2
	for _ in $(seq 300); do
		[ "$(local_curl "${d}" /1.0/instances/e2 | jq -r .error_code)" = "404" ] && break
		sleep 0.1
	done

	assert_no_instance "${d}" e2
	lxc_in "${d}" delete e3
}

test_lxc_flags_exec() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local conf="${d}.shared"
	lxc_in "${d}" launch bb c1 >/dev/null

	assert_eq "$(lxc_in "${d}" exec c1 --cwd /tmp -- pwd)" "/tmp" "exec --cwd"
	assert_eq "$(lxc_in "${d}" exec c1 --user 1000 -- id -u)" "1000" "exec --user"
	assert_eq "$(lxc_in "${d}" exec c1 --group 1001 -- id -g)" "1001" "exec --group"
	# shellcheck disable=SC2016 # expanded by the shell in the container
	assert_eq "$(lxc_in "${d}" exec c1 --user 1000 --group 1001 --cwd /tmp -- sh -c 'echo $(id -u):$(id -g):$(pwd)')" \
		"1000:1001:/tmp" "exec with all three"
	out=$(lxc_in "${d}" exec c1 --env FOO=bar --env 'SP=a b' -- env)
	assert_contains "${out}" "FOO=bar"
	assert_contains "${out}" "SP=a b"

	# The same requests as the stock client: a name without a value is sent empty, TERM is the caller's own.
	conv_same "${d}" "${conf}" exec c1 --cwd /tmp --user 1000 --group 1001 --env FOO=bar --env BAR -- env
	assert_contains "$(cat "${TEST_TMP}/ours.out")" "BAR="
	export FLAGS_HOST_VALUE=host
	conv_same "${d}" "${conf}" exec c1 --env FLAGS_HOST_VALUE -- env
	grep -qx 'FLAGS_HOST_VALUE=' "${TEST_TMP}/ours.out" || fail "--env NAME sent a value: $(cat "${TEST_TMP}/ours.out")"
	unset FLAGS_HOST_VALUE
	(
		unset TERM
		conv_same "${d}" "${conf}" exec c1 -- env
		if grep -q '^TERM=' "${TEST_TMP}/ours.out"; then
			fail "TERM sent without one: $(cat "${TEST_TMP}/ours.out")"
		fi
	)

	# Bad input.
	conv_fails "${d}" "${conf}" 'invalid argument "abc" for "--user" flag' exec c1 --user abc -- id
	conv_fails "${d}" "${conf}" 'invalid argument "-1" for "--group" flag' exec c1 --group -1 -- id
	lxc_in "${d}" delete -f c1
}

test_lxc_flags_list() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local conf="${d}.shared"
	lxc_in "${d}" launch bb c1 >/dev/null
	lxc_in "${d}" launch bb e1 -e -c limits.memory=64MiB >/dev/null
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" snapshot c1
	lxc_in "${d}" config set c2 user.comment "a comment"
	local_curl "${d}" /1.0/instances/c2 -X PATCH -d '{"description":"second"}' >/dev/null
	# Frozen instances keep their usage figures still between the two clients' requests.
	lxc_in "${d}" pause c1 e1

	for columns in ns46tS 46abcdDelmMnNpPsStufF uMm,n "n,user.comment:COMMENT:3,image.os,devices:root.pool" \
		"n,config:limits.memory::0,volatile.base_image:BASE:0" Fn; do
		for format in table csv compact; do
			conv_same_usage "${d}" "${conf}" list -c "${columns}" -f "${format}"
		done
	done

	conv_same_usage "${d}" "${conf}" list
	conv_same "${d}" "${conf}" list --fast
	conv_same "${d}" "${conf}" list --fast -f csv c
	# The usage is a share of e1's 64MiB limit, not of the host's memory (where it would round to 0.0%).
	local pct
	pct=$(lxc_in "${d}" list -c nM -f csv | awk -F, '$1 == "e1" { sub("%", "", $2); print $2 }')
	awk -v p="${pct}" 'BEGIN { exit !(p ~ /^[0-9]+(\.[0-9]+)?$/ && p > 0 && p < 100) }' ||
		fail "memory usage of e1: got '${pct}', want a share of its limit between 0 and 100"
	assert_contains "$(lxc_in "${d}" list --help)" "Fast column layout: nsacPt"

	# Bad input, refused with the stock client's words.
	conv_fails "${d}" "${conf}" "unknown column shorthand char 'x' in 'x'" list -c x
	conv_fails "${d}" "${conf}" "unknown column shorthand char 'U' in 'nU'" list -c nU
	conv_fails "${d}" "${conf}" "can't specify column L when not clustered" list -c nL
	conv_fails "${d}" "${conf}" "empty column entry" list -c n,,s
	conv_fails "${d}" "${conf}" "invalid config key 'foo.' in 'foo.'" list -c n,foo.
	conv_fails "${d}" "${conf}" "invalid max width (must be an integer) 'y' in 'user.x:X:y'" list -c n,user.x:X:y
	conv_fails "${d}" "${conf}" "can't specify --fast with --columns" list --fast -c n
	lxc_in "${d}" delete -f c1 c2 e1
}

test_lxc_flags_monitor() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local conf="${d}.shared"
	lxc_in "${d}" init bb c1 >/dev/null

	# A monitor sees the logging event of its own connection and of every later one: once the first has seen the
	# other three connect, all of them see what follows.
	LXD_DIR="${d}" LXD_CONF="${conf}" "${LXC_BIN}" monitor --pretty >"${TEST_TMP}/ours.pretty" 2>&1 &
	local ours_pid=$!
	on_exit kill "${ours_pid}"
	wait_for_file_content "${TEST_TMP}/ours.pretty" 'msg="event listener connected"'
	LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc monitor --pretty >"${TEST_TMP}/stock.pretty" 2>&1 &
	local stock_pid=$!
	on_exit kill "${stock_pid}"
	LXD_DIR="${d}" LXD_CONF="${conf}" "${LXC_BIN}" monitor --format json --type lifecycle >"${TEST_TMP}/ours.json" 2>&1 &
	local json_pid=$!
	on_exit kill "${json_pid}"
	LXD_DIR="${d}" LXD_CONF="${conf}" "${LXC_BIN}" monitor --pretty --loglevel info >"${TEST_TMP}/ours.info" 2>&1 &
	local info_pid=$!
	on_exit kill "${info_pid}"
	for _ in $(seq 200); do
		[ "$(grep -c 'msg="event listener connected"' "${TEST_TMP}/ours.pretty")" -ge 4 ] && break
		sleep 0.1
	done

	assert_eq "$(grep -c 'msg="event listener connected"' "${TEST_TMP}/ours.pretty")" "4" "connections seen"

	lxc_in "${d}" start c1
	wait_for_file_content "${TEST_TMP}/ours.pretty" "Action: instance-started"
	wait_for_file_content "${TEST_TMP}/stock.pretty" "Action: instance-started"
	wait_for_file_content "${TEST_TMP}/ours.json" '"action":"instance-started"'
	wait_for_file_content "${TEST_TMP}/ours.info" "Action: instance-started"

	# The same lines for the same events (each client sees the events in its own order).
	local want
	want=$(grep -F 'Action: instance-started' "${TEST_TMP}/stock.pretty")
	assert_eq "$(grep -F 'Action: instance-started' "${TEST_TMP}/ours.pretty")" "${want}" "lifecycle line"
	assert_contains "${want}" 'level=info msg="Action: instance-started, Source: /1.0/instances/c1'
	assert_eq "$(grep -F 'Description: Starting instance' "${TEST_TMP}/ours.pretty" | grep -F 'Status=Success')" \
		"$(grep -F 'Description: Starting instance' "${TEST_TMP}/stock.pretty" | grep -F 'Status=Success')" "operation line"
	if grep -q 'level=debug' "${TEST_TMP}/ours.info"; then
		fail "--loglevel info printed debug lines: $(cat "${TEST_TMP}/ours.info")"
	fi

	jq -e 'select(.type == "lifecycle") | .metadata.source == "/1.0/instances/c1"' "${TEST_TMP}/ours.json" >/dev/null ||
		fail "json events: $(cat "${TEST_TMP}/ours.json")"

	# Bad input, before any connection.
	conv_fails "${d}" "${conf}" "invalid format: xml" monitor --format xml
	conv_fails "${d}" "${conf}" "log level filtering can only be used with pretty formatting" monitor --loglevel info
	assert_fails lxc_in "${d}" monitor --pretty --loglevel loud
	assert_contains "${FAIL_OUTPUT}" 'Error: invalid log level "loud"'
	lxc_in "${d}" delete -f c1
}

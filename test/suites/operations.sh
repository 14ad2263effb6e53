# Operations and the events websocket: lxc monitor, lxc operation, and the REST endpoints behind them.

# wait_for_file_content FILE TEXT: waits up to 20s for FILE to contain TEXT (the machine may be busy).
wait_for_file_content() {
	for _ in $(seq 200); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done

	fail "$1 does not contain '$2': $(cat "$1" 2>/dev/null)"
}

test_operations_monitor() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"

	# An unfiltered monitor gets logging events (the daemon's debug log) as YAML documents, each followed by two
	# blank lines as LXD's client prints them.
	LXD_DIR="${d}" LXD_CONF="${d}.conf" "${LXC_BIN}" monitor >"${TEST_TMP}/all.out" 2>&1 &
	local all_pid=$!
	LXD_DIR="${d}" LXD_CONF="${d}.conf" "${LXC_BIN}" monitor --type=lifecycle --type=operation \
		>"${TEST_TMP}/filtered.out" 2>&1 &
	local filtered_pid=$!
	wait_for_file_content "${TEST_TMP}/all.out" "message: event listener connected"

	lxc_in "${d}" operation list >/dev/null
	wait_for_file_content "${TEST_TMP}/all.out" "url: /1.0/operations?recursion=1"
	out=$(cat "${TEST_TMP}/all.out")
	assert_contains "${out}" "type: logging"
	assert_contains "${out}" "location: none"
	assert_contains "${out}" "  level: debug"
	assert_contains "${out}" "    method: GET"
	[ "$(($(grep -c '^type: ' "${TEST_TMP}/all.out") * 2))" -eq "$(grep -c '^$' "${TEST_TMP}/all.out")" ] ||
		fail "events are not each followed by two blank lines: ${out}"

	# The pretty format prints one line per event, key=value as the stock client does (quoted only when needed).
	LXD_DIR="${d}" LXD_CONF="${d}.conf" "${LXC_BIN}" monitor --pretty --type=logging --loglevel=debug \
		>"${TEST_TMP}/pretty.out" 2>&1 &
	local pretty_pid=$!

	# The monitor connects at some point after it starts: requests made before that are not seen, so keep asking.
	for _ in $(seq 100); do
		lxc_in "${d}" info >/dev/null
		grep -q ' url=/1.0 ' "${TEST_TMP}/pretty.out" && break
		sleep 0.1
	done

	assert_contains "$(cat "${TEST_TMP}/pretty.out")" ' url=/1.0 '
	assert_contains "$(cat "${TEST_TMP}/pretty.out")" 'level=debug msg="handling API request"'

	# The client filters by type: no logging event reaches the lifecycle/operation monitor.
	if grep -q "type: logging" "${TEST_TMP}/filtered.out"; then
		fail "filtered monitor printed logging events: $(cat "${TEST_TMP}/filtered.out")"
	fi

	# The server side of the filter: ?type=lifecycle is accepted, an unknown type is refused before the upgrade.
	code=$(local_curl "${d}" "/1.0/events?type=bogus" -o "${TEST_TMP}/bogus.json" -w '%{http_code}' \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
	assert_eq "${code}" "400" "status of an unknown event type"
	assert_contains "$(jq -r .error "${TEST_TMP}/bogus.json")" "invalid event type"

	code=$(local_curl "${d}" "/1.0/events?type=lifecycle&project=default" -o /dev/null -w '%{http_code}' \
		--max-time 1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' || true)
	assert_eq "${code}" "101" "status of the events upgrade"

	# Monitors stop cleanly on SIGINT.
	for pid in "${all_pid}" "${filtered_pid}" "${pretty_pid}"; do
		kill -INT "${pid}"
		wait "${pid}" || fail "monitor ${pid} exited with $? on SIGINT"
	done

	# Stopping the daemon ends a running monitor with an error.
	LXD_DIR="${d}" LXD_CONF="${d}.conf" "${LXC_BIN}" monitor >"${TEST_TMP}/stop.out" 2>&1 &
	local stop_pid=$!
	sleep 0.5
	shutdown_lxd "${d}"
	if wait "${stop_pid}"; then
		fail "monitor exited 0 when the daemon stopped"
	fi

	assert_contains "$(cat "${TEST_TMP}/stop.out")" "Error:"
}

test_operations_list() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"

	out=$(lxc_in "${d}" operation list)
	assert_contains "${out}" "| ID | TYPE | DESCRIPTION | STATUS | CANCELABLE | CREATED |"
	assert_eq "$(echo "${out}" | wc -l)" "3" "lines of an empty operation table"
	assert_eq "$(lxc_in "${d}" operation list local: --format json)" "[]" "json list"
	assert_eq "$(lxc_in "${d}" operation list --format csv)" "" "csv list"

	assert_eq "$(local_curl "${d}" /1.0/operations | jq -c .metadata)" "{}" "GET /1.0/operations"
	assert_eq "$(local_curl "${d}" '/1.0/operations?recursion=1' | jq -c .metadata)" "{}" "recursion=1"
}

test_operations_errors() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"

	for sub in show delete; do
		set +e
		out=$(lxc_in "${d}" operation "${sub}" 0b7a4f5e-0000-4000-8000-000000000000 2>&1)
		rc=$?
		set -e
		assert_eq "${rc}" "1" "exit status of operation ${sub} on an unknown id"
		assert_contains "${out}" "Error: "
		assert_contains "${out}" "not found"
	done

	assert_fails lxc_in "${d}" operation list --format xml
	assert_contains "${FAIL_OUTPUT}" "Error: invalid format"
	assert_fails lxc_in "${d}" monitor --type=bogus
	assert_contains "${FAIL_OUTPUT}" "Error: invalid event type"

	for method in GET DELETE; do
		code=$(local_curl "${d}" /1.0/operations/nope -X "${method}" -o "${TEST_TMP}/out" -w '%{http_code}')
		assert_eq "${code}" "404" "${method} of an unknown operation"
		assert_eq "$(jq -r .type "${TEST_TMP}/out")" "error"
	done

	code=$(local_curl "${d}" '/1.0/operations/nope/wait?timeout=0' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "404" "wait on an unknown operation"

	# A plain GET on the events endpoint is not a websocket handshake.
	code=$(local_curl "${d}" /1.0/events -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "400" "events without an upgrade"
}

test_operations_stock_client() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"

	# The stock LXD client follows our events websocket and reads our operation list.
	LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc monitor >"${TEST_TMP}/stock.out" 2>"${TEST_TMP}/stock.err" &
	local pid=$!
	wait_for_file_content "${TEST_TMP}/stock.out" "message: event listener connected"
	out=$(LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc operation list)
	assert_contains "${out}" "| ID | TYPE | DESCRIPTION | STATUS | CANCELABLE | CREATED |"
	wait_for_file_content "${TEST_TMP}/stock.out" "url: /1.0/operations?recursion=1"

	# Background jobs ignore SIGINT and the stock client does not ask for it back.
	kill -TERM "${pid}"
	wait "${pid}" || true

	assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc operation show nope
	assert_contains "${FAIL_OUTPUT}" "Error: "

	# Our monitor prints events the way the stock one does.
	LXD_DIR="${d}" LXD_CONF="${d}.conf" "${LXC_BIN}" monitor >"${TEST_TMP}/ours.out" 2>&1 &
	pid=$!
	wait_for_file_content "${TEST_TMP}/ours.out" "message: event listener connected"
	kill -INT "${pid}"
	wait "${pid}"
	first_event() {
		awk 'NR > 1 && /^location: / {exit} {print}' "$1" | grep -v '^timestamp: ' | grep -v '^    address: '
	}
	assert_eq "$(first_event "${TEST_TMP}/ours.out")" "$(first_event "${TEST_TMP}/stock.out")" "monitor output"
}

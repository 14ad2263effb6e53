# Instance logs, the console, lxc file edit and recorded exec output, with our client and the stock LXD 5.0.2
# client. One daemon and one busybox container whose init runs a shell on the console.

# wait_for_content FILE TEXT: waits up to 10s for FILE to contain TEXT.
wait_for_content() {
	local i
	for i in $(seq 50); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done

	return 1
}

# console_session OUT MARK CMD...: runs the console client CMD (its output in OUT), types a command printing MARK
# on the console, waits for MARK to come back, then detaches with ctrl+a q and waits for the client to exit. The
# keys are sent one write at a time, as a person types them.
console_session() {
	local out=$1 mark=$2 fifo="${TEST_TMP}/console.in" pid rc=0
	shift 2
	rm -f "${fifo}"
	mkfifo "${fifo}"
	timeout 20 "$@" <"${fifo}" >"${out}" &
	pid=$!
	exec 9>"${fifo}"
	wait_for_content "${out}" "press: <ctrl>+a q" || true
	sleep 0.5
	printf 'echo %s$((40+2))\r' "${mark}" >&9
	wait_for_content "${out}" "${mark}42" || true
	printf '\001' >&9
	sleep 0.3
	printf 'q' >&9
	wait "${pid}" || rc=$?
	exec 9>&-
	return "${rc}"
}

test_console() {
	local d="${TEST_TMP}/d1"
	local stock="${d}.stock" out="${TEST_TMP}/out"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1

	# file edit reads the new content from a standard input that is not a terminal; owner and mode are kept.
	lxc_in "${d}" file push - c1/etc/owned --uid 1000 --gid 1001 --mode 0640 </dev/null
	echo "first" | lxc_in "${d}" file edit c1/etc/owned
	assert_eq "$(lxc_in "${d}" file pull c1/etc/owned -)" "first" "content after an edit from stdin"
	{ lxc_in "${d}" file pull c1/etc/inittab -; echo "::respawn:/bin/sh"; } >"${TEST_TMP}/inittab"
	lxc_in "${d}" file edit c1/etc/inittab <"${TEST_TMP}/inittab"

	# With a terminal, the file goes through $EDITOR.
	EDITOR="sed -i s/first/edited/" LXD_DIR="${d}" LXD_CONF="${d}.conf" \
		script -qec "${LXC_BIN} file edit c1/etc/owned" /dev/null >/dev/null
	assert_eq "$(lxc_in "${d}" file pull c1/etc/owned -)" "edited" "content after the editor"
	assert_fails lxc_in "${d}" file edit c1/etc </dev/null
	# The stock client sends no owner on edit: the file keeps its own.
	echo "stock" | LXD_DIR="${d}" stock_lxc "${stock}" file edit c1/etc/owned
	assert_eq "$(lxc_in "${d}" file pull c1/etc/owned -)" "stock" "content after an edit by the stock client"
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%u %g %a' /etc/owned)" "1000 1001 640" "owner and mode after edits"
	assert_contains "$(lxc_in "${d}" exec c1 -- cat /etc/inittab)" "::respawn:/bin/sh"

	# Logs: a list of URLs, one file each, names checked, lxc.log and lxc.conf kept.
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/logs | jq -r '.metadata | join(" ")')" \
		"/1.0/instances/c1/logs/lxc.conf /1.0/instances/c1/logs/lxc.log" "log list"
	assert_eq "$(local_curl "${d}" /1.0/containers/c1/logs/lxc.log)" "$(cat "${d}/logs/c1/lxc.log")" "lxc.log"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/logs/..%2Flxd.log | jq -r .error_code)" "400" "escaping name"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/logs/exec_none.stdout | jq -r .error_code)" "404" "missing log"
	ln -s /etc/shadow "${d}/logs/c1/exec_link.stdout"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/logs/exec_link.stdout | jq -r .error_code)" "400" "symlink"
	rm "${d}/logs/c1/exec_link.stdout"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/logs/lxc.log -X DELETE | jq -r .error)" \
		"lxc.log and lxc.conf may not be deleted" "deleting lxc.log"
	assert_eq "$(local_curl "${d}" /1.0/instances/nope/logs | jq -r .error_code)" "404" "logs of a missing instance"

	# info --show-log appends lxc.log, the same with both clients.
	lxc_in "${d}" info --show-log c1 >"${out}"
	assert_contains "$(cat "${out}")" "Status: RUNNING"
	assert_eq "$(sed -n '/^Log:$/,$p' "${out}")" "$(printf 'Log:\n\n%s' "$(cat "${d}/logs/c1/lxc.log")")" "info --show-log"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" info --show-log c1 | sed -n '/^Log:$/,$p')" \
		"$(sed -n '/^Log:$/,$p' "${out}")" "stock info --show-log"

	# Exec with recorded output: no websockets, the output in two log files, the exit status in the operation.
	local op md
	op=$(local_curl "${d}" /1.0/instances/c1/exec -X POST -d '{"command":["sh","-c","echo out; echo err >&2; exit 3"],
		"record-output":true,"wait-for-websocket":false,"interactive":false}' | jq -r .operation)
	md=$(local_curl "${d}" "${op}/wait?timeout=20" | jq -c .metadata.metadata)
	assert_eq "$(jq -r .return <<<"${md}")" "3" "recorded exit status"
	assert_eq "$(jq -r '.output["1"]' <<<"${md}")" "/1.0/instances/c1/logs/exec_${op##*/}.stdout" "stdout log URL"
	assert_eq "$(local_curl "${d}" "$(jq -r '.output["1"]' <<<"${md}")")" "out" "recorded stdout"
	assert_eq "$(local_curl "${d}" "$(jq -r '.output["2"]' <<<"${md}")")" "err" "recorded stderr"
	assert_contains "$(local_curl "${d}" /1.0/instances/c1/logs | jq -r '.metadata[]')" "exec_${op##*/}.stderr"
	assert_eq "$(local_curl "${d}" "$(jq -r '.output["1"]' <<<"${md}")" -X DELETE | jq -r .status_code)" "200" "delete"
	assert_eq "$(local_curl "${d}" "$(jq -r '.output["1"]' <<<"${md}")" | jq -r .error_code)" "404" "deleted log"

	# Console log: what is written on the console, for both clients; DELETE clears it.
	lxc_in "${d}" exec c1 -- sh -c 'echo console-marker >/dev/console'
	assert_contains "$(local_curl "${d}" /1.0/instances/c1/console)" "console-marker" "console log"
	assert_contains "$(lxc_in "${d}" console c1 --show-log)" "$(printf '\nConsole log:\n\n')"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" console c1 --show-log)" "console-marker" "stock show-log"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/console -X DELETE | jq -r .status_code)" "200" "clearing"
	if grep -q console-marker <<<"$(local_curl "${d}" /1.0/instances/c1/console)"; then
		fail "the console log still holds the marker after DELETE"
	fi

	# Interactive console: the stock client on a terminal, then ours on a pipe; both detach with ctrl+a q.
	# The console takes the size of the client's terminal.
	LXD_DIR="${d}" LXD_CONF="${stock}" console_session "${out}" stock \
		script -qfec "stty cols 100 rows 30; /usr/bin/lxc console c1" /dev/null
	assert_contains "$(cat "${out}")" "To detach from the console, press: <ctrl>+a q" "stock console banner"
	assert_contains "$(cat "${out}")" "stock42" "stock console echo"
	assert_contains "$(lxc_in "${d}" exec c1 -- sh -c 'stty -a </dev/console')" "rows 30; columns 100" "console size"
	LXD_DIR="${d}" LXD_CONF="${d}.conf" console_session "${out}" ours "${LXC_BIN}" console c1
	assert_contains "$(cat "${out}")" "ours42" "our console echo"
	assert_contains "$(local_curl "${d}" /1.0/instances/c1/console)" "ours42" "console log after a session"

	# A second client cannot take the console while one holds it; stopping the instance ends the session.
	local fifo="${TEST_TMP}/console.in" pid
	rm -f "${fifo}"
	mkfifo "${fifo}"
	LXD_DIR="${d}" LXD_CONF="${d}.conf" timeout 20 "${LXC_BIN}" console c1 <"${fifo}" >"${out}" 2>&1 &
	pid=$!
	exec 9>"${fifo}"
	wait_for_content "${out}" "press: <ctrl>+a q" || fail "no console session: $(cat "${out}")"
	sleep 0.5
	assert_fails lxc_in "${d}" console c1 </dev/null
	assert_contains "${FAIL_OUTPUT}" "attaching to the console" "second console client"

	# A stopped instance has no console to attach to, but keeps its console log.
	lxc_in "${d}" stop c1 --force
	wait "${pid}"
	exec 9>&-
	assert_eq "$(local_curl "${d}" /1.0/instances/c1/console -X POST -d '{"width":80,"height":25,"type":"console"}' |
		jq -r '[.error_code, .error] | join(" ")')" "400 instance is not running" "console of a stopped instance"
	assert_fails lxc_in "${d}" console c1
	assert_contains "$(lxc_in "${d}" console c1 --show-log)" "ours42" "console log of a stopped instance"
	lxc_in "${d}" delete c1
}

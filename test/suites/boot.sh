# Instances across daemon restarts, as on LXD: what runs when the daemon stops runs again when it starts, what its
# user stopped stays stopped; boot.autostart overrides that, boot.autostart.priority and boot.autostart.delay order
# the starts, boot.stop.priority orders the stops at shutdown and boot.host_shutdown_timeout bounds them.

# boot_log_mark DIR: prints the number of lines of the daemon log of DIR, for boot_log_names to read what follows.
boot_log_mark() {
	wc -l <"$1/lxd.log"
}

# boot_log_names DIR MARK MESSAGE: the instances named, in order, by the log lines of DIR after line MARK whose
# message is MESSAGE.
boot_log_names() {
	tail -n "+$(($2 + 1))" "$1/lxd.log" | grep -F "msg=\"$3\"" | sed -n 's/.* instance=\([^ ]*\).*/\1/p' | tr '\n' ' '
}

# boot_log_ms DIR MARK MESSAGE INSTANCE: the time, in milliseconds, of the log line of DIR after line MARK with
# MESSAGE about INSTANCE.
boot_log_ms() {
	local ts
	ts=$(tail -n "+$(($2 + 1))" "$1/lxd.log" | grep -F "msg=\"$3\"" | grep -E " instance=$4( |$)" | head -n 1 |
		sed -n 's/^time=\([^ ]*\).*/\1/p')
	[ -n "${ts}" ] || fail "no \"$3\" line about $4 in the daemon log"
	date -d "${ts}" +%s%3N
}

# boot_states DIR: "name,STATE" of every instance of the daemon of DIR, sorted by name, on one line.
boot_states() {
	lxc_in "$1" list --format csv -c ns | sort | tr '\n' ' '
}

test_boot_autostart() {
	local d="${TEST_TMP}/d1" mark t0 t1 pid out
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# The boot.* keys are checked when set, on instances and profiles, and a bad value is refused naming the key.
	lxc_in "${d}" init bb tmp
	for kv in boot.autostart=maybe boot.autostart.delay=1.5 boot.autostart.priority=high boot.stop.priority=x \
		boot.host_shutdown_timeout=30s; do
		out=$(local_curl "${d}" /1.0/instances/tmp -X PATCH -d "{\"config\":{\"${kv%%=*}\":\"${kv#*=}\"}}")
		assert_eq "$(jq -r .error_code <<<"${out}")" "400" "setting ${kv}"
		assert_contains "$(jq -r .error <<<"${out}")" "${kv%%=*}" "error of ${kv}"
		out=$(local_curl "${d}" /1.0/profiles/default -X PATCH -d "{\"config\":{\"${kv%%=*}\":\"${kv#*=}\"}}")
		assert_eq "$(jq -r .error_code <<<"${out}")" "400" "setting ${kv} on a profile"
	done

	assert_fails lxc_in "${d}" launch bb bad -c boot.autostart.priority=first
	assert_contains "${FAIL_OUTPUT}" "boot.autostart.priority"
	lxc_in "${d}" config set tmp boot.autostart.delay=-1 boot.stop.priority=3 boot.autostart=
	assert_eq "$(lxc_in "${d}" config get tmp boot.autostart.delay)" "-1" "a negative delay"
	lxc_in "${d}" delete tmp

	# early starts first and the others wait 3 seconds after it; mid next; the rest (priority 0) by name. never is
	# running but must not start again; always never ran but must start; userstop is stopped by its user. stubborn
	# runs sleep as init, which ignores the request to stop: the daemon waits 3 seconds for it, then kills it.
	lxc_in "${d}" launch bb early -c boot.autostart.priority=10 -c boot.autostart.delay=3
	lxc_in "${d}" launch bb mid -c boot.autostart.priority=5 -c boot.stop.priority=20
	lxc_in "${d}" launch bb late
	lxc_in "${d}" launch bb never -c boot.autostart=false
	lxc_in "${d}" init bb always -c boot.autostart=true
	lxc_in "${d}" launch bb userstop
	lxc_in "${d}" stop userstop
	lxc_in "${d}" launch bb stubborn -c boot.stop.priority=10 -c boot.host_shutdown_timeout=3 \
		-c raw.lxc="lxc.init.cmd = /bin/sleep 2147483647"
	assert_eq "$(boot_states "${d}")" "always,STOPPED early,RUNNING late,RUNNING mid,RUNNING never,RUNNING stubborn,RUNNING userstop,STOPPED " "before the restart"

	# lxd shutdown: mid stops first, stubborn second (killed once its 3 seconds are over, well before the default
	# 30), then the others together.
	mark=$(boot_log_mark "${d}")
	t0=$(now_ms)
	shutdown_lxd "${d}"
	t1=$(now_ms)
	echo "daemon shutdown with a stubborn container: $((t1 - t0))ms" | tee -a "${RUN_DIR}/timings"
	if [ $((t1 - t0)) -lt 3000 ] || [ $((t1 - t0)) -ge 25000 ]; then
		fail "shutdown took $((t1 - t0))ms, want 3s to 25s"
	fi

	grep -E 'msg="clean stop failed at shutdown, killing" instance=stubborn' "${d}/lxd.log" >/dev/null || fail "stubborn was not killed"
	local stops
	stops=$(boot_log_names "${d}" "${mark}" "instance stopped at shutdown")
	assert_eq "$(cut -d' ' -f1-2 <<<"${stops}")" "mid stubborn" "first stops"
	assert_eq "$(cut -d' ' -f3- <<<"${stops}" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')" "early late never " "other stops"
	assert_eq "$(instance_mounts "${d}")" "0" "mounts after the daemon's shutdown"

	# The restart: waitready returns once the starts are over.
	mark=$(boot_log_mark "${d}")
	spawn_lxd "${d}"
	assert_eq "$(boot_states "${d}")" "always,RUNNING early,RUNNING late,RUNNING mid,RUNNING never,STOPPED stubborn,RUNNING userstop,STOPPED " "after lxd shutdown and a restart"
	assert_eq "$(boot_log_names "${d}" "${mark}" "instance started at boot")" "early mid always late stubborn " "order of the starts"
	t0=$(boot_log_ms "${d}" "${mark}" "instance started at boot" early)
	t1=$(boot_log_ms "${d}" "${mark}" "instance started at boot" mid)
	[ $((t1 - t0)) -ge 3000 ] || fail "mid started $((t1 - t0))ms after early, want boot.autostart.delay (3s) at least"
	# never was running when the daemon stopped, and is recorded so: boot.autostart=false is what keeps it stopped.
	assert_eq "$(local_curl "${d}" /1.0/instances/never | jq -r '.metadata.config["volatile.last_state.power"]')" "RUNNING" "last state of never"

	# SIGTERM stops the daemon the same way. late stops from inside first: it stays stopped.
	lxc_in "${d}" exec late -- poweroff
	for _ in $(seq 100); do
		[ "$(lxc_in "${d}" list late --format csv -c s)" = "STOPPED" ] && break
		sleep 0.1
	done

	assert_eq "$(local_curl "${d}" /1.0/instances/late | jq -r '.metadata.config["volatile.last_state.power"]')" "STOPPED" "last state of late after its poweroff"
	pid=$(cat "${d}/lxd.pid")
	kill -TERM "${pid}"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	check_log "${d}"
	spawn_lxd "${d}"
	assert_eq "$(boot_states "${d}")" "always,RUNNING early,RUNNING late,STOPPED mid,RUNNING never,STOPPED stubborn,RUNNING userstop,STOPPED " "after SIGTERM and a restart"

	# A daemon killed outright leaves its containers running: the next one follows them and starts nothing twice.
	pid=$(cat "${d}/lxd.pid")
	kill -9 "${pid}"
	wait "${pid}" 2>/dev/null || true
	rm -f "${d}/lxd.pid"
	mark=$(boot_log_mark "${d}")
	spawn_lxd "${d}"
	assert_eq "$(boot_states "${d}")" "always,RUNNING early,RUNNING late,STOPPED mid,RUNNING never,STOPPED stubborn,RUNNING userstop,STOPPED " "after SIGKILL and a restart"
	assert_eq "$(boot_log_names "${d}" "${mark}" "instance started at boot")" "" "starts after SIGKILL"

	lxc_in "${d}" delete -f always early late mid never stubborn userstop
	assert_eq "$(instance_mounts "${d}")" "0" "mounts left"
}

# Strangers on the network cannot take the local API down: stalled request bodies and password guessers on the HTTPS
# listener (test/hardening plays them, on loopback only) while the unix socket is timed. The limits are in
# doc/reliability.md ("HTTP limits for untrusted clients").

# build_hardening: builds the hostile-client helper into TEST_TMP.
build_hardening() {
	[ -x "${TEST_TMP}/hardening" ] || (cd "${MAIN_DIR}" && go build -o "${TEST_TMP}/hardening" ./test/hardening)
}

# https_conns PORT: the number of established connections the daemon holds on its HTTPS port.
https_conns() {
	ss -Htn state established "( sport = :$1 )" | wc -l
}

# ms_below VALUE LIMIT: VALUE (milliseconds, decimal) is under LIMIT.
ms_below() {
	[ "$(echo "$1 < $2" | bc)" = "1" ]
}

test_hardening_http_stalled_bodies() {
	local d="${TEST_TMP}/d1" addr port out lat p50 max n start took
	spawn_lxd "${d}"
	addr=$(enable_https "${d}")
	port=${addr##*:}
	build_hardening

	# The issue's request: a huge announced body is refused at once, without waiting for it.
	out=$("${TEST_TMP}/hardening" stall -addr "${addr}" -n 20 -sources 1 -length 100000000 -hold 10s)
	echo "huge bodies: ${out}"
	assert_contains "${out}" "closed_by_server 20 "
	took=$(echo "${out}" | sed -n 's/.* last_close \([0-9.]*\)s.*/\1/p')
	ms_below "${took}" 3 || fail "huge announced bodies closed after ${took}s, want at once"

	# 400 stalled bodies from one address: beyond 64 they are closed at accept (their TLS handshake fails); the 64
	# others are answered (10 trust attempts, then refusals) but held until the body timeout, so they are still open
	# when the helper stops after 5 s.
	"${TEST_TMP}/hardening" stall -addr "${addr}" -n 400 -sources 1 -first 127.0.3.1 -length 100000 -hold 5s \
		>"${TEST_TMP}/one.out" 2>&1 &
	local one_pid=$!
	on_exit kill "${one_pid}"
	sleep 2
	n=$(https_conns "${port}")
	wait "${one_pid}"
	out=$(cat "${TEST_TMP}/one.out")
	echo "400 stalled bodies from one address: ${out}; held by the daemon after 2 s: ${n}" | tee -a "${RUN_DIR}/timings"
	[ "${n}" -le 64 ] || fail "the daemon holds ${n} connections of one address, want at most 64"
	assert_contains "${out}" "opened 64 failed 336 "

	# 400 stalled bodies under the size cap, from 40 loopback addresses so that no per-address cap turns them away:
	# the body deadline must close them.
	"${TEST_TMP}/hardening" stall -addr "${addr}" -n 400 -sources 40 -length 100000 -hold 70s >"${TEST_TMP}/stall.out" 2>&1 &
	local stall_pid=$!
	on_exit kill "${stall_pid}"
	for _ in $(seq 100); do
		n=$(https_conns "${port}")
		[ "${n}" -ge 400 ] && break
		sleep 0.1
	done

	start=${SECONDS}
	echo "stalled connections held by the daemon: ${n}, its open fds: $(find "/proc/$(cat "${d}/lxd.pid")/fd" -mindepth 1 | wc -l)"
	[ "${n}" -ge 400 ] || fail "only ${n} stalled connections opened, want 400"

	# Meanwhile the unix socket answers at once.
	local t0 t1
	t0=$(date +%s%N)
	lxc_in "${d}" info >/dev/null
	t1=$(date +%s%N)
	echo "lxc info with 400 stalled connections: $(((t1 - t0) / 1000000)) ms" | tee -a "${RUN_DIR}/timings"
	[ $(((t1 - t0) / 1000000)) -lt 2000 ] || fail "lxc info took $(((t1 - t0) / 1000000)) ms"
	lat=$("${TEST_TMP}/hardening" latency -socket "${d}/unix.socket" -duration 3s)
	echo "GET /1.0 on the unix socket with 400 stalled connections: ${lat}" | tee -a "${RUN_DIR}/timings"
	p50=$(echo "${lat}" | awk '{print $4}')
	max=$(echo "${lat}" | awk '{print $8}')
	ms_below "${p50}" 100 || fail "median GET /1.0 ${p50} ms, want under 100"
	ms_below "${max}" 2000 || fail "slowest GET /1.0 ${max} ms, want under 2000"

	# The daemon closes them all within 60 s (the body timeout is 15 s).
	for _ in $(seq 120); do
		n=$(https_conns "${port}")
		[ "${n}" -eq 0 ] && break
		sleep 0.5
	done

	echo "stalled connections closed after $((SECONDS - start)) s (${n} left)" | tee -a "${RUN_DIR}/timings"
	assert_eq "${n}" "0" "stalled connections still open after 60 s"
	wait "${stall_pid}" || true
	out=$(cat "${TEST_TMP}/stall.out")
	echo "stalled bodies: ${out}"
	assert_contains "${out}" "opened 400 failed 0 closed_by_server 400 "

	# The listener still serves.
	assert_eq "$(stranger_curl "https://${addr}/1.0" | jq -r .metadata.auth)" "untrusted"
}

test_hardening_http_password_guessers() {
	local d="${TEST_TMP}/d1" addr out lat p50 max pid cpu0 cpu1 hz token
	spawn_lxd "${d}"
	addr=$(enable_https "${d}")
	lxc_in "${d}" config set core.trust_password right-pass
	build_hardening
	pid=$(cat "${d}/lxd.pid")
	hz=$(getconf CLK_TCK)

	lat=$("${TEST_TMP}/hardening" latency -socket "${d}/unix.socket" -duration 2s)
	echo "GET /1.0 on the unix socket at rest: ${lat}" | tee -a "${RUN_DIR}/timings"

	# 40 guessers, each from its own loopback address (so each has a budget of its own) for 10 s.
	cpu0=$(awk '{print $14 + $15}' "/proc/${pid}/stat")
	"${TEST_TMP}/hardening" guess -addr "${addr}" -clients 40 -first 127.0.1.1 -duration 10s >"${TEST_TMP}/guess.out" 2>&1 &
	local guess_pid=$!
	on_exit kill "${guess_pid}"
	sleep 0.5
	lat=$("${TEST_TMP}/hardening" latency -socket "${d}/unix.socket" -duration 9s)
	wait "${guess_pid}"
	cpu1=$(awk '{print $14 + $15}' "/proc/${pid}/stat")
	out=$(tr '\n' ' ' <"${TEST_TMP}/guess.out")
	echo "GET /1.0 on the unix socket with 40 password guessers: ${lat}" | tee -a "${RUN_DIR}/timings"
	echo "guesses answered: ${out}" | tee -a "${RUN_DIR}/timings"
	echo "daemon CPU while guessing: $(echo "scale=2; (${cpu1} - ${cpu0}) / ${hz} / 10" | bc) cores of $(nproc)" |
		tee -a "${RUN_DIR}/timings"
	p50=$(echo "${lat}" | awk '{print $4}')
	max=$(echo "${lat}" | awk '{print $8}')
	ms_below "${p50}" 100 || fail "median GET /1.0 ${p50} ms while guessing, want under 100"
	ms_below "${max}" 2000 || fail "slowest GET /1.0 ${max} ms while guessing, want under 2000"
	assert_contains "${out}" "403 "
	assert_eq "$(local_curl "${d}" /1.0/certificates | jq -r '.metadata | length')" "0" "certificates after guessing"

	# One address over its budget: refused before any hashing, and the stock client says why.
	out=$("${TEST_TMP}/hardening" guess -addr "${addr}" -clients 12 -first 127.0.0.1 -same -duration 3s | tr '\n' ' ')
	echo "12 guessers from 127.0.0.1: ${out}"
	assert_contains "${out}" "403-limited "
	assert_fails stock_lxc "${TEST_TMP}/stock" remote add limited "https://${addr}" --accept-certificate --password right-pass
	assert_contains "${FAIL_OUTPUT}" "not authorized: too many attempts"

	# The budget comes back with time (one attempt per 6 s): then the stock client joins with a token.
	token=$(lxc_in "${d}" config trust add --name hardened | tail -n 1)
	sleep 7
	stock_lxc "${TEST_TMP}/stock" remote add ours "${token}"
	assert_contains "$(stock_lxc "${TEST_TMP}/stock" info ours:)" "auth: trusted"
}

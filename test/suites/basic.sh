# The daemon answers on its unix socket; the envelope, errors and lifecycle behave as LXD's.

test_basic_info() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"

	out=$(lxc_in "${d}" info)
	assert_contains "${out}" "auth: trusted"
	assert_contains "${out}" "api_version: \"1.0\""
	assert_contains "${out}" "certificate_fingerprint: $(openssl x509 -in "${d}/server.crt" -outform DER | sha256sum | cut -d' ' -f1)"

	# The socket is not world accessible.
	assert_eq "$(stat -c %a "${d}/unix.socket")" "660" "socket mode"

	# GET / lists the API versions.
	assert_eq "$(local_curl "${d}" / | jq -c .metadata)" '["/1.0"]' "GET /"
}

test_basic_errors() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"

	# Unknown paths get a JSON 404.
	code=$(local_curl "${d}" /1.0/nope -o "${TEST_TMP}/out" -w '%{http_code}')
	assert_eq "${code}" "404" "status of unknown path"
	assert_eq "$(jq -r .type "${TEST_TMP}/out")" "error"
	assert_eq "$(jq -r .error_code "${TEST_TMP}/out")" "404"

	# Unknown methods get a JSON 405.
	code=$(local_curl "${d}" /1.0 -X DELETE -o "${TEST_TMP}/out" -w '%{http_code}')
	assert_eq "${code}" "405" "status of unknown method"
	assert_eq "$(jq -r .error_code "${TEST_TMP}/out")" "405"
}

test_basic_restart() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	fp1=$(lxc_in "${d}" info | awk '/certificate_fingerprint/ {print $2}')
	shutdown_lxd "${d}"
	[ ! -e "${d}/unix.socket" ] || fail "socket left behind after shutdown"

	# The certificate survives a restart.
	spawn_lxd "${d}"
	fp2=$(lxc_in "${d}" info | awk '/certificate_fingerprint/ {print $2}')
	assert_eq "${fp2}" "${fp1}" "certificate fingerprint after restart"

	# SIGTERM stops the daemon gracefully too.
	kill -TERM "$(cat "${d}/lxd.pid")"
	for _ in $(seq 50); do
		[ -e "${d}/unix.socket" ] || break
		sleep 0.1
	done
	[ ! -e "${d}/unix.socket" ] || fail "daemon did not stop on SIGTERM"
}

# HTTPS listener, server configuration and the trust store, driven by our client, curl and the stock LXD client.

test_https_listener() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	addr=$(enable_https "${d}")

	# A stranger sees the untrusted view and a JSON 404 for unknown paths.
	out=$(stranger_curl "https://${addr}/1.0")
	assert_eq "$(echo "${out}" | jq -r .metadata.auth)" "untrusted" "auth for a stranger"
	assert_eq "$(echo "${out}" | jq -r '.metadata.environment // "absent"')" "absent" "environment for a stranger"
	code=$(stranger_curl "https://${addr}/1.0/nope" -o "${TEST_TMP}/out" -w '%{http_code}')
	assert_eq "${code}" "404"
	assert_eq "$(jq -r .error_code "${TEST_TMP}/out")" "404"
	code=$(stranger_curl "https://${addr}/1.0/certificates" -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "403" "certificates list for a stranger"

	# TLS 1.2 is refused.
	if curl -sS -k --tls-max 1.2 "https://${addr}/1.0" >/dev/null 2>&1; then
		fail "a TLS 1.2 connection was accepted"
	fi

	# The address shows in the environment, and moving it takes effect at once.
	assert_contains "$(lxc_in "${d}" info)" "- ${addr}"
	addr2=$(enable_https "${d}")
	stranger_curl "https://${addr2}/1.0" >/dev/null
	sleep 0.5
	if stranger_curl "https://${addr}/1.0" --max-time 2 >/dev/null 2>&1; then
		fail "the old address still answers after the change"
	fi

	# Clearing it stops the listener.
	lxc_in "${d}" config unset core.https_address
	sleep 0.5
	if stranger_curl "https://${addr2}/1.0" --max-time 2 >/dev/null 2>&1; then
		fail "the listener still answers after core.https_address was unset"
	fi

	# The address survives a restart.
	lxc_in "${d}" config set core.https_address "${addr2}"
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(stranger_curl "https://${addr2}/1.0" | jq -r .metadata.auth)" "untrusted"
}

test_server_config_refusals() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	lxc_in "${d}" config set images.auto_update_interval 12
	before=$(local_curl "${d}" /1.0 | jq -cS .metadata.config)

	for kv in "core.nope=1" "images.auto_update_interval=-1" "images.compression_algorithm=rm -rf /" \
		"images.auto_update_cached=maybe" "images.remote_cache_expiry=ten"; do
		code=$(local_curl "${d}" /1.0 -X PATCH -H 'Content-Type: application/json' \
			-d "$(jq -nc --arg k "${kv%%=*}" --arg v "${kv#*=}" '{config: {($k): $v}}')" -o "${TEST_TMP}/out" -w '%{http_code}')
		assert_eq "${code}" "400" "status for ${kv}"
		assert_contains "$(jq -r .error "${TEST_TMP}/out")" "${kv%%=*}"
	done

	# Malformed JSON.
	code=$(local_curl "${d}" /1.0 -X PUT -d '{"config": {' -o "${TEST_TMP}/out" -w '%{http_code}')
	assert_eq "${code}" "400" "status for malformed JSON"
	assert_contains "$(jq -r .error "${TEST_TMP}/out")" "invalid JSON"

	# A port that is in use is refused and nothing changes.
	addr=$(enable_https "${d}")
	local d2="${TEST_TMP}/d2"
	spawn_lxd "${d2}"
	assert_fails lxc_in "${d2}" config set core.https_address "${addr}"
	assert_eq "$(lxc_in "${d2}" config get core.https_address)" ""

	lxc_in "${d}" config unset core.https_address
	assert_eq "$(local_curl "${d}" /1.0 | jq -cS .metadata.config)" "${before}" "config after refused changes"

	# The trust password is never shown and never stored in clear.
	lxc_in "${d}" config set core.trust_password s3cret-pass
	assert_eq "$(local_curl "${d}" /1.0 | jq -r '.metadata.config["core.trust_password"]')" "true"
	if grep -q s3cret-pass <<<"$(sqlite3 "${d}/database/local.db" "SELECT value FROM config")"; then
		fail "the trust password is stored in clear"
	fi

	# If-Match with a stale ETag is refused.
	code=$(local_curl "${d}" /1.0 -X PUT -H 'If-Match: "0000"' -d '{"config": {}}' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "412" "status for a stale ETag"
}

test_compat_stock_client_password() {
	local d="${TEST_TMP}/d1" conf="${TEST_TMP}/stock"
	spawn_lxd "${d}"
	addr=$(enable_https "${d}")
	lxc_in "${d}" config set core.trust_password right-pass

	# A wrong password is refused and adds nothing.
	assert_fails stock_lxc "${conf}" remote add bad "https://${addr}" --accept-certificate --password wrong
	assert_contains "${FAIL_OUTPUT}" "not authorized"
	assert_eq "$(local_curl "${d}" /1.0/certificates | jq -r '.metadata | length')" "0" "certificates after a wrong password"

	stock_lxc "${conf}" remote add ours "https://${addr}" --accept-certificate --password right-pass
	out=$(stock_lxc "${conf}" info ours:)
	assert_contains "${out}" "auth: trusted"
	assert_eq "$(local_curl "${d}" /1.0/certificates | jq -r '.metadata | length')" "1" "certificates after the join"

	# The stock client can change the server configuration.
	stock_lxc "${conf}" config set ours: images.remote_cache_expiry 3
	assert_eq "$(lxc_in "${d}" config get images.remote_cache_expiry)" "3"

	# A revoked certificate is untrusted again.
	fp=$(local_curl "${d}" /1.0/certificates | jq -r '.metadata[0]' | xargs basename)
	lxc_in "${d}" config trust remove "${fp}"
	assert_contains "$(stock_lxc "${conf}" info ours:)" "auth: untrusted"
	assert_fails stock_lxc "${conf}" config set ours: images.remote_cache_expiry 4
	assert_eq "$(lxc_in "${d}" config get images.remote_cache_expiry)" "3"
}

test_certificates_garbage() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	for body in '{"certificate":"not a certificate"}' '{"certificate":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmdhcmJhZ2UKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="}' \
		'{"certificate":"-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----"}' '{"type":"admin"}' '{"certificate": 5}'; do
		code=$(local_curl "${d}" /1.0/certificates -X POST -d "${body}" -o "${TEST_TMP}/out" -w '%{http_code}')
		assert_eq "${code}" "400" "status for ${body}"
	done

	assert_eq "$(local_curl "${d}" /1.0/certificates | jq -r '.metadata | length')" "0" "certificates after garbage"

	# A certificate given as a file is trusted, shown, and can be deleted.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "${TEST_TMP}/c.key" \
		-out "${TEST_TMP}/c.crt" -days 30 -subj "/CN=test-client" 2>/dev/null
	fp=$(openssl x509 -in "${TEST_TMP}/c.crt" -outform DER | sha256sum | cut -d' ' -f1)
	code=$(local_curl "${d}" /1.0/certificates -X POST -d "$(jq -nc --rawfile c "${TEST_TMP}/c.crt" '{certificate: $c, name: "filecert"}')" \
		-o /dev/null -w '%{http_code}')
	assert_eq "${code}" "201"
	assert_eq "$(local_curl "${d}" "/1.0/certificates/${fp:0:12}" | jq -r .metadata.name)" "filecert"
	code=$(local_curl "${d}" /1.0/certificates -X POST -d "$(jq -nc --rawfile c "${TEST_TMP}/c.crt" '{certificate: $c}')" \
		-o /dev/null -w '%{http_code}')
	assert_eq "${code}" "409" "status for a duplicate certificate"

	# That certificate is trusted over HTTPS.
	addr=$(enable_https "${d}")
	auth=$(curl -sS -k --cert "${TEST_TMP}/c.crt" --key "${TEST_TMP}/c.key" "https://${addr}/1.0" | jq -r .metadata.auth)
	assert_eq "${auth}" "trusted"

	local_curl "${d}" "/1.0/certificates/${fp}" -X DELETE >/dev/null
	auth=$(curl -sS -k --cert "${TEST_TMP}/c.crt" --key "${TEST_TMP}/c.key" "https://${addr}/1.0" | jq -r .metadata.auth)
	assert_eq "${auth}" "untrusted"
}

test_compat_stock_client_token() {
	local d="${TEST_TMP}/d1" admin="${TEST_TMP}/admin" joiner="${TEST_TMP}/joiner"
	spawn_lxd "${d}"
	addr=$(enable_https "${d}")
	lxc_in "${d}" config set core.trust_password admin-pass
	stock_lxc "${admin}" remote add ours "https://${addr}" --accept-certificate --password admin-pass

	# A token made on the server (the stock 5.0.2 client takes "ours:" for a file name in "config trust add"), listed
	# by the stock client, and used by another stock client to join.
	out=$(lxc_in "${d}" config trust add --name joiner)
	token=$(echo "${out}" | tail -n 1)
	assert_contains "$(stock_lxc "${admin}" config trust list-tokens ours:)" "joiner"
	stock_lxc "${joiner}" remote add ours "${token}"
	assert_contains "$(stock_lxc "${joiner}" info ours:)" "auth: trusted"
	assert_contains "$(lxc_in "${d}" config trust list --format csv)" "joiner"

	# The token is used up.
	assert_fails stock_lxc "${TEST_TMP}/third" remote add ours "${token}"
	assert_eq "$(lxc_in "${d}" config trust list --format csv | wc -l)" "2" "trusted certificates"

	# A revoked token is refused.
	token=$(lxc_in "${d}" config trust add --name late | tail -n 1)
	lxc_in "${d}" config trust revoke-token late
	assert_fails stock_lxc "${TEST_TMP}/late" remote add ours "${token}"
	assert_eq "$(lxc_in "${d}" config trust list --format csv | wc -l)" "2" "trusted certificates after a revoked token"
}

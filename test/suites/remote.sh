# Remotes, server configuration and trust: lxc remote, lxc config and lxc config trust, and config.yml shared with
# the stock client.

# remote_fp prints the SHA-256 fingerprint of a PEM certificate file.
remote_fp() {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# Local management of remotes: no server needed except for the unix socket remote.
test_remote_local() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	local conf="${d}.conf"

	out=$(lxc_in "${d}" remote list --format csv)
	assert_contains "${out}" "local (current),unix://,lxd,file access,NO,YES,NO"
	assert_contains "${out}" "images,https://images.linuxcontainers.org,simplestreams,none,YES,NO,NO"
	assert_contains "${out}" "ubuntu,https://cloud-images.ubuntu.com/releases,simplestreams,none,YES,YES,NO"
	assert_eq "$(lxc_in "${d}" remote get-default)" "local" "default remote"

	# A simplestreams remote is stored without any request.
	lxc_in "${d}" remote add ss https://127.0.0.1:1/streams --protocol simplestreams
	assert_contains "$(lxc_in "${d}" remote list --format csv)" "ss,https://127.0.0.1:1/streams,simplestreams,none,YES,NO,NO"

	# A unix socket remote is checked with GET /1.0 and can be used.
	lxc_in "${d}" remote add sock "unix://${d}/unix.socket"
	assert_contains "$(lxc_in "${d}" info sock:)" "auth: trusted"
	assert_contains "$(lxc_in "${d}" remote list --format csv)" "sock,unix://${d}/unix.socket,lxd,file access,NO,NO,NO"

	lxc_in "${d}" remote switch sock
	assert_eq "$(lxc_in "${d}" remote get-default)" "sock" "default after switch"
	assert_contains "$(lxc_in "${d}" remote list)" "| sock (current) |"

	# Renaming keeps the default and moves a pinned certificate.
	mkdir -p "${conf}/servercerts"
	cp "${d}/server.crt" "${conf}/servercerts/ss.crt"
	lxc_in "${d}" remote rename ss ss2
	[ -f "${conf}/servercerts/ss2.crt" ] && [ ! -e "${conf}/servercerts/ss.crt" ] || fail "certificate not moved on rename"
	lxc_in "${d}" remote rename sock sock2
	assert_eq "$(lxc_in "${d}" remote get-default)" "sock2" "default after renaming it"

	lxc_in "${d}" remote set-url ss2 https://127.0.0.1:2/other
	assert_contains "$(lxc_in "${d}" remote list --format csv)" "ss2,https://127.0.0.1:2/other,simplestreams"

	# Error cases.
	assert_fails lxc_in "${d}" remote remove sock2
	assert_contains "${FAIL_OUTPUT}" "Error: can't remove the default remote"
	assert_fails lxc_in "${d}" remote remove ubuntu
	assert_contains "${FAIL_OUTPUT}" "Error: remote ubuntu is static and cannot be modified"
	assert_fails lxc_in "${d}" remote rename local l2
	assert_contains "${FAIL_OUTPUT}" "static and cannot be modified"
	assert_fails lxc_in "${d}" remote remove nope
	assert_contains "${FAIL_OUTPUT}" "Error: remote nope doesn't exist"
	assert_fails lxc_in "${d}" remote switch nope
	assert_contains "${FAIL_OUTPUT}" "remote nope doesn't exist"
	assert_fails lxc_in "${d}" info nope:
	assert_contains "${FAIL_OUTPUT}" 'the remote "nope" doesn'"'"'t exist'
	assert_fails lxc_in "${d}" remote add ss2 https://127.0.0.1:3 --protocol simplestreams
	assert_contains "${FAIL_OUTPUT}" "Error: remote ss2 exists as <https://127.0.0.1:2/other>"
	assert_fails lxc_in "${d}" remote add bad http://127.0.0.1:1 --protocol simplestreams
	assert_contains "${FAIL_OUTPUT}" "Error: only https URLs are supported for simplestreams"
	assert_fails lxc_in "${d}" remote add bad ftp://127.0.0.1
	assert_contains "${FAIL_OUTPUT}" 'invalid URL scheme "ftp"'
	assert_fails lxc_in "${d}" remote add bad 127.0.0.1:1:2
	assert_contains "${FAIL_OUTPUT}" "invalid address"
	assert_fails lxc_in "${d}" remote add a:b 127.0.0.1
	assert_contains "${FAIL_OUTPUT}" "remote names may not contain colons"
	assert_fails lxc_in "${d}" remote add bad "unix://${d}/missing.socket"
	assert_fails lxc_in "${d}" remote get-default extra
	assert_contains "${FAIL_OUTPUT}" "Error: invalid number of arguments"

	# Failures left nothing behind.
	out=$(lxc_in "${d}" remote list --format csv)
	case "${out}" in *bad*) fail "a failed remote was saved: ${out}" ;; esac

	lxc_in "${d}" remote switch local
	lxc_in "${d}" remote remove sock2
	lxc_in "${d}" remote remove ss2
	lxc_in "${d}" remote remove images
	[ ! -e "${conf}/servercerts/ss2.crt" ] || fail "certificate left behind by remove"
	assert_eq "$(lxc_in "${d}" remote list --format csv | cut -d, -f1 | tr '\n' ' ')" "local (current) ubuntu ubuntu-daily " "remotes left"
}

# config.yml is shared with the stock client in both directions.
test_remote_stock_config() {
	local conf="${TEST_TMP}/conf"
	mkdir -p "${conf}"

	LXD_CONF="${conf}" "${LXC_BIN}" remote add ours https://127.0.0.1:1/path --protocol simplestreams
	LXD_CONF="${conf}" "${LXC_BIN}" remote switch ours
	out=$(LXD_CONF="${conf}" /usr/bin/lxc remote list --format csv)
	assert_contains "${out}" "ours (current),https://127.0.0.1:1/path,simplestreams,none,YES,NO,NO"
	assert_contains "${out}" "local,unix://,lxd,file access,NO,YES,NO"

	LXD_CONF="${conf}" /usr/bin/lxc remote add theirs https://127.0.0.1:2 --protocol simplestreams
	LXD_CONF="${conf}" /usr/bin/lxc remote rename ours ours2
	out=$(LXD_CONF="${conf}" "${LXC_BIN}" remote list --format csv)
	assert_contains "${out}" "theirs,https://127.0.0.1:2,simplestreams,none,YES,NO,NO"
	assert_contains "${out}" "ours2 (current),https://127.0.0.1:1/path"

	# Both clients print the same list from the same file.
	for format in table csv json yaml compact; do
		assert_eq "$(LXD_CONF="${conf}" "${LXC_BIN}" remote list --format "${format}")" \
			"$(LXD_CONF="${conf}" /usr/bin/lxc remote list --format "${format}")" "remote list --format ${format}"
	done

	# A file written by us reads back identically in the stock client and vice versa.
	LXD_CONF="${conf}" "${LXC_BIN}" remote remove theirs
	cp "${conf}/config.yml" "${TEST_TMP}/ours.yml"
	LXD_CONF="${conf}" /usr/bin/lxc remote add tmp https://127.0.0.1:3 --protocol simplestreams
	LXD_CONF="${conf}" /usr/bin/lxc remote remove tmp
	diff -u "${TEST_TMP}/ours.yml" "${conf}/config.yml" || fail "the stock client rewrote our config.yml differently"
}

# enable_https_password DIR: makes the daemon of DIR listen on HTTPS with the trust password "sekret" and prints
# its address.
enable_https_password() {
	local dir=$1 port
	port=$(free_port)
	lxc_in "${dir}" config set "core.https_address=127.0.0.1:${port}" core.trust_password=sekret >&2 || {
		fail "cannot set core.https_address and core.trust_password"
		return 1
	}

	for _ in $(seq 50); do
		(echo >"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
		sleep 0.1
	done

	(echo >"/dev/tcp/127.0.0.1/${port}") 2>/dev/null || {
		fail "daemon side missing: nothing listens on core.https_address"
		return 1
	}

	echo "127.0.0.1:${port}"
}

# Server configuration through lxc config (daemon side: PUT /1.0).
test_remote_config_server() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	local addr
	addr=$(enable_https_password "${d}")

	assert_eq "$(lxc_in "${d}" config get core.https_address)" "${addr}" "core.https_address"
	assert_contains "$(lxc_in "${d}" config show)" "core.https_address: ${addr}"
	assert_contains "$(lxc_in "${d}" config show local:)" "core.trust_password: true"
	lxc_in "${d}" config unset local: core.trust_password
	assert_eq "$(lxc_in "${d}" config get local: core.trust_password)" "" "unset trust password"
	assert_fails lxc_in "${d}" config set core.nope 1
	assert_fails lxc_in "${d}" config set c1 limits.cpu 2
	assert_contains "${FAIL_OUTPUT}" 'instance "c1"'

	printf 'config:\n  core.https_address: %s\n  core.trust_password: other\n' "${addr}" | lxc_in "${d}" config edit
	assert_eq "$(lxc_in "${d}" config get core.trust_password)" "true" "trust password after edit"
}

# Adding an HTTPS remote with a password, the trust store, tokens (daemon side: HTTPS listener, certificates, tokens).
test_remote_https() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	local addr fp
	addr=$(enable_https_password "${d}")
	fp=$(remote_fp "${d}/server.crt")
	local c2="${TEST_TMP}/client2"
	lxc2() { LXD_CONF="${c2}" "${LXC_BIN}" "$@"; }

	# Wrong password: refused, nothing saved.
	assert_fails lxc2 remote add d1 "${addr}" --accept-certificate --password wrong
	assert_contains "${FAIL_OUTPUT}" "Error: not authorized"
	[ ! -e "${c2}/servercerts/d1.crt" ] || fail "certificate of a failed remote kept"

	# The certificate prompt, then the password prompt.
	out=$(printf 'y\nsekret\n' | lxc2 remote add d1 "${addr}")
	assert_contains "${out}" "Certificate fingerprint: ${fp}"
	assert_contains "${out}" "Client certificate now trusted by server: d1"
	assert_eq "$(remote_fp "${c2}/servercerts/d1.crt")" "${fp}" "pinned certificate"
	assert_contains "$(lxc2 remote list --format csv)" "d1,https://${addr},lxd,tls,NO,NO,NO"
	assert_contains "$(lxc2 info d1:)" "auth: trusted"

	# The trust store lists our client certificate.
	client_fp=$(remote_fp "${c2}/client.crt")
	assert_contains "$(lxc_in "${d}" config trust list --format csv)" "${client_fp:0:12}"

	# Adding a certificate file, and removing it by prefix.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "${TEST_TMP}/k.pem" \
		-out "${TEST_TMP}/extra.crt" -subj /CN=extra -days 30 2>/dev/null
	extra_fp=$(remote_fp "${TEST_TMP}/extra.crt")
	lxc2 config trust add d1: "${TEST_TMP}/extra.crt" --name extra
	assert_contains "$(lxc2 config trust list d1: --format csv)" "client,extra,extra,${extra_fp:0:12}"
	lxc2 config trust remove "d1:${extra_fp:0:8}"
	out=$(lxc2 config trust list d1: --format csv)
	case "${out}" in *"${extra_fp:0:12}"*) fail "certificate not removed: ${out}" ;; esac

	# A token: listed, used by a third client, and then gone.
	out=$(lxc2 config trust add d1: --name c3)
	assert_contains "${out}" "Client c3 certificate add token:"
	token=$(echo "${out}" | tail -n 1)
	assert_contains "$(lxc2 config trust list-tokens d1: --format csv)" "c3,${token}"
	local c3="${TEST_TMP}/client3"
	LXD_CONF="${c3}" "${LXC_BIN}" remote add viatoken "${token}"
	assert_contains "$(LXD_CONF="${c3}" "${LXC_BIN}" info viatoken:)" "auth: trusted"
	assert_eq "$(remote_fp "${c3}/servercerts/viatoken.crt")" "${fp}" "certificate pinned from the token"
	out=$(lxc2 config trust list-tokens d1: --format csv)
	case "${out}" in *c3*) fail "a used token is still listed: ${out}" ;; esac

	# A revoked token no longer works.
	token=$(lxc2 config trust add d1: --name c4 --quiet)
	assert_eq "$(lxc2 config trust revoke-token d1:c4)" "Certificate add token for c4 deleted" "revoke output"
	assert_fails env LXD_CONF="${TEST_TMP}/client4" "${LXC_BIN}" remote add viatoken "${token}"
	assert_fails lxc2 config trust revoke-token d1:c4
	assert_contains "${FAIL_OUTPUT}" "no certificate add token for member c4 on remote: d1"
}

# The stock client adds and uses our daemon as a remote, with its config.yml (daemon side: HTTPS and trust).
test_remote_https_stock_client() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	local addr
	addr=$(enable_https_password "${d}")
	local conf="${TEST_TMP}/stock"
	mkdir -p "${conf}"

	out=$(LXD_CONF="${conf}" /usr/bin/lxc remote add d1 "${addr}" --accept-certificate --password sekret)
	assert_contains "${out}" "Client certificate now trusted by server: d1"
	assert_contains "$(LXD_CONF="${conf}" "${LXC_BIN}" remote list --format csv)" "d1,https://${addr},lxd,tls,NO,NO,NO"
	assert_contains "$(LXD_CONF="${conf}" "${LXC_BIN}" info d1:)" "auth: trusted"

	# And the other way: a remote added by us is usable by the stock client.
	LXD_CONF="${conf}" "${LXC_BIN}" remote add d1b "https://${addr}" --accept-certificate
	LXD_CONF="${conf}" /usr/bin/lxc config trust list d1b: >/dev/null
}

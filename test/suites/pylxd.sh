# Clients that are not ours: pylxd (python3-pylxd, its websockets by ws4py) and websocket-client (python3-websocket)
# drive the daemon through the scripts of test/pylxd/: image uploads (unified and split, as pylxd's own helpers
# build them), instances, exec (timed), files, snapshots, publish, operations, events, custom storage volumes, and
# trust by password over HTTPS. The system python runs them: python3 on PATH may be another one, without these packages.

# pylxd_py SCRIPT ARGS...: runs test/pylxd/SCRIPT with the system python, for 5 minutes at most.
pylxd_py() {
	local script=$1
	shift
	timeout 300 /usr/bin/python3 "${TEST_DIR}/pylxd/${script}" "$@"
}

test_pylxd() {
	local d="${TEST_TMP}/d1" img="${TEST_TMP}/img" fp_unified fp_split addr out
	spawn_instance_lxd "${d}"
	mkdir -p "${img}"
	read -r fp_unified fp_split < <(pylxd_py busybox.py "${img}")
	[ -n "${fp_split}" ] || fail "no image built"

	LXD_DIR="${d}" pylxd_py pylxd_checks.py images "${img}" "${fp_unified}" "${fp_split}"
	# Our client and the stock one read the images pylxd uploaded.
	assert_contains "$(lxc_in "${d}" image list --format csv -c f)" "${fp_unified:0:12}"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${d}.stock" image info bb | sed -n 's/^Fingerprint: //p')" "${fp_unified}" \
		"image uploaded by pylxd, seen by the stock client"

	out=$(LXD_DIR="${d}" pylxd_py pylxd_checks.py instance "${fp_unified}")
	echo "${out}"
	grep '^timing:' <<<"${out}" | sed 's/^/pylxd /' >>"${RUN_DIR}/timings"

	LXD_DIR="${d}" pylxd_py pylxd_checks.py volumes

	# An instance pylxd did not create, for the events and for exec over HTTPS.
	lxc_in "${d}" launch bb c1
	LXD_DIR="${d}" pylxd_py pylxd_checks.py events c1

	addr=$(enable_https "${d}")
	lxc_in "${d}" config set core.trust_password pylxd-pass
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "${TEST_TMP}/client.key" \
		-out "${TEST_TMP}/client.crt" -days 1 -subj /CN=pylxd 2>/dev/null
	out=$(pylxd_py pylxd_checks.py https "https://${addr}" "${TEST_TMP}/client.crt" "${TEST_TMP}/client.key" \
		pylxd-pass "${d}/server.crt")
	echo "${out}"
	grep '^timing:' <<<"${out}" | sed 's/^/pylxd https /' >>"${RUN_DIR}/timings"
	assert_eq "$(local_curl "${d}" /1.0/certificates | jq -r '.metadata | length')" "1" \
		"certificates trusted after the password"

	# Our client and the stock one still run commands after all this.
	assert_eq "$(echo in | lxc_in "${d}" exec c1 -- cat)" "in" "exec by our client"
	assert_eq "$(echo in | LXD_DIR="${d}" stock_lxc "${d}.stock" exec c1 -- cat)" "in" "exec by the stock client"
}

test_pylxd_websocket_client() {
	local d="${TEST_TMP}/d1" out op rc=0
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1
	# A shell on the console, for the console check.
	{ lxc_in "${d}" file pull c1/etc/inittab -; echo "::respawn:/bin/sh"; } >"${TEST_TMP}/inittab"
	lxc_in "${d}" file push "${TEST_TMP}/inittab" c1/etc/inittab
	lxc_in "${d}" start c1

	out=$(LXD_DIR="${d}" pylxd_py ws_client.py exec c1)
	echo "${out}"
	grep '^timing:' <<<"${out}" >>"${RUN_DIR}/timings"
	LXD_DIR="${d}" pylxd_py ws_client.py interactive c1
	LXD_DIR="${d}" pylxd_py ws_client.py events c1
	LXD_DIR="${d}" pylxd_py ws_client.py console c1
	# A second session: the first one let go of the console.
	LXD_DIR="${d}" pylxd_py ws_client.py console c1

	# A client that never connects: the operation fails after 5 s, as LXD's does.
	op=$(local_curl "${d}" /1.0/instances/c1/exec -X POST \
		-d '{"command":["true"],"wait-for-websocket":true,"interactive":false}' | jq -r .operation)
	assert_eq "$(local_curl "${d}" "${op}/wait?timeout=30" | jq -r '.metadata.status + ": " + .metadata.err')" \
		"Failure: timed out waiting for the websockets to connect" "exec whose websockets never connect"

	# The stock client's exec, with its control websocket and a terminal, is unchanged.
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${d}.stock" exec c1 -- sh -c 'echo out; exit 0')" "out" "stock exec"
	LXD_DIR="${d}" stock_lxc "${d}.stock" exec c1 -- sh -c 'exit 9' || rc=$?
	assert_eq "${rc}" "9" "exit status through the stock client"
}

test_instances_bulk_state() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb c1
	lxc_in "${d}" init bb c2
	assert_contains "$(local_curl "${d}" /1.0 | jq -r '.metadata.api_extensions[]')" "instance_bulk_state_change"

	# The stock client's --all goes through PUT /1.0/instances when the server has instance_bulk_state_change.
	LXD_DIR="${d}" stock_lxc "${d}.stock" start --all
	assert_eq "$(lxc_in "${d}" list --format csv -c ns | tr '\n' ' ')" "c1,RUNNING c2,RUNNING " "after start --all"
	LXD_DIR="${d}" stock_lxc "${d}.stock" stop --all --force
	assert_eq "$(lxc_in "${d}" list --format csv -c ns | tr '\n' ' ')" "c1,STOPPED c2,STOPPED " "after stop --all"
	grep -q 'method=PUT url=/1.0/instances' "${d}/lxd.log" || fail "the stock client did not use PUT /1.0/instances"

	assert_eq "$(local_curl "${d}" /1.0/instances -X PUT -d '{"state":{"action":"dance"}}' | jq -r .error_code)" "400" \
		"unknown bulk action"
	assert_eq "$(local_curl "${d}" /1.0/instances -X PUT -d '{}' | jq -r .error_code)" "400" "bulk change with no state"
}

test_image_create_aliases_and_expiry() {
	local d="${TEST_TMP}/d1" op fp
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1
	for ext in image_create_aliases images_expiry; do
		assert_contains "$(local_curl "${d}" /1.0 | jq -r '.metadata.api_extensions[]')" "${ext}"
	done

	# image_create_aliases: the aliases of POST /1.0/images are created with the image.
	op=$(local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/json' \
		-d '{"source":{"type":"instance","name":"c1"},"aliases":[{"name":"pub1","description":"published"}]}' |
		jq -r .operation)
	assert_eq "$(local_curl "${d}" "${op}/wait?timeout=60" | jq -r .metadata.status)" "Success" "publish with aliases"
	fp=$(local_curl "${d}" /1.0/images/aliases/pub1 | jq -r .metadata.target)
	assert_eq "$(local_curl "${d}" /1.0/images/aliases/pub1 | jq -r .metadata.description)" "published" "alias description"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r '.metadata.aliases[0].name')" "pub1" "alias of the image"

	# An alias taken by another image fails the operation.
	op=$(local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/json' \
		-d '{"source":{"type":"instance","name":"c1"},"aliases":[{"name":"bb"}]}' | jq -r .operation)
	assert_eq "$(local_curl "${d}" "${op}/wait?timeout=60" | jq -r .metadata.status)" "Failure" "publish onto a taken alias"

	# images_expiry: expires_at is writable, and the stock client shows it.
	local_curl "${d}" "/1.0/images/${fp}" -X PATCH -d '{"expires_at":"2031-01-02T03:04:05Z"}' >/dev/null
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.expires_at)" "2031-01-02T03:04:05Z" "expires_at"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${d}.stock" image info pub1)" "Expires: 2031/01/02 03:04 UTC"
}

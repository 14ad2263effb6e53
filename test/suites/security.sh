# What a stranger (an HTTPS client whose certificate is not trusted) can see and do: public images and their
# aliases, nothing else; every refused request leaves the daemon's state as it was.

test_security_strangers() {
	local d="${TEST_TMP}/d1" addr fp_priv fp_pub before after
	spawn_instance_lxd "${d}"
	addr=$(enable_https "${d}")
	local base="https://${addr}"

	import_busybox "${d}" secret-bb
	fp_priv=$(local_curl "${d}" /1.0/images/aliases/secret-bb | jq -r .metadata.target)
	# A second, public image: the same rootfs under other metadata gives another fingerprint.
	mkdir -p "${TEST_TMP}/pub/rootfs"
	printf 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: public one\n' \
		>"${TEST_TMP}/pub/metadata.yaml"
	tar -C "${TEST_TMP}/pub" -czf "${TEST_TMP}/pub.tar.gz" metadata.yaml rootfs
	lxc_in "${d}" image import "${TEST_TMP}/pub.tar.gz" --alias public-bb --public >/dev/null
	fp_pub=$(local_curl "${d}" /1.0/images/aliases/public-bb | jq -r .metadata.target)
	lxc_in "${d}" init secret-bb hidden-c1 >/dev/null
	lxc_in "${d}" profile create hidden-profile >/dev/null

	before=$(state_digest "${d}")

	# What a stranger may list: public images and their aliases only.
	out=$(stranger_curl "${base}/1.0/images?recursion=1")
	assert_eq "$(echo "${out}" | jq -r '[.metadata[].fingerprint] | join(",")')" "${fp_pub}" "images listed to a stranger"
	assert_eq "$(stranger_curl "${base}/1.0/images/aliases/public-bb" | jq -r .metadata.target)" "${fp_pub}"
	assert_eq "$(stranger_curl "${base}/1.0/images/${fp_pub}" | jq -r .metadata.public)" "true"

	# Reads of private things: 404 where LXD hides existence, 403 for whole collections.
	local checks=(
		"GET /1.0/images/${fp_priv} 404"
		"GET /1.0/images/${fp_priv:0:12} 404"
		"GET /1.0/images/${fp_priv}/export 404"
		"GET /1.0/images/aliases/secret-bb 404"
		"GET /1.0/images/aliases 403"
		"GET /1.0/instances 403"
		"GET /1.0/instances?recursion=1 403"
		"GET /1.0/instances/hidden-c1 403"
		"GET /1.0/instances/hidden-c1/state 403"
		"GET /1.0/instances/hidden-c1/snapshots 403"
		"GET /1.0/containers 403"
		"GET /1.0/profiles 403"
		"GET /1.0/profiles/hidden-profile 403"
		"GET /1.0/operations 403"
		"GET /1.0/events 403"
		"GET /1.0/certificates 403"
		"POST /1.0/instances 403"
		"PUT /1.0/instances/hidden-c1/state 403"
		"POST /1.0/instances/hidden-c1/exec 403"
		"POST /1.0/instances/hidden-c1/files?path=/x 403"
		"DELETE /1.0/instances/hidden-c1 403"
		"POST /1.0/profiles 403"
		"DELETE /1.0/profiles/hidden-profile 403"
		"DELETE /1.0/images/${fp_pub} 403"
		"PATCH /1.0/images/${fp_pub} 403"
		"PUT /1.0/images/${fp_pub} 403"
		"POST /1.0/images/${fp_pub}/secret 403"
		"POST /1.0/images/aliases 403"
		"DELETE /1.0/images/aliases/public-bb 403"
		"PATCH /1.0 403"
		"PUT /1.0 403"
	)

	local check method path want code
	for check in "${checks[@]}"; do
		read -r method path want <<<"${check}"
		code=$(stranger_curl "${base}${path}" -X "${method}" -H 'Content-Type: application/json' \
			-d '{"name":"x","source":{"type":"none"},"config":{"core.https_address":""},"public":true,"command":["true"]}' \
			-o "${TEST_TMP}/out" -w '%{http_code}')
		assert_eq "${code}" "${want}" "${method} ${path} by a stranger"
		assert_eq "$(jq -r .type "${TEST_TMP}/out")" "error" "envelope of ${method} ${path}"
		# The caller named the private fingerprint itself in the first paths; a prefix must not be expanded.
		case "${path}" in *"${fp_priv}"*) continue ;; esac
		case "$(cat "${TEST_TMP}/out")" in
		*secret-bb* | *hidden-c1* | *hidden-profile* | *"${fp_priv}"*)
			fail "${method} ${path} tells a stranger about private things: $(cat "${TEST_TMP}/out")"
			;;
		esac
	done

	# A wrong trust password adds no certificate; the right one does (so the refusal is about the password).
	lxc_in "${d}" config set core.trust_password right-one
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=stranger \
		-keyout "${TEST_TMP}/stranger.key" -out "${TEST_TMP}/stranger.crt" 2>/dev/null
	local with_cert=(--cert "${TEST_TMP}/stranger.crt" --key "${TEST_TMP}/stranger.key")
	before=$(state_digest "${d}")
	code=$(stranger_curl "${base}/1.0/certificates" "${with_cert[@]}" -X POST \
		-d '{"type":"client","password":"wrong-one"}' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "403" "certificate add with a wrong password"
	assert_eq "$(stranger_curl "${base}/1.0/instances" "${with_cert[@]}" -o /dev/null -w '%{http_code}')" "403" \
		"instances for an untrusted certificate"

	after=$(state_digest "${d}")
	assert_eq "${after}" "${before}" "state after the stranger's requests"
	assert_eq "$(lxc_in "${d}" list -c n -f csv)" "hidden-c1"

	code=$(stranger_curl "${base}/1.0/certificates" "${with_cert[@]}" -X POST \
		-d '{"type":"client","password":"right-one"}' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "201" "certificate add with the trust password"
	assert_eq "$(stranger_curl "${base}/1.0/instances" "${with_cert[@]}" | jq -r '.metadata | length')" "1" \
		"instances once trusted"
}

# state_digest DIR: a digest of everything a request could change: images, aliases, instances, profiles,
# certificates and server configuration.
state_digest() {
	local d=$1
	{
		local_curl "${d}" "/1.0/images?recursion=1" | jq -cS '[.metadata[] | del(.last_used_at)]'
		local_curl "${d}" "/1.0/images/aliases?recursion=1" | jq -cS .metadata
		local_curl "${d}" "/1.0/instances?recursion=1" | jq -cS '[.metadata[] | {name, status, config, devices, profiles}]'
		local_curl "${d}" "/1.0/profiles?recursion=1" | jq -cS .metadata
		local_curl "${d}" "/1.0/certificates?recursion=1" | jq -cS .metadata
		local_curl "${d}" /1.0 | jq -cS .metadata.config
	} | sha256sum | cut -d' ' -f1
}

# A container's root plants symlinks and the daemon is asked to follow them: through the files API (read, write,
# create parents, delete) and through a start template. Nothing outside the container is read or changed.
test_security_escapes() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb c1 >/dev/null

	local host="${TEST_TMP}/host"
	mkdir -p "${host}"
	echo "host secret" >"${host}/secret"
	echo "keep" >"${host}/victim"
	lxc_in "${d}" exec c1 -- ln -s "${host}/secret" /root/to-secret
	lxc_in "${d}" exec c1 -- ln -s "${host}" /root/to-host
	lxc_in "${d}" exec c1 -- ln -s / /root/to-root

	# Reads: a symlink is returned as a symlink, never as the host file it names.
	out=$(local_curl "${d}" "/1.0/instances/c1/files?path=/root/to-secret" -D "${TEST_TMP}/headers")
	assert_contains "$(cat "${TEST_TMP}/headers")" "X-Lxd-Type: symlink"
	case "${out}" in *"host secret"*) fail "a symlink read the host file" ;; esac
	code=$(local_curl "${d}" "/1.0/instances/c1/files?path=/root/to-host/secret" -o "${TEST_TMP}/out" -w '%{http_code}')
	case "$(cat "${TEST_TMP}/out")" in *"host secret"*) fail "a directory symlink read the host file (${code})" ;; esac
	assert_fails lxc_in "${d}" file pull "c1/root/to-root${host}/secret" "${TEST_TMP}/pulled"
	[ ! -e "${TEST_TMP}/pulled" ] || fail "a pull through an absolute directory symlink wrote ${TEST_TMP}/pulled"

	# Writes, parents and deletes through directory symlinks are refused.
	echo "new" >"${TEST_TMP}/new"
	assert_fails lxc_in "${d}" file push "${TEST_TMP}/new" c1/root/to-host/victim
	assert_fails lxc_in "${d}" file push -p "${TEST_TMP}/new" c1/root/to-host/made/here
	assert_fails lxc_in "${d}" file delete c1/root/to-host/victim
	assert_fails lxc_in "${d}" file delete "c1/root/to-root${host}/victim"
	code=$(local_curl "${d}" "/1.0/instances/c1/files?path=/root/to-host/dir" -X POST -H 'X-LXD-type: directory' \
		-o /dev/null -w '%{http_code}')
	[ "${code}" != "200" ] || fail "a directory was created through a symlink"
	assert_eq "$(cat "${host}/victim")" "keep" "host file after writes through symlinks"
	assert_eq "$(ls "${host}" | sort | tr '\n' ' ')" "secret victim " "host directory after writes through symlinks"

	# A start template whose target the container replaced with a symlink to the host.
	lxc_in "${d}" exec c1 -- rm -f /etc/motd
	lxc_in "${d}" exec c1 -- ln -s "${host}/victim" /etc/motd
	lxc_in "${d}" restart c1 --force
	assert_eq "$(cat "${host}/victim")" "keep" "host file after a start template"
	assert_eq "$(lxc_in "${d}" exec c1 -- readlink /etc/motd || true)" "" "the template replaced the symlink"

	lxc_in "${d}" delete -f c1
	assert_no_instance "${d}" c1
}

# Instances created from images of other servers: our daemon pulls the image (from ours, the stock LXD daemon or a
# simplestreams tree), keeps it as a cached image and creates later instances from the cache without the source.

# create_from_remote DIR NAME SOURCE_JSON: posts an instance creation to the daemon of DIR and prints the final
# operation.
create_from_remote() {
	local dir=$1 name=$2 src=$3 op
	op=$(local_curl "${dir}" /1.0/instances -X POST -H 'Content-Type: application/json' \
		-d "{\"name\": \"${name}\", \"source\": ${src}}" | jq -r .operation)
	local_curl "${dir}" "${op}/wait?timeout=60"
}

test_instances_remote_launch() {
	local a="${TEST_TMP}/a" b="${TEST_TMP}/b" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_instance_lxd "${a}"
	spawn_lxd "${b}"
	spawn_stock_lxd "${stock}"
	unified=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" | sha256sum | cut -d' ' -f1)
	fromstock=$(sha256sum "${fixtures}/unified.tar.zst" | cut -d' ' -f1)

	src() {
		LXD_DIR="$1" LXD_CONF="${conf}" /usr/bin/lxc "${@:2}"
	}

	src "${b}" image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	src "${b}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" --alias bbsplit >/dev/null
	src "${b}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs" --alias bbsq --public >/dev/null
	src "${stock}" image import "${fixtures}/unified.tar.zst" --alias fromstock >/dev/null
	lxc_in "${b}" config set core.https_address 127.0.0.1:8443
	lxc_in "${b}" config set core.trust_password pw
	src "${stock}" config set core.https_address 127.0.0.1:8444
	src "${stock}" config set core.trust_password pw

	# The stock client, with our daemon "a" as local:.
	cli() {
		LXD_DIR="${a}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	cli remote add b https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	cli remote add s https://127.0.0.1:8444 --accept-certificate --password pw >/dev/null
	cli remote add ss https://127.0.0.1:8443 --protocol simplestreams --public
	mkdir -p "${conf}/servercerts"
	cp "${b}/server.crt" "${conf}/servercerts/ss.crt"

	# A public image by alias: pulled, stored as cached, the instance runs.
	cli launch b:bb c1 >/dev/null
	assert_contains "$(cli list --format csv -c ns)" "c1,RUNNING"
	info=$(local_curl "${a}" "/1.0/images/${unified}")
	assert_eq "$(echo "${info}" | jq -r .metadata.cached)" "true" "pulled image is cached"
	assert_eq "$(echo "${info}" | jq -r .metadata.update_source.alias)" "bb" "source alias"
	assert_eq "$(echo "${info}" | jq -r .metadata.auto_update)" "true" "cached image follows its alias"
	[ "$(echo "${info}" | jq -r .metadata.last_used_at)" != "0001-01-01T00:00:00Z" ] || fail "last use not recorded"
	assert_eq "$(local_curl "${a}" /1.0/instances/c1 | jq -r '.metadata.config["volatile.base_image"]')" "${unified}"

	# A private split image through a one-time secret from the stock client.
	cli launch b:bbsplit c2 >/dev/null
	assert_eq "$(local_curl "${a}" "/1.0/images/${split}" | jq -r .metadata.cached)" "true" "private image cached"

	# From the stock LXD daemon, and from a simplestreams tree served by our daemon b.
	cli launch s:fromstock c3 >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/instances/c3 | jq -r '.metadata.config["volatile.base_image"]')" "${fromstock}"
	cli init ss:bbsq c4 >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/instances/c4 | jq -r .metadata.status)" "Stopped"
	squash=$(local_curl "${a}" /1.0/instances/c4 | jq -r '.metadata.config["volatile.base_image"]')
	assert_eq "$(local_curl "${a}" "/1.0/images/${squash}" | jq -r .metadata.update_source.protocol)" "simplestreams"

	# An image the store already holds as the user's own is used, not marked cached.
	LXD_DIR="${a}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.gz" --alias mine >/dev/null
	gz=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	src "${b}" image import "${fixtures}/unified.tar.gz" --alias bbgz --public >/dev/null
	cli init b:bbgz c5 >/dev/null
	assert_eq "$(local_curl "${a}" "/1.0/images/${gz}" | jq -r .metadata.cached)" "false" "own image stays uncached"

	# Errors: an unknown image, and a private image without a secret, leave no instance behind.
	assert_fails cli init b:nope e1
	assert_no_instance "${a}" e1
	res=$(create_from_remote "${a}" e2 "{\"type\": \"image\", \"server\": \"https://127.0.0.1:8443\", \"protocol\": \"lxd\", \"fingerprint\": \"${split:0:12}\", \"certificate\": $(jq -Rs . "${b}/server.crt")}")
	assert_eq "$(echo "${res}" | jq -r .metadata.status)" "Success" "a cached image by fingerprint needs no secret"
	op=$(local_curl "${a}" /1.0/instances/e2 -X DELETE | jq -r .operation)
	assert_eq "$(local_curl "${a}" "${op}/wait?timeout=60" | jq -r .metadata.status)" "Success" "deletion of e2"
	assert_no_instance "${a}" e2
	res=$(create_from_remote "${a}" e3 "{\"type\": \"image\", \"server\": \"https://127.0.0.1:8443\", \"protocol\": \"lxd\", \"alias\": \"bbsplit\", \"certificate\": $(jq -Rs . "${b}/server.crt")}")
	assert_eq "$(echo "${res}" | jq -r .metadata.status)" "Failure" "private alias without a secret"
	assert_no_instance "${a}" e3
	res=$(local_curl "${a}" /1.0/instances -X POST -d '{"name": "e4", "source": {"type": "image", "server": "ftp://x", "alias": "bb"}}')
	assert_eq "$(echo "${res}" | jq -r .error_code)" "400" "invalid server"
	assert_fails cli launch b:bb c1
	assert_contains "${FAIL_OUTPUT}" "already exists"

	# A launch from a cached remote image does not download it again: timed against a launch from a local image.
	local t0 t1 t2
	t0=$(now_ms)
	cli launch b:bb o1 >/dev/null
	t1=$(now_ms)
	cli launch mine o2 >/dev/null
	t2=$(now_ms)
	echo "launch from a cached remote image: $((t1 - t0)) ms, from a local image: $((t2 - t1)) ms" >&2
	assert_contains "$(cli list --format csv -c ns)" "o1,RUNNING"

	# Offline: with the sources gone, the daemon still creates instances from the cached images.
	shutdown_lxd "${b}"
	src "${stock}" config unset core.https_address
	cert=$(jq -Rs . "${b}/server.crt")
	res=$(create_from_remote "${a}" o3 "{\"type\": \"image\", \"server\": \"https://127.0.0.1:8443\", \"protocol\": \"lxd\", \"alias\": \"bb\", \"certificate\": ${cert}}")
	assert_eq "$(echo "${res}" | jq -r .metadata.status)" "Success" "offline creation by alias"
	res=$(create_from_remote "${a}" o4 "{\"type\": \"image\", \"server\": \"https://127.0.0.1:8444\", \"protocol\": \"lxd\", \"fingerprint\": \"${fromstock}\"}")
	assert_eq "$(echo "${res}" | jq -r .metadata.status)" "Success" "offline creation by fingerprint"
	res=$(create_from_remote "${a}" o5 "{\"type\": \"image\", \"server\": \"https://127.0.0.1:8443\", \"protocol\": \"simplestreams\", \"alias\": \"bbsq\"}")
	assert_eq "$(echo "${res}" | jq -r .metadata.status)" "Success" "offline creation from simplestreams"
	res=$(create_from_remote "${a}" o6 "{\"type\": \"image\", \"server\": \"https://127.0.0.1:8443\", \"protocol\": \"lxd\", \"alias\": \"other\", \"certificate\": ${cert}}")
	assert_eq "$(echo "${res}" | jq -r .metadata.status)" "Failure" "uncached image offline"
	assert_no_instance "${a}" o6
}

test_instances_remote_our_client() {
	local a="${TEST_TMP}/a" b="${TEST_TMP}/b" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_instance_lxd "${a}"
	spawn_lxd "${b}"
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" | sha256sum | cut -d' ' -f1)

	ours() {
		LXD_DIR="${a}" LXD_CONF="${conf}" nsx "${LXC_BIN}" "$@"
	}

	lxc_in "${b}" image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	lxc_in "${b}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" --alias bbsplit >/dev/null
	lxc_in "${b}" config set core.https_address 127.0.0.1:8443
	lxc_in "${b}" config set core.trust_password pw
	ours remote add b https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	ours remote add ss https://127.0.0.1:8443 --protocol simplestreams --public
	mkdir -p "${conf}/servercerts"
	cp "${b}/server.crt" "${conf}/servercerts/ss.crt"

	ours launch b:bb c1 >/dev/null
	assert_contains "$(ours list --format csv -c ns)" "c1,RUNNING"
	ours launch b:bbsplit c2 >/dev/null
	assert_eq "$(local_curl "${a}" "/1.0/images/${split}" | jq -r .metadata.cached)" "true" "private image cached"
	ours init ss:bb c3 >/dev/null
	assert_fails ours init b:missing c4
	assert_no_instance "${a}" c4
}

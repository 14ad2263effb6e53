# Our daemon pulls images from other servers: ours, the stock LXD daemon, and simplestreams trees, driven by the
# stock client ("lxc image copy SRC: local:" with our daemon as local:).

test_image_pull() {
	local a="${TEST_TMP}/a" b="${TEST_TMP}/b" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${a}"
	spawn_lxd "${b}"
	spawn_stock_lxd "${stock}"

	unified=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" | sha256sum | cut -d' ' -f1)
	fromstock=$(sha256sum "${fixtures}/unified.tar.zst" | cut -d' ' -f1)
	squash=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs" | sha256sum | cut -d' ' -f1)

	src() {
		LXD_DIR="$1" LXD_CONF="${conf}" /usr/bin/lxc "${@:2}"
	}

	src "${b}" image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	src "${b}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" --alias bbsplit >/dev/null
	src "${b}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs" --alias bbsq --public >/dev/null
	src "${stock}" image import "${fixtures}/unified.tar.zst" --alias fromstock >/dev/null
	src "${stock}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.zst" --alias stocksplit >/dev/null
	stocksplit=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.zst" | sha256sum | cut -d' ' -f1)
	lxc_in "${b}" config set core.https_address 127.0.0.1:8443
	lxc_in "${b}" config set core.trust_password pw
	src "${stock}" config set core.https_address 127.0.0.1:8444
	src "${stock}" config set core.trust_password pw

	# The stock client, with our daemon "a" as local:.
	cli() {
		LXD_DIR="${a}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	cli remote add bpub https://127.0.0.1:8443 --public --accept-certificate
	cli remote add b https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	cli remote add s https://127.0.0.1:8444 --accept-certificate --password pw >/dev/null
	cli remote add ss https://127.0.0.1:8443 --protocol simplestreams --public
	mkdir -p "${conf}/servercerts"
	cp "${b}/server.crt" "${conf}/servercerts/ss.crt"

	# A public image by alias; the source and the alias are recorded for auto-update.
	cli image copy bpub:bb local: --alias c1 --auto-update >/dev/null
	out=$(local_curl "${a}" /1.0/images/aliases/c1 | jq -r .metadata.target)
	assert_eq "${out}" "${unified}" "image pulled by alias"
	cmp "${a}/images/${unified}" "${fixtures}/unified.tar.xz"
	info=$(local_curl "${a}" "/1.0/images/${unified}")
	assert_eq "$(echo "${info}" | jq -r .metadata.update_source.alias)" "bb" "recorded source alias"
	assert_eq "$(echo "${info}" | jq -r .metadata.update_source.server)" "https://127.0.0.1:8443" "recorded source server"
	assert_eq "$(echo "${info}" | jq -r .metadata.auto_update)" "true" "auto update"

	# A private split image through a one-time secret, with its aliases.
	cli image copy b:bbsplit local: --alias c2 --copy-aliases >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/bbsplit | jq -r .metadata.target)" "${split}" "copied alias"
	cmp "${a}/images/${split}.rootfs" "${fixtures}/rootfs.tar.bz2"

	# From the stock LXD daemon, and from a simplestreams tree (squashfs rootfs).
	cli image copy s:fromstock local: --alias c3 >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/c3 | jq -r .metadata.target)" "${fromstock}" "image from the stock daemon"
	cli image copy s:stocksplit local: --alias c5 >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/c5 | jq -r .metadata.target)" "${stocksplit}" "private split image from the stock daemon"
	cmp "${a}/images/${stocksplit}.rootfs" "${fixtures}/rootfs.tar.zst"
	cli image copy ss:bbsq local: --alias c4 >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/c4 | jq -r .metadata.target)" "${squash}" "image from simplestreams"
	assert_eq "$(local_curl "${a}" "/1.0/images/${squash}" | jq -r .metadata.update_source.protocol)" "simplestreams"

	# A missing image, and a private image without a secret, fail and store nothing.
	before=$(ls "${a}/images")
	assert_fails cli image copy bpub:nope local:
	out=$(local_curl "${a}" /1.0/images -X POST -H 'Content-Type: application/json' \
		-d "{\"source\": {\"type\": \"image\", \"mode\": \"pull\", \"server\": \"https://127.0.0.1:8443\", \"protocol\": \"lxd\", \"fingerprint\": \"${split}\"}}")
	op=$(echo "${out}" | jq -r .operation)
	res=$(local_curl "${a}" "${op}/wait?timeout=30")
	assert_eq "$(echo "${res}" | jq -r .metadata.status)" "Failure" "pull without trust or secret"
	assert_eq "$(ls "${a}/images")" "${before}" "store after failed pulls"
}

test_image_refresh() {
	local a="${TEST_TMP}/a" b="${TEST_TMP}/b" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${a}"
	spawn_lxd "${b}"
	v1=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	v2=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	LXD_DIR="${b}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	LXD_DIR="${b}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.gz" --public >/dev/null
	lxc_in "${b}" config set core.https_address 127.0.0.1:8443

	cli() {
		LXD_DIR="${a}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	cli remote add bpub https://127.0.0.1:8443 --public --accept-certificate
	cli image copy bpub:bb local: --alias mine --auto-update >/dev/null
	assert_contains "$(cli image refresh mine)" "Image already up to date."

	# The source alias moves to a new image: a refresh pulls it and moves the local alias and auto-update to it.
	local_curl "${b}" /1.0/images/aliases/bb -X PUT -d "{\"target\": \"${v2}\"}" >/dev/null
	assert_contains "$(cli image refresh mine)" "Image refreshed successfully!"
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/mine | jq -r .metadata.target)" "${v2}" "alias after refresh"
	assert_eq "$(local_curl "${a}" "/1.0/images/${v2}" | jq -r .metadata.auto_update)" "true" "auto-update on the new image"
	assert_eq "$(local_curl "${a}" "/1.0/images/${v1}" | jq -r .metadata.auto_update)" "false" "auto-update on the old image"

	# An image without a source alias has nothing to refresh.
	LXD_DIR="${a}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.bz2" --alias local-only >/dev/null
	assert_fails cli image refresh local-only
	assert_contains "${FAIL_OUTPUT}" "nothing to refresh"
}

test_image_copy_with_our_client() {
	local a="${TEST_TMP}/a" b="${TEST_TMP}/b" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${a}"
	spawn_lxd "${b}"
	unified=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz" | sha256sum | cut -d' ' -f1)
	local_one=$(sha256sum "${fixtures}/unified.tar.lzma" | cut -d' ' -f1)

	ours() {
		LXD_DIR="${a}" LXD_CONF="${conf}" nsx "${LXC_BIN}" "$@"
	}

	lxc_in "${b}" image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	lxc_in "${b}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz" --alias bbsplit >/dev/null
	lxc_in "${b}" config set core.https_address 127.0.0.1:8443
	lxc_in "${b}" config set core.trust_password pw
	ours remote add b https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	ours remote add ss https://127.0.0.1:8443 --protocol simplestreams --public
	mkdir -p "${conf}/servercerts"
	cp "${b}/server.crt" "${conf}/servercerts/ss.crt"

	# Pull: public by alias with auto-update, private with a secret and its aliases, and from simplestreams.
	assert_contains "$(ours image copy b:bb local: --alias c1 --auto-update)" "Image copied successfully!"
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/c1 | jq -r .metadata.target)" "${unified}"
	assert_eq "$(local_curl "${a}" "/1.0/images/${unified}" | jq -r .metadata.update_source.alias)" "bb"
	ours image copy b:bbsplit local: --copy-aliases >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/bbsplit | jq -r .metadata.target)" "${split}"
	ours image delete c1
	ours image copy ss:bb local: --alias viass >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/viass | jq -r .metadata.target)" "${unified}"

	# Relay from the local socket (which no other server can reach) to a remote.
	lxc_in "${a}" image import "${fixtures}/unified.tar.lzma" --alias mine >/dev/null
	ours image copy local:mine b: --alias relayed >/dev/null
	assert_eq "$(local_curl "${b}" /1.0/images/aliases/relayed | jq -r .metadata.target)" "${local_one}"
	cmp "${b}/images/${local_one}" "${fixtures}/unified.tar.lzma"

	# Refresh says there is nothing new.
	assert_contains "$(ours image refresh viass)" "Image already up to date."

	# Errors: unknown image, bad mode.
	assert_fails ours image copy b:nope local:
	assert_fails ours image copy b:bb local: --mode sideways
	assert_contains "${FAIL_OUTPUT}" "invalid mode"
}

test_image_copy_push_mode() {
	local a="${TEST_TMP}/a" b="${TEST_TMP}/b" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" oconf="${TEST_TMP}/oconf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${a}"
	spawn_lxd "${b}"
	spawn_stock_lxd "${stock}"
	unified=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz" | sha256sum | cut -d' ' -f1)
	fromstock=$(sha256sum "${fixtures}/unified.tar.bz2" | cut -d' ' -f1)

	lxc_in "${a}" image import "${fixtures}/unified.tar.xz" --alias bb >/dev/null
	lxc_in "${a}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz" --alias bbsplit >/dev/null
	LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.bz2" --alias st >/dev/null
	for addr in "${a}:8443" "${b}:8444"; do
		lxc_in "${addr%:*}" config set core.https_address "127.0.0.1:${addr##*:}"
		lxc_in "${addr%:*}" config set core.trust_password pw
	done

	LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc config set core.https_address 127.0.0.1:8445
	LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc config set core.trust_password pw

	stk() {
		LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	ours() {
		LXD_CONF="${oconf}" nsx "${LXC_BIN}" "$@"
	}

	for cli in stk ours; do
		"${cli}" remote add a https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
		"${cli}" remote add b https://127.0.0.1:8444 --accept-certificate --password pw >/dev/null
		"${cli}" remote add s https://127.0.0.1:8445 --accept-certificate --password pw >/dev/null
	done

	# The stock client pushes from our daemon to the stock daemon, and from the stock daemon to ours.
	stk image copy a:bb s: --mode push --alias pushed >/dev/null
	assert_contains "$(LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc image info pushed)" "Fingerprint: ${unified}"
	stk image copy s:st a: --mode push --alias fromstock >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/fromstock | jq -r .metadata.target)" "${fromstock}" "pushed by the stock daemon"

	# Our client pushes a split image between our daemons.
	ours image copy a:bbsplit b: --mode push --alias pushedsplit >/dev/null
	assert_eq "$(local_curl "${b}" /1.0/images/aliases/pushedsplit | jq -r .metadata.target)" "${split}" "pushed split image"
	cmp "${b}/images/${split}.rootfs" "${fixtures}/rootfs.tar.gz"

	# An upload without a valid secret is refused and stores nothing.
	before=$(ls "${b}/images")
	code=$(nsx curl -sk -o /dev/null -w '%{http_code}' -X POST --data-binary "@${fixtures}/unified.tar.zst" \
		-H 'X-LXD-secret: not-a-secret' https://127.0.0.1:8444/1.0/images)
	assert_eq "${code}" "403" "upload with a bad secret"
	assert_eq "$(ls "${b}/images")" "${before}" "store after a refused upload"
}

test_image_auto_update_task() {
	local a="${TEST_TMP}/a" b="${TEST_TMP}/b" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${a}"
	spawn_lxd "${b}"
	v1=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	v2=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	lxc_in "${b}" image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	lxc_in "${b}" image import "${fixtures}/unified.tar.gz" --public >/dev/null
	lxc_in "${b}" config set core.https_address 127.0.0.1:8443

	LXD_DIR="${a}" LXD_CONF="${conf}" nsx "${LXC_BIN}" remote add bpub https://127.0.0.1:8443 --public --accept-certificate
	LXD_DIR="${a}" LXD_CONF="${conf}" nsx "${LXC_BIN}" image copy bpub:bb local: --alias mine --auto-update >/dev/null

	# The source moves its alias; the periodic refresh (run now instead of in images.auto_update_interval hours)
	# follows it and moves the local alias.
	local_curl "${b}" /1.0/images/aliases/bb -X PUT -d "{\"target\": \"${v2}\"}" >/dev/null
	code=$(local_curl "${a}" /internal/tasks/images-auto-update -X POST -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "200" "auto-update task"
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/mine | jq -r .metadata.target)" "${v2}" "alias after the auto-update"
	assert_eq "$(local_curl "${a}" "/1.0/images/${v2}" | jq -r .metadata.auto_update)" "true"

	# With auto-update switched off on the image, nothing moves.
	local_curl "${a}" "/1.0/images/${v2}" -X PATCH -d '{"auto_update": false}' >/dev/null
	local_curl "${b}" /1.0/images/aliases/bb -X PUT -d "{\"target\": \"${v1}\"}" >/dev/null
	local_curl "${a}" /internal/tasks/images-auto-update -X POST >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/mine | jq -r .metadata.target)" "${v2}" "alias with auto-update off"
}

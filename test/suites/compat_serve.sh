# Our daemon as an image server for the stock LXD 5.0.2: its client and its daemon list, export and copy our images.

# await_condition SECONDS WHAT CMD...: runs CMD every 0.1s until it succeeds; fails, naming WHAT, when it has not
# within SECONDS.
await_condition() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	until "$@"; do
		if [ "${SECONDS}" -ge "${deadline}" ]; then
			fail "${what}: not within ${secs}s"
			return 1
		fi

		sleep 0.1
	done
}

# stranger_code URL: prints the HTTP status a caller without a certificate gets for URL, from inside NETNS.
stranger_code() {
	nsx curl -sk -o /dev/null -w '%{http_code}' "$1"
}

# stranger_gets URL CODE: succeeds when a caller without a certificate gets CODE for URL.
stranger_gets() {
	[ "$(stranger_code "$1")" = "$2" ]
}

test_compat_stock_daemon_copies_from_ours() {
	local ours="${TEST_TMP}/ours" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${ours}"
	spawn_stock_lxd "${stock}"

	unified=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.xz" | sha256sum | cut -d' ' -f1)
	LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.xz" \
		--alias bbsplit >/dev/null
	lxc_in "${ours}" config set core.https_address 127.0.0.1:8443
	lxc_in "${ours}" config set core.trust_password pw

	stk() {
		LXD_DIR="${stock}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	# A public remote lists only public images, and the stock daemon copies one by alias.
	stk remote add ourspub https://127.0.0.1:8443 --public --accept-certificate
	out=$(stk image list ourspub: --format csv)
	assert_contains "${out}" "bb,${unified:0:12}"
	case "${out}" in *bbsplit*) fail "a private image is listed on the public remote: ${out}" ;; esac
	assert_fails stk image info ourspub:bbsplit
	stk image copy ourspub:bb local: --alias copied >/dev/null
	assert_contains "$(stk image info local:copied)" "Fingerprint: ${unified}"

	# A trusted remote: the private split image goes through a one-time secret, with its aliases and auto-update.
	stk remote add ours https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	stk image copy ours:bbsplit local: --alias copied2 --copy-aliases --auto-update >/dev/null
	out=$(stk image info local:copied2)
	assert_contains "${out}" "Fingerprint: ${split}"
	assert_contains "${out}" "Auto update: enabled"
	assert_contains "${out}" "- bbsplit"

	# The stock client exports from ours byte for byte.
	mkdir -p "${TEST_TMP}/export"
	(cd "${TEST_TMP}/export" && stk image export ours:bbsplit split >/dev/null && stk image export ourspub:bb unified >/dev/null)
	cmp "${TEST_TMP}/export/split" "${fixtures}/meta.tar.xz"
	cmp "${TEST_TMP}/export/split.root" "${fixtures}/rootfs.tar.xz"
	cmp "${TEST_TMP}/export/unified.tar.xz" "${fixtures}/unified.tar.xz"

	# A stranger cannot read the private image, and a secret works once (then briefly for the export that follows).
	code=$(nsx curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:8443/1.0/images/${split}/export")
	assert_eq "${code}" "404" "private export for a stranger"
	code=$(nsx curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:8443/1.0/images/${split:0:8}")
	assert_eq "${code}" "404" "private image by prefix for a stranger"
	secret=$(local_curl "${ours}" "/1.0/images/${split}/secret" -X POST | jq -r .metadata.metadata.secret)
	code=$(nsx curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:8443/1.0/images/${split}?secret=${secret}")
	assert_eq "${code}" "200" "private image with its secret"
	code=$(nsx curl -sk -o "${TEST_TMP}/viasecret" -w '%{http_code}' "https://127.0.0.1:8443/1.0/images/${split}/export?secret=${secret}")
	assert_eq "${code}" "200" "private export with its secret"
	# The used secret stays valid for the operation's retention (5s), then the image is hidden again.
	await_condition 30 "private image hidden again once its used secret expired" \
		stranger_gets "https://127.0.0.1:8443/1.0/images/${split}?secret=${secret}" 404
}

test_compat_stock_simplestreams_from_ours() {
	local ours="${TEST_TMP}/ours" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${ours}"
	spawn_stock_lxd "${stock}"

	unified=$(sha256sum "${fixtures}/unified.tar.gz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs" | sha256sum | cut -d' ' -f1)
	private=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.zst" | sha256sum | cut -d' ' -f1)
	LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.gz" --alias bbu --public >/dev/null
	LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs" \
		--alias bbsq --public >/dev/null
	LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.zst" \
		--alias hidden >/dev/null
	lxc_in "${ours}" config set core.https_address 127.0.0.1:8443

	# The stock client pins a simplestreams server's certificate from servercerts/.
	stk() {
		LXD_DIR="${stock}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	stk remote add ss https://127.0.0.1:8443 --protocol simplestreams --public
	mkdir -p "${conf}/servercerts"
	cp "${ours}/server.crt" "${conf}/servercerts/ss.crt"

	out=$(stk image list ss: --format csv -c lfF)
	assert_contains "${out}" "${unified}"
	assert_contains "${out}" "${split}"
	case "${out}" in *"${private}"*) fail "a private image is published: ${out}" ;; esac

	# The stock daemon pulls both through simplestreams, checking every hash.
	stk image copy ss:bbu local: --alias viass >/dev/null
	stk image copy ss:bbsq local: --alias viass-split >/dev/null
	assert_contains "$(stk image info local:viass)" "Fingerprint: ${unified}"
	assert_contains "$(stk image info local:viass-split)" "Fingerprint: ${split}"

	# A private image's files are not served.
	code=$(nsx curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:8443/images/${private}/meta-${private}.tar.xz")
	assert_eq "${code}" "404" "file of a private image"
}

test_compat_stock_daemon_launches_from_ours() {
	local ours="${TEST_TMP}/ours" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	spawn_lxd "${ours}"
	spawn_stock_lxd "${stock}"
	LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz" \
		--alias private >/dev/null
	lxc_in "${ours}" config set core.https_address 127.0.0.1:8443
	lxc_in "${ours}" config set core.trust_password pw

	stk() {
		LXD_DIR="${stock}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	stk storage create default dir >/dev/null
	stk profile device add default root disk path=/ pool=default >/dev/null
	on_exit sh -c "LXD_DIR='${stock}' LXD_CONF='${conf}' /usr/bin/lxc delete -f c1 c2 >/dev/null 2>&1"

	# A public image, and a private split one through a secret; our templates run in the stock daemon's containers.
	stk remote add ourspub https://127.0.0.1:8443 --public --accept-certificate
	stk launch ourspub:bb c1 >/dev/null
	assert_eq "$(stk exec c1 -- cat /etc/hostname)" "c1" "hostname template in the stock daemon"
	assert_eq "$(stk exec c1 -- cat /etc/motd)" "hello from c1 (start)" "start template in the stock daemon"
	stk remote add ours https://127.0.0.1:8443 --accept-certificate --password pw >/dev/null
	stk launch ours:private c2 >/dev/null
	assert_contains "$(stk list --format csv -c ns)" "c2,RUNNING"
	stk delete -f c1 c2
}

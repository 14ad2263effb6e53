# Simplestreams trees served by nginx: read by our client and daemon, written by "lxc simplestreams export" and read
# by the stock LXD 5.0.2 client and daemon.

# ss_sha FILE...: prints the sha256 of the files concatenated.
ss_sha() {
	cat "$@" | sha256sum | cut -d' ' -f1
}

# ss_item FTYPE PATH ROOT [EXTRA]: prints the JSON of one item of the tree rooted at ROOT; EXTRA is more JSON members.
ss_item() {
	local ftype=$1 path=$2 root=$3 extra=${4:-}
	printf '"%s": {"ftype": "%s", "path": "%s", "sha256": "%s", "size": %s%s}' "${ftype}" "${ftype}" "${path}" \
		"$(ss_sha "${root}/${path}")" "$(stat -c %s "${root}/${path}")" "${extra:+, ${extra}}"
}

# ss_product NAME ALIASES ARCH ITEMS: prints the JSON of one product with a single version.
ss_product() {
	printf '"%s": {"aliases": "%s", "arch": "%s", "os": "Busybox", "release": "1.35", "release_title": "1.35",
		"variant": "default", "versions": {"20240101_0000": {"items": {%s}}}}' "$1" "$2" "$3" "$4"
}

# ss_hand_tree ROOT FIXTURES ARCH: lays out by hand a tree of four products: bb (metadata, root.tar.xz and squashfs),
# bbu (a unified tarball), bad (a rootfs whose bytes differ from its sha256) and badcomb (a wrong combined hash).
ss_hand_tree() {
	local root=$1 fx=$2 arch=$3 v=20240101_0000 items
	for p in bb bbu bad badcomb; do
		mkdir -p "${root}/images/${p}/${v}"
	done

	mkdir -p "${root}/streams/v1"
	cp "${fx}/meta.tar.xz" "${root}/images/bb/${v}/lxd.tar.xz"
	cp "${fx}/rootfs.tar.xz" "${root}/images/bb/${v}/root.tar.xz"
	cp "${fx}/rootfs.squashfs" "${root}/images/bb/${v}/root.squashfs"
	cp "${fx}/unified.tar.gz" "${root}/images/bbu/${v}/lxd_combined.tar.gz"
	cp "${fx}/meta.tar.xz" "${root}/images/bad/${v}/lxd.tar.xz"
	cp "${fx}/rootfs.tar.gz" "${root}/images/bad/${v}/root.tar.xz"
	cp "${fx}/meta.tar.xz" "${root}/images/badcomb/${v}/lxd.tar.xz"
	cp "${fx}/rootfs.tar.zst" "${root}/images/badcomb/${v}/root.tar.xz"

	local d="images/bb/${v}"
	items="$(ss_item lxd.tar.xz "${d}/lxd.tar.xz" "${root}" \
		"\"combined_sha256\": \"$(ss_sha "${fx}/meta.tar.xz" "${fx}/rootfs.tar.xz")\",
		 \"combined_rootxz_sha256\": \"$(ss_sha "${fx}/meta.tar.xz" "${fx}/rootfs.tar.xz")\",
		 \"combined_squashfs_sha256\": \"$(ss_sha "${fx}/meta.tar.xz" "${fx}/rootfs.squashfs")\""),
		$(ss_item root.tar.xz "${d}/root.tar.xz" "${root}"),
		$(ss_item squashfs "${d}/root.squashfs" "${root}")"
	local bb
	bb=$(ss_product bb bb "${arch}" "${items}")

	local bbu
	bbu=$(ss_product bbu bbu "${arch}" "$(ss_item lxd_combined.tar.gz "images/bbu/${v}/lxd_combined.tar.gz" "${root}")")

	# bad: the rootfs listed is rootfs.tar.gz, the bytes served are those of rootfs.tar.bz2.
	d="images/bad/${v}"
	items="$(ss_item lxd.tar.xz "${d}/lxd.tar.xz" "${root}" \
		"\"combined_rootxz_sha256\": \"$(ss_sha "${fx}/meta.tar.xz" "${fx}/rootfs.tar.gz")\""),
		$(ss_item root.tar.xz "${d}/root.tar.xz" "${root}")"
	local bad
	bad=$(ss_product bad bad "${arch}" "${items}")
	cp "${fx}/rootfs.tar.bz2" "${root}/${d}/root.tar.xz"

	# badcomb: every file matches its sha256, but the combined hash is not the sha256 of metadata and rootfs.
	d="images/badcomb/${v}"
	items="$(ss_item lxd.tar.xz "${d}/lxd.tar.xz" "${root}" \
		"\"combined_rootxz_sha256\": \"$(echo nonsense | sha256sum | cut -d' ' -f1)\""),
		$(ss_item root.tar.xz "${d}/root.tar.xz" "${root}")"
	local badcomb
	badcomb=$(ss_product badcomb badcomb "${arch}" "${items}")

	printf '{"content_id": "images", "datatype": "image-downloads", "format": "products:1.0", "products": {%s, %s, %s, %s}}\n' \
		"${bb}" "${bbu}" "${bad}" "${badcomb}" | jq . >"${root}/streams/v1/images.json"
	cat >"${root}/streams/v1/index.json" <<'JSON'
{"format": "index:1.0", "index": {"images": {"datatype": "image-downloads", "path": "streams/v1/images.json",
  "format": "products:1.0", "products": ["bb", "bbu", "bad", "badcomb"]}}}
JSON
}

test_simplestreams_client_reads_tree() {
	local a="${TEST_TMP}/a" web="${TEST_TMP}/web" conf="${TEST_TMP}/conf" fixtures port arch
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	arch=$(dpkg --print-architecture)
	make_netns
	make_test_ca "${web}"
	ss_hand_tree "${web}/root" "${fixtures}" "${arch}"
	port=$(free_port)
	start_nginx "${web}" "${port}" "location / { root ${web}/root; }"
	spawn_lxd "${a}"

	squash=$(ss_sha "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs")
	rootxz=$(ss_sha "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.xz")
	unified=$(ss_sha "${fixtures}/unified.tar.gz")

	ours() {
		LXD_DIR="${a}" LXD_CONF="${conf}" nsx "${LXC_BIN}" "$@"
	}

	ours remote add ss "https://127.0.0.1:${port}" --protocol simplestreams --public
	# Without the pinned certificate, the test CA is unknown.
	assert_fails ours image list ss:
	assert_contains "${FAIL_OUTPUT}" "certificate"
	mkdir -p "${conf}/servercerts"
	cp "${web}/server.crt" "${conf}/servercerts/ss.crt"

	# list, with filters; the split version gives two images, the alias going to the squashfs one.
	out=$(ours image list ss: --format csv -c lf)
	assert_contains "${out}" "bb (1 more),${squash:0:12}"
	assert_contains "${out}" "bbu (1 more),${unified:0:12}"
	assert_contains "${out}" ",${rootxz:0:12}"
	assert_eq "$(ours image list ss: bbu --format csv -c f)" "${unified:0:12}" "list filtered by alias"
	assert_eq "$(ours image list ss: type=tar.gz --format csv -c f)" "${unified:0:12}" "list filtered by property"

	# info and show by alias, by NAME/<arch> and by fingerprint prefix.
	out=$(ours image info ss:bb)
	assert_contains "${out}" "Fingerprint: ${squash}"
	assert_contains "${out}" "Public: yes"
	assert_contains "${out}" "type: squashfs"
	assert_contains "$(ours image info "ss:bb/${arch}")" "Fingerprint: ${squash}"
	assert_contains "$(ours image info "ss:${rootxz:0:12}")" "type: root.tar.xz"
	assert_contains "$(ours image show ss:bbu)" "public: true"
	assert_fails ours image info ss:nope

	# alias list, with a filter.
	out=$(ours image alias list ss: --format csv)
	assert_contains "${out}" "bb,${squash:0:12},CONTAINER"
	assert_contains "${out}" "bb/${arch},${squash:0:12},CONTAINER"
	assert_contains "${out}" "bbu,${unified:0:12},CONTAINER"
	assert_eq "$(ours image alias list ss: bbu --format csv | cut -d, -f1 | sort | tr '\n' ' ')" "bbu bbu/${arch} " "filtered aliases"

	# export: split (squashfs) and unified, byte for byte.
	mkdir -p "${TEST_TMP}/exp"
	ours image export ss:bb "${TEST_TMP}/exp/split" >/dev/null
	cmp "${TEST_TMP}/exp/split" "${fixtures}/meta.tar.xz"
	cmp "${TEST_TMP}/exp/split.root" "${fixtures}/rootfs.squashfs"
	ours image export ss:bbu "${TEST_TMP}/exp/" >/dev/null
	cmp "${TEST_TMP}/exp/lxd_combined.tar.gz" "${fixtures}/unified.tar.gz"

	# The tampered products are refused by the client, leaving no file behind.
	mkdir -p "${TEST_TMP}/bad"
	assert_fails ours image export ss:bad "${TEST_TMP}/bad/"
	assert_contains "${FAIL_OUTPUT}" "hash mismatch"
	assert_fails ours image export ss:badcomb "${TEST_TMP}/bad/"
	assert_contains "${FAIL_OUTPUT}" "fingerprint"
	assert_eq "$(find "${TEST_TMP}/bad" -type f | wc -l)" "0" "files left by refused exports"

	# Without the certificate, the daemon does not trust the tree.
	out=$(local_curl "${a}" /1.0/images -X POST -H 'Content-Type: application/json' \
		-d "{\"source\": {\"type\": \"image\", \"mode\": \"pull\", \"protocol\": \"simplestreams\", \"server\": \"https://127.0.0.1:${port}\", \"fingerprint\": \"bbu\"}}")
	op=$(echo "${out}" | jq -r .operation)
	assert_eq "$(local_curl "${a}" "${op}/wait?timeout=30" | jq -r .metadata.status)" "Failure" "pull without the certificate"
	assert_eq "$(local_curl "${a}" /1.0/images | jq -r '.metadata | length')" "0" "images after an untrusted pull"

	# The daemon pulls by alias (squashfs, root.tar.xz by fingerprint, unified) pinning the certificate it is given.
	ours image copy ss:bb local: --alias c1 --auto-update >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/c1 | jq -r .metadata.target)" "${squash}" "pulled squashfs image"
	cmp "${a}/images/${squash}.rootfs" "${fixtures}/rootfs.squashfs"
	info=$(local_curl "${a}" "/1.0/images/${squash}")
	assert_eq "$(echo "${info}" | jq -r .metadata.update_source.protocol)" "simplestreams" "source protocol"
	assert_eq "$(echo "${info}" | jq -r .metadata.update_source.alias)" "bb" "source alias"
	assert_eq "$(echo "${info}" | jq -r .metadata.update_source.certificate)" "$(cat "${web}/server.crt")" "source certificate"
	ours image copy "ss:${rootxz:0:12}" local: >/dev/null
	cmp "${a}/images/${rootxz}.rootfs" "${fixtures}/rootfs.tar.xz"
	ours image copy ss:bbu local: --alias c3 >/dev/null
	assert_eq "$(local_curl "${a}" /1.0/images/aliases/c3 | jq -r .metadata.target)" "${unified}" "pulled unified image"

	# The daemon refuses the tampered products and stores nothing.
	before=$(ls "${a}/images")
	assert_fails ours image copy ss:bad local:
	assert_contains "${FAIL_OUTPUT}" "ash mismatch"
	assert_fails ours image copy ss:badcomb local:
	assert_contains "${FAIL_OUTPUT}" "fingerprint"

	assert_eq "$(ls "${a}/images")" "${before}" "store after refused pulls"
	assert_eq "$(local_curl "${a}" /1.0/images | jq -r '.metadata | length')" "3" "images after refused pulls"
}

# ss_mtimes DIR: prints the path and modification time (to the nanosecond) of every file under DIR, sorted.
ss_mtimes() {
	find "$1" -type f -printf '%P %T@\n' | sort
}

test_simplestreams_export_stock_reads() {
	local a="${TEST_TMP}/a" stock="${TEST_TMP}/stock" web="${TEST_TMP}/web" conf="${TEST_TMP}/conf" fixtures port
	local tree="${TEST_TMP}/web/tree"
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_netns
	make_test_ca "${web}"
	spawn_lxd "${a}"
	spawn_stock_lxd "${stock}"

	unified=$(ss_sha "${fixtures}/unified.tar.xz")
	squash=$(ss_sha "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs")
	rootxz=$(ss_sha "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.xz")
	private=$(ss_sha "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz")
	newer=$(ss_sha "${fixtures}/unified.tar.gz")
	lxc_in "${a}" image import "${fixtures}/unified.tar.xz" --alias bbu --public >/dev/null
	lxc_in "${a}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.squashfs" --alias bbsq --public >/dev/null
	lxc_in "${a}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.xz" --alias bbxz --public >/dev/null
	lxc_in "${a}" image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.gz" --alias hidden >/dev/null

	out=$(lxc_in "${a}" simplestreams export local: "${tree}")
	assert_contains "${out}" "Exported 3 images: 3 downloaded, 0 unchanged, 0 removed"
	[ ! -e "${tree}/images/${private}" ] || fail "a private image was exported"
	cmp "${tree}/images/${squash}/${squash}.squashfs" "${fixtures}/rootfs.squashfs"

	# The daemon's own live tree and the exported one are the same documents.
	lxc_in "${a}" config set core.https_address 127.0.0.1:8443
	for doc in index images; do
		assert_eq "$(nsx curl -sk "https://127.0.0.1:8443/streams/v1/${doc}.json" | jq -S .)" \
			"$(jq -S . "${tree}/streams/v1/${doc}.json")" "live and exported ${doc}.json"
	done

	port=$(free_port)
	start_nginx "${web}" "${port}" "location / { root ${tree}; } location /mirror/ { alias ${tree}/; }"

	stk() {
		LXD_DIR="${stock}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	stk remote add x "https://127.0.0.1:${port}" --protocol simplestreams --public
	mkdir -p "${conf}/servercerts"
	cp "${web}/server.crt" "${conf}/servercerts/x.crt"

	# The stock client lists the tree, with the fingerprints of the images it was made from.
	out=$(stk image list x: --format csv -c lF)
	assert_contains "${out}" "bbu (1 more),${unified}"
	assert_contains "${out}" "bbsq (1 more),${squash}"
	assert_contains "${out}" "bbxz (1 more),${rootxz}"
	case "${out}" in *"${private}"*) fail "a private image is in the tree: ${out}" ;; esac
	assert_contains "$(stk image info x:bbsq)" "Fingerprint: ${squash}"

	# The stock daemon pulls unified and split images, checking every hash.
	stk image copy x:bbu local: --alias c1 >/dev/null
	stk image copy x:bbsq local: --alias c2 >/dev/null
	stk image copy x:bbxz local: --alias c3 >/dev/null
	assert_contains "$(stk image info local:c1)" "Fingerprint: ${unified}"
	assert_contains "$(stk image info local:c2)" "Fingerprint: ${squash}"
	assert_contains "$(stk image info local:c3)" "Fingerprint: ${rootxz}"

	# Our client reads it too, through the remote the stock client added.
	assert_contains "$(LXD_DIR="${a}" LXD_CONF="${conf}" nsx "${LXC_BIN}" image info x:bbxz)" "Fingerprint: ${rootxz}"

	# One image deleted, one added: the export follows, leaving the files of the others untouched.
	ss_mtimes "${tree}/images/${squash}" >"${TEST_TMP}/kept.before"
	ss_mtimes "${tree}/images/${unified}" >>"${TEST_TMP}/kept.before"
	lxc_in "${a}" image delete bbxz
	lxc_in "${a}" image import "${fixtures}/unified.tar.gz" --alias bbnew --public >/dev/null
	out=$(lxc_in "${a}" simplestreams export local: "${tree}")
	assert_contains "${out}" "Exported 3 images: 1 downloaded, 2 unchanged, 1 removed"
	[ ! -e "${tree}/images/${rootxz}" ] || fail "the deleted image is still in the tree"
	[ -d "${tree}/images/${newer}" ] || fail "the new image is not in the tree"
	ss_mtimes "${tree}/images/${squash}" >"${TEST_TMP}/kept.after"
	ss_mtimes "${tree}/images/${unified}" >>"${TEST_TMP}/kept.after"
	assert_eq "$(cat "${TEST_TMP}/kept.after")" "$(cat "${TEST_TMP}/kept.before")" "files of unchanged images"
	assert_eq "$(find "${tree}" -name '.export-*' | wc -l)" "0" "temporary files in the tree"

	out=$(stk image list x: --format csv -c lF)
	assert_contains "${out}" "bbnew (1 more),${newer}"
	case "${out}" in *"${rootxz}"*) fail "the deleted image is still listed: ${out}" ;; esac
	# The stock daemon keeps a server's stream for an hour: the new image is pulled through another URL of the tree.
	stk remote add y "https://127.0.0.1:${port}/mirror" --protocol simplestreams --public
	cp "${web}/server.crt" "${conf}/servercerts/y.crt"
	stk image copy y:bbnew local: --alias c4 >/dev/null
	assert_contains "$(stk image info local:c4)" "Fingerprint: ${newer}"
	assert_fails stk image info x:bbxz

	# Unchanged, a third export downloads nothing.
	out=$(lxc_in "${a}" simplestreams export "${tree}")
	assert_contains "${out}" "Exported 3 images: 0 downloaded, 3 unchanged, 0 removed"
}

# ss_pull DIR SERVER CERT NAME [ALIAS]: asks the daemon of DIR to pull NAME from the simplestreams SERVER, pinning
# CERT, and prints the final status of the operation and the fingerprint it reports.
ss_pull() {
	local dir=$1 server=$2 cert=$3 name=$4 alias=${5:-} body op
	body=$(jq -cn --arg server "${server}" --arg cert "${cert}" --arg name "${name}" --arg alias "${alias}" \
		'{source: {type: "image", mode: "pull", protocol: "simplestreams", server: $server, certificate: $cert,
		  fingerprint: $name}, aliases: (if $alias == "" then [] else [{name: $alias}] end)}')
	op=$(local_curl "${dir}" /1.0/images -X POST -H 'Content-Type: application/json' -d "${body}" | jq -r .operation)
	local_curl "${dir}" "${op}/wait?timeout=30" | jq -r '.metadata.status + " " + (.metadata.metadata.fingerprint // "")'
}

test_simplestreams_daemon_cache() {
	local a="${TEST_TMP}/a" web="${TEST_TMP}/web" fixtures port arch server cert
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	arch=$(dpkg --print-architecture)
	make_netns
	make_test_ca "${web}"
	ss_hand_tree "${web}/root" "${fixtures}" "${arch}"
	port=$(free_port)
	start_nginx "${web}" "${port}" "location / { root ${web}/root; }"
	spawn_lxd "${a}"
	server="https://127.0.0.1:${port}"
	cert=$(cat "${web}/server.crt")
	unified=$(ss_sha "${fixtures}/unified.tar.gz")

	# Online: the pull stores the image and keeps the stream's documents with their fetch time.
	assert_eq "$(ss_pull "${a}" "${server}" "${cert}" bbu first)" "Success ${unified}" "online pull"
	cached=$(find "${a}/cache/simplestreams" -name '*.json')
	assert_eq "$(echo "${cached}" | wc -l)" "1" "cached streams"
	assert_eq "$(jq -r .server "${cached}")" "${server}" "cached server"
	assert_eq "$(jq -r '.documents | keys | join(",")' "${cached}")" "streams/v1/images.json,streams/v1/index.json" "cached documents"
	[ "$(date -d "$(jq -r .fetched_at "${cached}")" +%s)" -ge "$(($(date +%s) - 60))" ] || fail "fetch time of the cache"

	# Offline: the cached image is still found by alias (and its NAME/<arch>); an image never pulled is not.
	kill "$(cat "${web}/nginx.pid")"
	for _ in $(seq 50); do
		nsx sh -c "echo >/dev/tcp/127.0.0.1/${port}" 2>/dev/null || break
		sleep 0.1
	done

	assert_eq "$(ss_pull "${a}" "${server}" "${cert}" bbu)" "Success ${unified}" "offline pull of a cached image"
	assert_eq "$(ss_pull "${a}" "${server}" "${cert}" "bbu/${arch}")" "Success ${unified}" "offline pull by NAME/arch"
	grep -q "using its cached index" "${a}/lxd.log" || fail "the offline pull is not logged"
	assert_eq "$(ss_pull "${a}" "${server}" "${cert}" bb)" "Failure " "offline pull of an image never pulled"

	# The cache is per certificate: another pinned certificate does not read it.
	assert_eq "$(ss_pull "${a}" "${server}" "" bbu)" "Failure " "offline pull without the pinned certificate"
	assert_eq "$(local_curl "${a}" /1.0/images | jq -r '.metadata | length')" "1" "images after offline pulls"
}

# Images imported from a static web host announcing LXD-Image-URL and LXD-Image-Hash.

test_image_url_import() {
	local d="${TEST_TMP}/d1" web="${TEST_TMP}/web" fixtures port
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	make_test_ca "${web}"
	mkdir -p "${web}/files"
	cp "${fixtures}/unified.tar.xz" "${web}/files/bb.tar.xz"
	cp "${fixtures}/unified.tar.gz" "${web}/files/other.tar.gz"
	fp=$(sha256sum "${web}/files/bb.tar.xz" | cut -d' ' -f1)
	port=$(free_port)
	start_nginx "${web}" "${port}" "
		location = /img/bb { add_header LXD-Image-Hash ${fp}; add_header LXD-Image-URL https://127.0.0.1:${port}/files/bb.tar.xz; return 200; }
		location = /img/relative { add_header LXD-Image-Hash ${fp}; add_header LXD-Image-URL ../files/bb.tar.xz; return 200; }
		location = /img/tampered { add_header LXD-Image-Hash ${fp}; add_header LXD-Image-URL https://127.0.0.1:${port}/files/other.tar.gz; return 200; }
		location = /img/nohash { add_header LXD-Image-URL https://127.0.0.1:${port}/files/bb.tar.xz; return 200; }
		location = /img/file-scheme { add_header LXD-Image-Hash ${fp}; add_header LXD-Image-URL file:///etc/passwd; return 200; }
		location /files/ { alias ${web}/files/; }"

	SSL_CERT_FILE="${web}/ca.crt" spawn_lxd "${d}"

	# A tampered file, a missing header and a non-web URL store nothing.
	for case in "tampered:fingerprint" "nohash:missing LXD-Image-Hash header" "file-scheme:unsupported URL scheme"; do
		assert_fails env LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image import "https://127.0.0.1:${port}/img/${case%%:*}"
		assert_contains "${FAIL_OUTPUT}" "${case#*:}" "error for ${case%%:*}"
	done

	assert_eq "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" "0" "images after refused URL imports"
	assert_eq "$(find "${d}/images" -type f | wc -l)" "0" "image files after refused URL imports"

	# The server's headers say which architectures and version ask.
	LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/stock" /usr/bin/lxc image import "https://127.0.0.1:${port}/img/bb" --alias fromweb
	assert_eq "$(local_curl "${d}" /1.0/images/aliases/fromweb | jq -r .metadata.target)" "${fp}" "alias of the URL import"
	cmp "${d}/images/${fp}" "${fixtures}/unified.tar.xz"
	gets=$(grep -c 'GET /files/bb.tar.xz' "${web}/access.log")
	assert_eq "${gets}" "1" "downloads of the image file"
	head=$(grep 'HEAD /img/bb ' "${web}/access.log")
	assert_contains "${head}" 'arch="x86_64, i686"' "LXD-Server-Architectures sent"
	assert_contains "${head}" "version=\"$(lxc_in "${d}" version | awk '/Server version/ {print $3}')\"" "LXD-Server-Version sent"

	# The same image again, by a relative LXD-Image-URL: nothing is downloaded.
	out=$(local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/json' \
		-d "{\"source\": {\"type\": \"url\", \"url\": \"https://127.0.0.1:${port}/img/relative\"}}")
	op=$(echo "${out}" | jq -r .operation)
	assert_eq "$(local_curl "${d}" "${op}/wait?timeout=30" | jq -r .metadata.metadata.fingerprint)" "${fp}"
	assert_eq "$(grep -c 'GET /files/bb.tar.xz' "${web}/access.log")" "1" "downloads after importing a known image"

	# Only http(s) sources are accepted.
	code=$(local_curl "${d}" /1.0/images -X POST -H 'Content-Type: application/json' \
		-d '{"source": {"type": "url", "url": "file:///etc/passwd"}}' -o "${TEST_TMP}/out" -w '%{http_code}')
	assert_eq "${code}" "400"
	assert_contains "$(jq -r .error "${TEST_TMP}/out")" "unsupported URL scheme"
}

# OCI registry images: a Debian docker-registry on loopback with TLS (a test CA trusted through SSL_CERT_FILE),
# images written as OCI layouts by umoci, or by test/deps/oci-layout.py for what umoci does not write (opaque
# whiteouts, an index of several platforms, a blob to tamper with), pushed with skopeo, pulled and run by the daemon.

# oci_registry DIR: starts a registry with its storage under DIR/registry on a free loopback port, trusted by the
# daemons the test spawns next; prints nothing, sets OCI_ADDR. Stopped when the test ends (or by oci_registry_stop).
oci_registry() {
	local dir=$1
	mkdir -p "${dir}/registry" "${dir}/certs"
	make_test_ca "${dir}/ca"
	cp "${dir}/ca/ca.crt" "${dir}/certs/ca.crt"
	OCI_ADDR="127.0.0.1:$(free_port)"
	cat >"${dir}/registry/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: ${dir}/registry/data
http:
  addr: ${OCI_ADDR}
  tls:
    certificate: ${dir}/ca/server.crt
    key: ${dir}/ca/server.key
EOF
	docker-registry serve "${dir}/registry/config.yml" >"${dir}/registry/log" 2>&1 &
	echo "$!" >"${dir}/registry/pid"
	on_exit sh -c "kill \$(cat '${dir}/registry/pid') 2>/dev/null"
	for _ in $(seq 100); do
		curl -sf --cacert "${dir}/ca/ca.crt" "https://${OCI_ADDR}/v2/" >/dev/null && break
		sleep 0.05
	done

	curl -sf --cacert "${dir}/ca/ca.crt" "https://${OCI_ADDR}/v2/" >/dev/null || fail "the registry did not start"
	export SSL_CERT_FILE="${dir}/ca/ca.crt"
}

# oci_registry_stop DIR: stops the registry of DIR and waits until its port is closed.
oci_registry_stop() {
	local pid
	pid=$(cat "$1/registry/pid")
	kill "${pid}"
	while kill -0 "${pid}" 2>/dev/null; do sleep 0.05; done
}

# oci_push DIR LAYOUT TAG REPO:TAG: pushes the image (or index) TAG of the OCI layout to the registry of DIR.
oci_push() {
	skopeo copy --quiet --insecure-policy --all --dest-cert-dir "$1/certs" "oci:$2:$3" "docker://${OCI_ADDR}/$4"
}

# oci_busybox_layer DIR: a layer directory with a static busybox, its shell links and a passwd file.
oci_busybox_layer() {
	local l=$1
	mkdir -p "${l}/bin" "${l}/etc" "${l}/root" "${l}/tmp"
	chmod 1777 "${l}/tmp"
	cp /bin/busybox "${l}/bin/busybox"
	for a in sh ls cat env id pwd sleep echo find sort ps kill readlink true; do
		ln -s busybox "${l}/bin/${a}"
	done

	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/srv:/bin/sh\n' >"${l}/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\n' >"${l}/etc/group"
}

# oci_umoci_image LAYOUT TAG CONTENT CONFIG_ARGS...: builds with umoci, in the OCI layout LAYOUT (made if needed), the
# image TAG of one layer holding the files of the directory CONTENT, its configuration set by the arguments of
# umoci config (--config.entrypoint, --config.env, ...).
oci_umoci_image() {
	local layout=$1 tag=$2 content=$3 bundle="${TEST_TMP}/umoci-bundle"
	shift 3
	[ -d "${layout}" ] || umoci init --layout "${layout}"
	umoci new --image "${layout}:${tag}"
	umoci unpack --image "${layout}:${tag}" "${bundle}" >/dev/null
	cp -a "${content}/." "${bundle}/rootfs/"
	umoci repack --image "${layout}:${tag}" "${bundle}"
	umoci config --image "${layout}:${tag}" --architecture "$(oci_host_arch)" --os linux "$@"
	rm -rf "${bundle}"
}

# oci_host_arch prints the host architecture as OCI names it, and oci_other_arch another one.
oci_host_arch() {
	dpkg --print-architecture
}

oci_other_arch() {
	if [ "$(oci_host_arch)" = arm64 ]; then echo amd64; else echo arm64; fi
}

# oci_blobs D: the number of blobs in the OCI blob store of the daemon of D.
oci_blobs() {
	find "$1/oci/blobs/sha256" -type f 2>/dev/null | wc -l
}

test_oci_app() {
	local d="${TEST_TMP}/d" t="${TEST_TMP}/oci" fp count
	oci_registry "${t}"
	oci_busybox_layer "${t}/l1"
	mkdir -p "${t}/l1/srv/app"
	# The command traps the stop signal (SIGUSR1 here) and writes down that it got it.
	oci_umoci_image "${t}/layout" app "${t}/l1" --config.entrypoint /bin/sh --config.entrypoint -c \
		--config.cmd 'trap "echo stopped >/tmp/signal; exit 0" USR1; while true; do sleep 0.1; done' \
		--config.env PATH=/bin --config.env "GREETING=hello world" --config.workingdir /srv/app \
		--config.user 1000:1000 --config.stopsignal SIGUSR1
	oci_push "${t}" "${t}/layout" app "tools/app:1.0"
	spawn_lxd "${d}"
	traversable_parents "${d}"

	lxc_in "${d}" remote add reg "https://${OCI_ADDR}" --protocol=oci
	assert_contains "$(lxc_in "${d}" remote list)" "| reg "
	info=$(lxc_in "${d}" image info reg:tools/app:1.0)
	assert_contains "${info}" "description: tools/app (OCI)"
	assert_contains "${info}" "id: tools/app:1.0"
	assert_contains "${info}" "type: oci"

	lxc_in "${d}" launch reg:tools/app:1.0 c1 -c environment.EXTRA=mine -c environment.GREETING=overridden
	fp=$(local_curl "${d}" /1.0/images | jq -r '.metadata[0]' | sed 's#.*/##')
	img=$(local_curl "${d}" "/1.0/images/${fp}" | jq -c .metadata)
	assert_eq "$(jq -r .properties.type <<<"${img}")" oci "image type"
	assert_eq "$(jq -r .properties.description <<<"${img}")" "tools/app (OCI)" "image description"
	assert_eq "$(jq -r .update_source.protocol <<<"${img}")" oci "source protocol"
	assert_eq "$(jq -r .update_source.alias <<<"${img}")" "tools/app:1.0" "source alias"
	assert_eq "$(jq -r .cached <<<"${img}")" true "cached"

	config=$(local_curl "${d}" /1.0/instances/c1 | jq -c .metadata.config)
	assert_eq "$(jq -r '.["oci.cwd"]' <<<"${config}")" /srv/app "oci.cwd"
	assert_eq "$(jq -r '.["oci.uid"]' <<<"${config}")" 1000 "oci.uid"
	assert_eq "$(jq -r '.["environment.GREETING"]' <<<"${config}")" overridden "user value wins"
	assert_contains "$(jq -r '.["oci.entrypoint"]' <<<"${config}")" "/bin/sh -c"

	# The command runs as the image's user in its directory, under liblxc's init, which is PID 1.
	for _ in $(seq 100); do
		lxc_in "${d}" exec c1 -- ps -o pid,user,args | grep -q 'while true' && break
		sleep 0.05
	done

	ps=$(lxc_in "${d}" exec c1 -- ps -o pid,user,args)
	assert_contains "${ps}" "{lxd} init"
	pid=$(grep 'while true' <<<"${ps}" | grep -v ' ps ' | awk '{print $1}' | head -1)
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /proc/1/status | awk '/^Uid:/ {print $2}')" 1000 "user of init"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat "/proc/${pid}/status" | awk '/^Gid:/ {print $2}')" 1000 "group of the command"
	assert_eq "$(lxc_in "${d}" exec c1 -- readlink "/proc/${pid}/cwd")" /srv/app "working directory"

	# lxc exec runs as root in /root with the image's environment.
	assert_eq "$(lxc_in "${d}" exec c1 -- pwd)" /root "exec directory"
	assert_eq "$(lxc_in "${d}" exec c1 -- id -u)" 0 "exec user"
	env=$(lxc_in "${d}" exec c1 -- env)
	assert_contains "${env}" "EXTRA=mine"
	assert_contains "${env}" "PATH=/bin"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/hostname)" c1 "hostname file"
	assert_contains "$(lxc_in "${d}" exec c1 -- cat /etc/hosts)" "127.0.1.1	c1"

	# An orphan is reaped by the container's init.
	lxc_in "${d}" exec c1 -- sh -c '(sleep 0.2 &); true'
	for _ in $(seq 100); do
		zombies=$(lxc_in "${d}" exec c1 -- ps -o stat,args | awk '$1 ~ /^Z/' | wc -l)
		running=$(lxc_in "${d}" exec c1 -- ps -o args | grep -c '^sleep 0.2' || true)
		[ "${zombies}" = 0 ] && [ "${running}" = 0 ] && break
		sleep 0.05
	done

	assert_eq "${zombies}:${running}" "0:0" "zombies and orphans left"

	# lxc stop sends the image's stop signal, which the command handles.
	lxc_in "${d}" stop c1
	assert_eq "$(lxc_in "${d}" file pull c1/tmp/signal -)" stopped "stop signal received"

	# Published, the container is an image of its own, still an OCI image, whose containers run the same command.
	lxc_in "${d}" publish c1 --alias pub >/dev/null
	assert_contains "$(lxc_in "${d}" image info pub)" "type: oci"
	lxc_in "${d}" init pub c6 -c environment.EXTRA=again >/dev/null
	config=$(local_curl "${d}" /1.0/instances/c6 | jq -c .metadata.config)
	assert_eq "$(jq -r '.["oci.cwd"]' <<<"${config}")" /srv/app "oci.cwd of a published image's container"
	assert_contains "$(jq -r '.["oci.entrypoint"]' <<<"${config}")" "/bin/sh -c"
	lxc_in "${d}" start c6
	for _ in $(seq 100); do
		lxc_in "${d}" exec c6 -- ps -o args | grep -q 'while true' && break
		sleep 0.05
	done

	assert_contains "$(lxc_in "${d}" exec c6 -- ps -o args)" "while true"
	lxc_in "${d}" delete -f c6
	lxc_in "${d}" image delete pub

	# A second launch of the same tag stores nothing new; with the registry gone, it comes from the cache.
	count=$(oci_blobs "${d}")
	assert_eq "${count}" 1 "blobs"
	lxc_in "${d}" launch reg:tools/app:1.0 c2
	assert_eq "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" 1 "images after a second launch"
	oci_registry_stop "${t}"
	lxc_in "${d}" launch reg:tools/app:1.0 c3
	assert_eq "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" 1 "images after an offline launch"
	assert_eq "$(oci_blobs "${d}")" 1 "blobs after an offline launch"
	lxc_in "${d}" delete -f c1 c2 c3

	# Exported, its files are checked against the hash the daemon gives for them, since the fingerprint is of the
	# layers; the stock client, which knows only the fingerprint, refuses them. Imported into another daemon, they
	# are an image of their own fingerprint, still an OCI image, whose containers run the image's command.
	local exp="${TEST_TMP}/exported" d2="${TEST_TMP}/d2" hash addr
	mkdir -p "${exp}"
	lxc_in "${d}" image export "${fp}" "${exp}/" >/dev/null
	hash=$(cat "${exp}/meta-${fp}".* "${exp}/${fp}".* | sha256sum | cut -d' ' -f1)
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}/export" -o /dev/null -D - | tr -d '\r' |
		awk -F': ' 'tolower($1) == "x-lxd-content-sha256" {print $2}')" "${hash}" "the hash of the exported files"
	mkdir -p "${TEST_TMP}/stock-exp"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc image export "${fp}" "${TEST_TMP}/stock-exp/"
	assert_contains "${FAIL_OUTPUT}" "fingerprint doesn't match"
	spawn_lxd "${d2}"
	traversable_parents "${d2}"
	lxc_in "${d2}" image import "${exp}/meta-${fp}".* "${exp}/${fp}".* --alias again >/dev/null
	assert_eq "$(lxc_in "${d2}" image info again | awk '/^Fingerprint:/ {print $2}')" "${hash}" "fingerprint of the imported files"
	assert_contains "$(lxc_in "${d2}" image info again)" "type: oci"
	lxc_in "${d2}" init again c4 >/dev/null
	assert_eq "$(local_curl "${d2}" /1.0/instances/c4 | jq -r '.metadata.config["oci.cwd"]')" /srv/app "oci.cwd of an imported export"
	lxc_in "${d2}" delete c4

	# The image as an OCI image layout, its layers with it, which skopeo reads.
	local_curl "${d}" "/1.0/images/${fp}/export?format=oci" -o "${TEST_TMP}/layout.tar"
	assert_eq "$(skopeo inspect "oci-archive:${TEST_TMP}/layout.tar" | jq -r '.Layers | length')" 1 "layers of the layout"
	assert_fails lxc_in "${d2}" query "/1.0/images/$(lxc_in "${d2}" image info again | awk '/^Fingerprint:/ {print $2}')/export?format=oci"
	assert_contains "${FAIL_OUTPUT}" "has no OCI blobs here"

	# Another daemon copies the original from this one as such a layout: each blob checked, the fingerprint
	# recomputed from the layers, the same image as a pull from the registry would make.
	local_curl "${d}" "/1.0/images/${fp}" -X PATCH -d '{"public": true}' >/dev/null
	addr=$(enable_https "${d}")
	lxc_in "${d2}" remote add src "https://${addr}" --public --accept-certificate >/dev/null
	lxc_in "${d2}" image copy "src:${fp}" local: --alias copied >/dev/null
	assert_eq "$(lxc_in "${d2}" image info copied | awk '/^Fingerprint:/ {print $2}')" "${fp}" "fingerprint of the copy"
	assert_contains "$(lxc_in "${d2}" image info copied)" "description: tools/app (OCI)"
	assert_eq "$(oci_blobs "${d2}")" 1 "blobs of the copy"
	lxc_in "${d2}" init copied c5 >/dev/null
	assert_eq "$(local_curl "${d2}" /1.0/instances/c5 | jq -r '.metadata.config["oci.cwd"]')" /srv/app "oci.cwd of a copy"
	lxc_in "${d2}" delete c5
	lxc_in "${d2}" image delete copied
	assert_eq "$(oci_blobs "${d2}")" 0 "blobs after the copy's deletion"

	# The stock client asks for the same copy, which the daemon makes the same way.
	LXD_DIR="${d2}" stock_lxc "${d2}.stock" remote add src "https://${addr}" --public --accept-certificate >/dev/null
	LXD_DIR="${d2}" stock_lxc "${d2}.stock" image copy "src:${fp}" local: --alias copied >/dev/null
	assert_eq "$(lxc_in "${d2}" image info copied | awk '/^Fingerprint:/ {print $2}')" "${fp}" "fingerprint of the stock client's copy"
	assert_eq "$(oci_blobs "${d2}")" 1 "blobs of the stock client's copy"
	shutdown_lxd "${d2}"

	# The blobs go with the last image needing them.
	lxc_in "${d}" image delete "${fp}"
	assert_eq "$(oci_blobs "${d}")" 0 "blobs after the image's deletion"
}

test_oci_layers() {
	local d="${TEST_TMP}/d" t="${TEST_TMP}/oci" fp want tree
	oci_registry "${t}"
	oci_busybox_layer "${t}/base"
	mkdir -p "${t}/base/data/keep" "${t}/base/data/gone-dir/sub" "${t}/base/data/opaque/old"
	echo k >"${t}/base/data/keep/file"
	echo g >"${t}/base/data/gone-file"
	echo x >"${t}/base/data/gone-dir/sub/x"
	echo o >"${t}/base/data/opaque/old/o"
	echo o >"${t}/base/data/opaque/top"
	mkdir -p "${t}/top/data/opaque"
	: >"${t}/top/data/.wh.gone-file"
	: >"${t}/top/data/.wh.gone-dir"
	: >"${t}/top/data/opaque/.wh..wh..opq"
	echo n >"${t}/top/data/opaque/new"
	echo a >"${t}/top/data/added"
	python3 "${TEST_DIR}/deps/oci-layout.py" "${t}/layout" two "$(oci_host_arch)" '{"Cmd":["/bin/sleep","1000"],"User":"app"}' "${t}/base" "${t}/top"
	oci_push "${t}" "${t}/layout" two "layers:two"

	# A manifest list: the host's architecture is picked.
	mkdir -p "${t}/host/marker" "${t}/other/marker"
	echo host >"${t}/host/marker/arch"
	echo other >"${t}/other/marker/arch"
	python3 "${TEST_DIR}/deps/oci-layout.py" "${t}/list" multi --list "$(oci_other_arch)=${t}/other" "$(oci_host_arch)=${t}/host"
	oci_push "${t}" "${t}/list" multi "layers:multi"

	spawn_lxd "${d}"
	traversable_parents "${d}"
	lxc_in "${d}" remote add reg "https://${OCI_ADDR}" --protocol=oci
	lxc_in "${d}" image copy reg:layers:two local: --alias two
	lxc_in "${d}" launch two c1
	tree=$(lxc_in "${d}" exec c1 -- find /data | sort | tr '\n' ' ')
	assert_eq "${tree}" "/data /data/added /data/keep /data/keep/file /data/opaque /data/opaque/new " "tree after whiteouts"
	assert_eq "$(lxc_in "${d}" image list -c d --format csv)" "layers (OCI)" "image list"

	# The image's user is a name, resolved in its /etc/passwd.
	assert_eq "$(lxc_in "${d}" config get c1 oci.uid):$(lxc_in "${d}" config get c1 oci.gid)" "1000:1000" "the image's user"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /proc/1/status | awk '/^Uid:/ {print $2}')" 1000 "user of init"

	# The image of the list is the host's: its fingerprint is sha256 of its one layer's digest.
	manifest=$(jq -r --arg a "$(oci_host_arch)" '.manifests[] | select(.platform.architecture == $a) | .digest' \
		"${t}/list/blobs/sha256/$(jq -r '.manifests[0].digest' "${t}/list/index.json" | cut -d: -f2)")
	layer=$(jq -r '.layers[0].digest' "${t}/list/blobs/sha256/${manifest#sha256:}")
	want=$(printf '%s' "${layer}" | sha256sum | cut -d' ' -f1)
	info=$(lxc_in "${d}" image info reg:layers:multi)
	assert_contains "${info}" "Fingerprint: ${want}"
	lxc_in "${d}" image copy reg:layers:multi local:
	fp=$(local_curl "${d}" "/1.0/images/${want}" | jq -r .metadata.fingerprint)
	assert_eq "${fp}" "${want}" "the host's image stored"
	lxc_in "${d}" delete -f c1
}

test_oci_tampered() {
	local d="${TEST_TMP}/d" t="${TEST_TMP}/oci" blob
	oci_registry "${t}"
	mkdir -p "${t}/l1"
	head -c 65536 /dev/urandom >"${t}/l1/random"
	python3 "${TEST_DIR}/deps/oci-layout.py" "${t}/layout" bad "$(oci_host_arch)" '{"Cmd":["/random"]}' "${t}/l1"
	oci_push "${t}" "${t}/layout" bad "tampered:1"

	# The layer blob in the registry's storage gets one byte changed, its size kept.
	layer=$(jq -r '.layers[0].digest' "${t}/layout/blobs/sha256/$(jq -r '.manifests[0].digest' "${t}/layout/index.json" | cut -d: -f2)")
	blob=$(find "${t}/registry/data" -path "*/blobs/sha256/*/${layer#sha256:}/data")
	[ -f "${blob}" ] || fail "layer blob not found in the registry storage"
	printf 'X' | dd of="${blob}" bs=1 seek=100 conv=notrunc status=none

	spawn_lxd "${d}"
	traversable_parents "${d}"
	lxc_in "${d}" remote add reg "https://${OCI_ADDR}" --protocol=oci
	assert_fails lxc_in "${d}" image copy reg:tampered:1 local:
	assert_fails lxc_in "${d}" init reg:tampered:1 c1
	assert_eq "$(local_curl "${d}" /1.0/images | jq -r '.metadata | length')" 0 "images stored"
	assert_eq "$(oci_blobs "${d}")" 0 "blobs stored"
	assert_eq "$(find "${d}/images" -type f | wc -l)" 0 "image files stored"
	assert_eq "$(find "${d}/oci/images" -type f | wc -l)" 0 "blob records kept"
}

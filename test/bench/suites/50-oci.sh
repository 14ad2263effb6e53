# OCI images: the pull and launch of a 2-layer image (test/deps/oci-bench-image.sh) from a docker-registry with TLS
# on the loopback of our daemon's namespace, against the steps Incus takes before it creates a container from such
# an image (skopeo copy to an OCI layout, then umoci unpack), run as root in the same namespace. The stock LXD
# 5.0.2 cannot run OCI images: the second column is Incus's path, not the stock daemon. Every run starts cold: our
# container, image and blobs are deleted after each launch, and skopeo gets a fresh layout and bundle each time.
# shellcheck shell=bash

OCI_PORT=5000
OCI_IMAGE=bench/fifty:1

# oci_ns CMD...: runs CMD in our daemon's namespace.
oci_ns() {
	ip netns exec "${NETNS_OURS}" "$@"
}

# lxco ARGS...: our client, in our daemon's namespace (it reads the registry too), trusting the registry's CA.
lxco() {
	oci_ns env SSL_CERT_FILE="${WORK}/oci-ca/ca.crt" LXD_DIR="${WORK}/ours" LXD_CONF="${WORK}/conf-oci" \
		"${MAIN}/bin/lxc" "$@"
}

# oci_registry_start DIR LAYOUT: serves the image of LAYOUT from a registry on 127.0.0.1:OCI_PORT of our
# namespace, with storage under DIR.
oci_registry_start() {
	local dir=$1 layout=$2
	mkdir -p "${dir}/certs"
	cp "${WORK}/oci-ca/ca.crt" "${dir}/certs/ca.crt"
	cat >"${dir}/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: ${dir}/data
http:
  addr: 127.0.0.1:${OCI_PORT}
  tls:
    certificate: ${WORK}/oci-ca/server.crt
    key: ${WORK}/oci-ca/server.key
EOF
	# Not through oci_ns: $! must be the registry's own process (ip netns exec execs it).
	ip netns exec "${NETNS_OURS}" docker-registry serve "${dir}/config.yml" >"${dir}/log" 2>&1 &
	OCI_REGISTRY_PID=$!
	trap 'kill "${OCI_REGISTRY_PID}" 2>/dev/null || true; cleanup' EXIT
	for _ in $(seq 100); do
		oci_ns curl -sf --cacert "${dir}/certs/ca.crt" "https://127.0.0.1:${OCI_PORT}/v2/" >/dev/null && break
		sleep 0.05
	done

	oci_ns curl -sf --cacert "${dir}/certs/ca.crt" "https://127.0.0.1:${OCI_PORT}/v2/" >/dev/null ||
		{ echo "the registry did not start" >&2; exit 1; }
	oci_ns skopeo copy --quiet --insecure-policy --dest-cert-dir "${dir}/certs" "oci:${layout}:1" \
		"docker://127.0.0.1:${OCI_PORT}/${OCI_IMAGE}"
}

# oci_blob_count: the number of blobs in our daemon's OCI blob store.
oci_blob_count() {
	find "${WORK}/ours/oci/blobs/sha256" -type f 2>/dev/null | wc -l
}

# oci_ours_once FP I: seconds of `lxc launch reg:IMAGE bench-ociI` from an empty store to the container running;
# the container and the image (FP) are deleted afterwards, and with the image its blobs.
oci_ours_once() {
	local fp=$1 i=$2 t0 t1
	[ "$(oci_blob_count)" -eq 0 ] || { echo "OCI blobs left in our store before a run" >&2; exit 1; }
	t0=$(now)
	lxco launch "reg:${OCI_IMAGE}" "bench-oci${i}" >"${WORK}/oci/launch.log" 2>&1 ||
		{ cat "${WORK}/oci/launch.log" >&2; echo "OCI launch failed on ours" >&2; exit 1; }
	t1=$(now)
	[ "$(lxco list "bench-oci${i}" -c s --format csv)" = RUNNING ] || { echo "bench-oci${i} is not running" >&2; exit 1; }
	echo "${t1} - ${t0}" | bc -l
	remove_instance ours "bench-oci${i}"
	lxco image delete "${fp}" || exit 1
}

# oci_incus_once DIR: seconds of `skopeo copy` of the image to a fresh OCI layout and `umoci unpack` of it to a
# fresh bundle, as Incus does before it creates a container from an OCI image.
oci_incus_once() {
	local dir=$1 t0 t1
	rm -rf "${dir}/layout" "${dir}/bundle"
	t0=$(now)
	oci_ns skopeo copy --quiet --insecure-policy --src-cert-dir "${dir}/certs" \
		"docker://127.0.0.1:${OCI_PORT}/${OCI_IMAGE}" "oci:${dir}/layout:1"
	oci_ns umoci unpack --image "${dir}/layout:1" "${dir}/bundle" >/dev/null
	t1=$(now)
	[ -x "${dir}/bundle/rootfs/bin/busybox" ] || { echo "umoci unpacked no rootfs" >&2; exit 1; }
	echo "${t1} - ${t0}" | bc -l
	rm -rf "${dir}/layout" "${dir}/bundle"
}

bench_oci() {
	local image dir size blobs manifest fp ours incus
	image=$(test/deps/oci-bench-image.sh)
	size=$(cat "${image}/size-mb")
	blobs=$(cat "${image}/blobs-mb")
	dir="${WORK}/oci"
	oci_registry_start "${dir}/registry" "${image}/layout"
	mkdir -p "${WORK}/conf-oci"
	lxco remote add reg "https://127.0.0.1:${OCI_PORT}" --protocol=oci >"${dir}/remote.log" 2>&1 ||
		{ cat "${dir}/remote.log" >&2; exit 1; }

	# An OCI image's fingerprint is sha256 of its layers' digests, one after the other.
	manifest=$(jq -r '.manifests[0].digest' "${image}/layout/index.json")
	fp=$(jq -j '.layers[].digest' "${image}/layout/blobs/sha256/${manifest#sha256:}" | sha256sum | cut -d' ' -f1)
	mkdir -p "${dir}/incus"
	cp -r "${dir}/registry/certs" "${dir}/incus/certs"

	# One untimed run of each first; then the runs of both alternate, so that both see the machine alike.
	local i
	oci_ours_once "${fp}" warm >/dev/null
	oci_incus_once "${dir}/incus" >/dev/null
	for i in $(seq "${RUNS}"); do
		oci_ours_once "${fp}" "${i}" >>"${dir}/ours.times"
		oci_incus_once "${dir}/incus" >>"${dir}/incus.times"
	done

	ours=$(median <"${dir}/ours.times")
	incus=$(median <"${dir}/incus.times")
	echo "oci runs (s): ours $(echo $(cat "${dir}/ours.times")); Incus's path $(echo $(cat "${dir}/incus.times"))"

	kill "${OCI_REGISTRY_PID}"
	wait "${OCI_REGISTRY_PID}" 2>/dev/null || true
	trap cleanup EXIT

	{
		echo "| measure | ours | Incus's path: skopeo copy + umoci unpack | ours / Incus's path |"
		echo "| --- | --- | --- | --- |"
		echo "| OCI: pull and launch a 2-layer ${size} MB image, ${blobs} MB of gzip blobs (s) | ${ours} | ${incus} | $(ratio "${ours}" "${incus}") |"
	} | emit oci
}

#!/usr/bin/env bash
# Benchmarks our daemon against the stock LXD 5.0.2 in one run, with the same inputs and the same client (curl and
# apibench over each daemon's unix socket), and writes the table to doc/benchmarks.md. Both daemons run in a network
# namespace of their own: nothing they do reaches beyond this machine. Medians of RUNS runs (default 3).
set -eu -o pipefail
cd "$(dirname "$0")/../.."
MAIN=$(pwd)
RUNS=${RUNS:-3}
LIST_SIZES=${LIST_SIZES:-"200 1000"}

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
make -s build
WORK=$(mktemp -d /var/tmp/lxd-bench.XXXXXX)
# Unprivileged containers need to traverse the daemons' directories.
chmod 711 "${WORK}"
go build -o "${WORK}/apibench" ./test/bench/apibench
# One namespace for each daemon: both make a bridge and a firewall table of the same names.
NETNS_OURS="lxdbench-ours-$$"
NETNS_STOCK="lxdbench-stock-$$"
for ns in "${NETNS_OURS}" "${NETNS_STOCK}"; do
	ip netns add "${ns}"
	ip netns exec "${ns}" ip link set lo up
done

cleanup() {
	LXD_DIR="${WORK}/ours" "${MAIN}/bin/lxd" shutdown --timeout 30 >/dev/null 2>&1 || true
	LXD_DIR="${WORK}/stock" /usr/bin/lxd shutdown --timeout 30 >/dev/null 2>&1 || true
	ip netns del "${NETNS_OURS}" 2>/dev/null || true
	ip netns del "${NETNS_STOCK}" 2>/dev/null || true
	rm -rf "${WORK}"
}
trap cleanup EXIT

mkdir -p "${WORK}/ours" "${WORK}/stock"
chmod 711 "${WORK}/ours" "${WORK}/stock"
LXD_DIR="${WORK}/ours" ip netns exec "${NETNS_OURS}" "${MAIN}/bin/lxd" --logfile "${WORK}/ours.log" &
OURS_PID=$!
LXD_DIR="${WORK}/stock" ip netns exec "${NETNS_STOCK}" /usr/bin/lxd --logfile "${WORK}/stock.log" >/dev/null 2>&1 &
STOCK_PID=$!
LXD_DIR="${WORK}/ours" "${MAIN}/bin/lxd" waitready --timeout 60
LXD_DIR="${WORK}/stock" /usr/bin/lxd waitready --timeout 60

socket() {
	echo "${WORK}/$1/unix.socket"
}

api() {
	local who=$1 path=$2
	shift 2
	curl -sS --unix-socket "$(socket "${who}")" "$@" "http://lxd${path}"
}

# wait_op WHO RESPONSE: waits for the operation of an async response and fails unless it succeeded.
wait_op() {
	local op status
	op=$(echo "$2" | jq -r .operation)
	[ -n "${op}" ] && [ "${op}" != "null" ] || { echo "no operation in: $2" >&2; return 1; }
	status=$(api "$1" "${op}/wait?timeout=600" | jq -r .metadata.status)
	[ "${status}" = "Success" ] || { echo "operation ${op} on $1 ended ${status}" >&2; return 1; }
}

now() {
	date +%s.%N
}

median() {
	sort -g | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]}'
}

# import_once WHO FILE [ROOTFS]: imports an image and prints the seconds from the first byte sent to the end of the
# operation; the image is deleted afterwards.
import_once() {
	local who=$1 t0 t1 resp fp
	# The fingerprint is computed before the clock starts: it is not part of the import.
	if [ "$#" -eq 2 ]; then
		fp=$(sha256sum "$2" | cut -d' ' -f1)
	else
		fp=$(cat "$2" "$3" | sha256sum | cut -d' ' -f1)
	fi

	t0=$(now)
	if [ "$#" -eq 2 ]; then
		# -T streams the file, where --data-binary would first read it all into curl's memory.
		resp=$(api "${who}" /1.0/images -X POST -H 'Content-Type: application/octet-stream' -H 'Expect:' -T "$2")
	else
		resp=$(api "${who}" /1.0/images -X POST -F "metadata=@$2" -F "rootfs=@$3")
	fi

	wait_op "${who}" "${resp}"
	t1=$(now)
	echo "${t1} - ${t0}" | bc -l
	wait_op "${who}" "$(api "${who}" "/1.0/images/${fp}" -X DELETE)"
}

time_import() {
	local who=$1
	shift
	for _ in $(seq "${RUNS}"); do
		import_once "${who}" "$@"
	done | median
}

time_export() {
	local who=$1 fp=$2 t0 t1
	for _ in $(seq "${RUNS}"); do
		t0=$(now)
		api "${who}" "/1.0/images/${fp}/export" -o /dev/null
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
	done | median
}

time_sha256() {
	local t0 t1
	for _ in $(seq "${RUNS}"); do
		t0=$(now)
		sha256sum "$@" >/dev/null
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
	done | median
}

# lxcw WHO ARGS...: the stock client, the same for both daemons.
lxcw() {
	local who=$1
	shift
	LXD_DIR="${WORK}/${who}" LXD_CONF="${WORK}/conf" /usr/bin/lxc "$@"
}

# remove_instance WHO NAME: deletes an instance, retrying while the daemon is still busy with it (the stock daemon
# refuses a delete while the stop it started is running).
remove_instance() {
	local who=$1 name=$2
	for _ in $(seq 100); do
		lxcw "${who}" delete -f "${name}" >/dev/null 2>&1 || true
		lxcw "${who}" info "${name}" >/dev/null 2>&1 || return 0
		sleep 0.2
	done

	echo "could not delete ${name} on ${who}" >&2
	return 1
}

# time_launch WHO IMAGE [ARGS...]: seconds of `lxc launch` (create and start) from an image already in the store,
# with ARGS given to lxc launch. One launch first, untimed, as a warm-up; every container is deleted after its
# launch. A failed launch stops the run.
time_launch() {
	local who=$1 image=$2 t0 t1 i
	shift 2
	lxcw "${who}" launch "${image}" bench-warm "$@" >/dev/null || { echo "launch failed on ${who}" >&2; exit 1; }
	remove_instance "${who}" bench-warm
	for i in $(seq "${RUNS}"); do
		t0=$(now)
		lxcw "${who}" launch "${image}" "bench-c${i}" "$@" >/dev/null || { echo "launch failed on ${who}" >&2; exit 1; }
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
		remove_instance "${who}" "bench-c${i}"
	done | median
}

# time_copy WHO SOURCE POOL: seconds of `lxc copy` of the stopped container SOURCE within POOL, each copy deleted.
time_copy() {
	local who=$1 src=$2 pool=$3 t0 t1 i
	for i in $(seq "${RUNS}"); do
		t0=$(now)
		lxcw "${who}" copy "${src}" "bench-cp${i}" -s "${pool}" >/dev/null || { echo "copy failed on ${who}" >&2; exit 1; }
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
		remove_instance "${who}" "bench-cp${i}"
	done | median
}

# time_snapshot WHO NAME: seconds of `lxc snapshot` of the stopped container NAME; the snapshots are kept until the
# container is deleted.
time_snapshot() {
	local who=$1 name=$2 t0 t1 i
	for i in $(seq "${RUNS}"); do
		t0=$(now)
		lxcw "${who}" snapshot "${name}" "s${i}" >/dev/null || { echo "snapshot failed on ${who}" >&2; exit 1; }
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
	done | median
}

# concurrent_launch WHO N: launches N busybox containers at once; prints the seconds until all have returned and
# the number of failed launches.
concurrent_launch() {
	local who=$1 n=$2 t0 t1 failed=0 pids=()
	t0=$(now)
	for i in $(seq "${n}"); do
		lxcw "${who}" launch bench-busybox "bench-p${i}" >"${WORK}/launch-${who}-${i}.log" 2>&1 &
		pids+=("$!")
	done

	for pid in "${pids[@]}"; do
		wait "${pid}" || failed=$((failed + 1))
	done

	t1=$(now)
	for i in $(seq "${n}"); do
		remove_instance "${who}" "bench-p${i}"
	done

	printf "%.3f %d\n" "$(echo "${t1} - ${t0}" | bc -l)" "${failed}"
}

# time_lease WHO: seconds from `lxc launch` of a busybox container with a nic on the managed bridge benchbr until
# its first DHCP lease (busybox's udhcpc, started by exec as soon as the launch returns, exits once leased).
# Medians of RUNS runs, after an untimed warm-up; every container is deleted after its run.
time_lease() {
	local who=$1 t0 t1 i
	for i in warm $(seq "${RUNS}"); do
		t0=$(now)
		lxcw "${who}" launch bench-busybox "bench-l${i}" -n benchbr >/dev/null || { echo "launch failed on ${who}" >&2; exit 1; }
		lxcw "${who}" exec "bench-l${i}" -- udhcpc -i eth0 -n -q -t 30 -T 1 -s /bin/true >/dev/null 2>&1 ||
			{ echo "no lease on ${who}" >&2; exit 1; }
		t1=$(now)
		[ "${i}" = warm ] || echo "${t1} - ${t0}" | bc -l
		remove_instance "${who}" "bench-l${i}"
	done | median
}

rss_mib() {
	awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"
}

ratio() {
	printf "%.3f" "$(echo "$1 / $2" | bc -l)"
}

# Idle memory, before any work.
sleep 5
rss_ours=$(rss_mib "${OURS_PID}")
rss_stock=$(rss_mib "${STOCK_PID}")

debian=$(test/deps/debian-image.sh)
unified="${debian}/unified.tar.gz"
meta="${debian}/meta.tar.xz"
rootfs="${debian}/rootfs.tar.gz"
size_mb=$(du -m "${unified}" | cut -f1)

plain="${WORK}/unified.tar"
gzip -dc "${unified}" >"${plain}"
plain_mb=$(du -m "${plain}" | cut -f1)

floor_u=$(time_sha256 "${unified}")
floor_p=$(time_sha256 "${plain}")
floor_s=$(time_sha256 "${meta}" "${rootfs}")
imp_u_ours=$(time_import ours "${unified}")
imp_u_stock=$(time_import stock "${unified}")
imp_p_ours=$(time_import ours "${plain}")
imp_p_stock=$(time_import stock "${plain}")
imp_s_ours=$(time_import ours "${meta}" "${rootfs}")
imp_s_stock=$(time_import stock "${meta}" "${rootfs}")

# Export: the image stays for this one.
fp=$(sha256sum "${unified}" | cut -d' ' -f1)
for who in ours stock; do
	wait_op "${who}" "$(api "${who}" /1.0/images -X POST -H 'Content-Type: application/octet-stream' --data-binary "@${unified}")"
done

exp_ours=$(time_export ours "${fp}")
exp_stock=$(time_export stock "${fp}")

# Launches. Both daemons start without a pool: each gets a dir pool and a root disk in its default profile.
mkdir -p "${WORK}/conf"
for who in ours stock; do
	lxcw "${who}" storage create default dir >/dev/null
	lxcw "${who}" profile device add default root disk path=/ pool=default >/dev/null
done
busybox=$(test/deps/busybox-image.sh)
for who in ours stock; do
	lxcw "${who}" image import "${busybox}/unified.tar.xz" --alias bench-busybox >/dev/null
	lxcw "${who}" image alias create bench-debian "${fp}" >/dev/null
done

launch_b_ours=$(time_launch ours bench-busybox)
launch_b_stock=$(time_launch stock bench-busybox)
launch_d_ours=$(time_launch ours bench-debian)
launch_d_stock=$(time_launch stock bench-debian)
read -r conc_ours conc_fail_ours < <(concurrent_launch ours 20)
read -r conc_stock conc_fail_stock < <(concurrent_launch stock 20)

# The same driver for both: a btrfs pool on a loop file of each daemon. A launch from the cached busybox image; a
# copy and a snapshot of a stopped Debian container.
for who in ours stock; do
	lxcw "${who}" storage create bench-btrfs btrfs size=8GiB >/dev/null
	lxcw "${who}" init bench-debian bench-src -s bench-btrfs >/dev/null
done

btrfs_launch_ours=$(time_launch ours bench-busybox -s bench-btrfs)
btrfs_launch_stock=$(time_launch stock bench-busybox -s bench-btrfs)
btrfs_copy_ours=$(time_copy ours bench-src bench-btrfs)
btrfs_copy_stock=$(time_copy stock bench-src bench-btrfs)
btrfs_snap_ours=$(time_snapshot ours bench-src)
btrfs_snap_stock=$(time_snapshot stock bench-src)
for who in ours stock; do
	remove_instance "${who}" bench-src
done

# Launch to the first DHCP lease on a managed bridge, each daemon in its own namespace.
for who in ours stock; do
	lxcw "${who}" network create benchbr ipv4.address=10.250.7.1/24 ipv4.nat=true ipv6.address=none >/dev/null
done

lease_ours=$(time_lease ours)
lease_stock=$(time_lease stock)

# Listing N images: tiny distinct images, then many GET /1.0/images?recursion=1 from 4 concurrent clients.
mkdir -p "${WORK}/tiny/rootfs"
list_rows=""
made=0
for n in ${LIST_SIZES}; do
	while [ "${made}" -lt "${n}" ]; do
		made=$((made + 1))
		printf 'architecture: x86_64\ncreation_date: %d\nproperties:\n  description: tiny %d\n' \
			"$((1700000000 + made))" "${made}" >"${WORK}/tiny/metadata.yaml"
		tar -C "${WORK}/tiny" -czf "${WORK}/tiny.tar.gz" metadata.yaml rootfs
		for who in ours stock; do
			wait_op "${who}" "$(api "${who}" /1.0/images -X POST --data-binary "@${WORK}/tiny.tar.gz")"
		done
	done

	read -r rps_ours p50_ours p99_ours err_ours < <("${WORK}/apibench" -socket "$(socket ours)" -path '/1.0/images?recursion=1' -n 200 -c 4)
	read -r rps_stock p50_stock p99_stock err_stock < <("${WORK}/apibench" -socket "$(socket stock)" -path '/1.0/images?recursion=1' -n 200 -c 4)
	# A failed request of ours stops the run; the stock daemon's (it times out under this load) are counted.
	[ "${err_ours}" = 0 ] || { echo "list requests failed: ${err_ours} ours" >&2; exit 1; }
	list_rows="${list_rows}| list ${n} images (requests/s, 4 clients; p99 ms) | ${rps_ours} (p99 ${p99_ours}) | ${rps_stock} (p99 ${p99_stock}, ${err_stock} failed of 200) | $(ratio "${rps_stock}" "${rps_ours}") (time per request) |
"
done

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem/ {print $2}') GiB, kernel $(uname -r)"
table="| measure | ours | stock LXD 5.0.2 | ours / stock |
| --- | --- | --- | --- |
| import unified ${size_mb} MB Debian image (s) | ${imp_u_ours} | ${imp_u_stock} | $(ratio "${imp_u_ours}" "${imp_u_stock}") |
| import split Debian image (s) | ${imp_s_ours} | ${imp_s_stock} | $(ratio "${imp_s_ours}" "${imp_s_stock}") |
| import the unified image uncompressed, ${plain_mb} MB (s) | ${imp_p_ours} | ${imp_p_stock} | $(ratio "${imp_p_ours}" "${imp_p_stock}") |
| export unified image (s) | ${exp_ours} | ${exp_stock} | $(ratio "${exp_ours}" "${exp_stock}") |
| launch from a cached busybox image (s) | ${launch_b_ours} | ${launch_b_stock} | $(ratio "${launch_b_ours}" "${launch_b_stock}") |
| launch from a cached Debian image (s) | ${launch_d_ours} | ${launch_d_stock} | $(ratio "${launch_d_ours}" "${launch_d_stock}") |
| 20 concurrent busybox launches (s; failed) | ${conc_ours} (${conc_fail_ours} failed) | ${conc_stock} (${conc_fail_stock} failed) | $(ratio "${conc_ours}" "${conc_stock}") |
| btrfs pool: launch from a cached busybox image (s) | ${btrfs_launch_ours} | ${btrfs_launch_stock} | $(ratio "${btrfs_launch_ours}" "${btrfs_launch_stock}") |
| btrfs pool: copy of a stopped Debian container (s) | ${btrfs_copy_ours} | ${btrfs_copy_stock} | $(ratio "${btrfs_copy_ours}" "${btrfs_copy_stock}") |
| btrfs pool: snapshot of a stopped Debian container (s) | ${btrfs_snap_ours} | ${btrfs_snap_stock} | $(ratio "${btrfs_snap_ours}" "${btrfs_snap_stock}") |
| busybox launch to its first DHCP lease on a managed bridge (s) | ${lease_ours} | ${lease_stock} | $(ratio "${lease_ours}" "${lease_stock}") |
${list_rows}| idle daemon RSS (MiB) | ${rss_ours} | ${rss_stock} | $(ratio "${rss_ours}" "${rss_stock}") |

| floor | seconds | our import / floor |
| --- | --- | --- |
| sha256sum of the unified image | ${floor_u} | $(ratio "${imp_u_ours}" "${floor_u}") |
| sha256sum of the split image's parts | ${floor_s} | $(ratio "${imp_s_ours}" "${floor_s}") |
| sha256sum of the uncompressed image | ${floor_p} | $(ratio "${imp_p_ours}" "${floor_p}") |"

echo "${table}"
{
	sed -n '1,/^<!-- results -->$/p' doc/benchmarks.md
	echo
	echo "Measured on $(date -u +%Y-%m-%d), ${machine}, median of ${RUNS} runs:"
	echo
	echo "${table}"
} >"${WORK}/benchmarks.md"
mv "${WORK}/benchmarks.md" doc/benchmarks.md

# Functions the benchmark suites share. Sourced by bench.sh, which sets MAIN, WORK and RUNS and starts both daemons
# (ours and stock, each with its LXD_DIR under ${WORK}/ours and ${WORK}/stock).
# shellcheck shell=bash

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

# ensure_debian WHO: the Debian image in WHO's store under the alias bench-debian (imported once, kept).
ensure_debian() {
	local who=$1
	api "${who}" /1.0/images/aliases/bench-debian | jq -e '.error_code != 404' >/dev/null && return 0
	wait_op "${who}" "$(api "${who}" /1.0/images -X POST -H 'Content-Type: application/octet-stream' -H 'Expect:' -T "${DEBIAN_UNIFIED}")"
	lxcw "${who}" image alias create bench-debian "${DEBIAN_FP}" >/dev/null
}

# row LABEL OURS STOCK: one table row with the ratio ours / stock.
row() {
	echo "| $1 | $2 | $3 | $(ratio "$2" "$3") |"
}

# table_head: the header of a table of rows.
table_head() {
	echo "| measure | ours | stock LXD 5.0.2 | ours / stock |"
	echo "| --- | --- | --- | --- |"
}

# emit NAME: stores standard input as the results of suite NAME; bench.sh puts it in doc/benchmarks.md between the
# suite's markers, under a line saying when and on what it was measured.
emit() {
	cat >"${WORK}/blocks/$1.md"
}

# Clustering: three members of ours on this machine, each daemon in a network namespace of its own, the namespaces
# joined by veth pairs to a bridge in a fourth (the addresses exist only inside them). Busybox launches, 4 at a time,
# placed by the scheduler over the three members against the same launches all on one member, and GET
# /1.0/instances/NAME through a member that does not hold the instance against the member that does. Ours only: the
# ratios compare the cluster with itself.
# shellcheck shell=bash

# CLUSTER_LAUNCHES is how many containers each launch measure starts.
CLUSTER_LAUNCHES=${CLUSTER_LAUNCHES:-12}

# cluster_lan: the bridge namespace and three member namespaces (clbench-{br,1,2,3}-PID); member i has
# 192.0.2.1<i>/24. The daemons and namespaces go at the end of the run (cleanup.sh).
cluster_lan() {
	local br="clbench-br-$$" i ns
	ip netns add "${br}"
	ip netns exec "${br}" ip link add br0 type bridge
	ip netns exec "${br}" ip link set br0 up
	for i in 1 2 3; do
		ns="clbench-${i}-$$"
		ip netns add "${ns}"
		ip netns exec "${ns}" ip link set lo up
		ip link add eth0 netns "${ns}" type veth peer name "m${i}" netns "${br}"
		ip netns exec "${br}" ip link set "m${i}" master br0 up
		ip netns exec "${ns}" ip addr add "192.0.2.1${i}/24" dev eth0
		ip netns exec "${ns}" ip link set eth0 up
		echo "LXD_DIR='${WORK}/cl${i}' '${MAIN}/bin/lxd' shutdown --timeout 30 >/dev/null 2>&1; ip netns del '${ns}'" >>"${WORK}/cleanup.sh"
	done

	echo "ip netns del '${br}'" >>"${WORK}/cleanup.sh"
}

# cluster_start: three daemons of ours, the first bootstrapping the cluster, the others joining with tokens.
cluster_start() {
	local i dir token
	for i in 1 2 3; do
		dir="${WORK}/cl${i}"
		mkdir -p "${dir}"
		chmod 711 "${dir}"
		LXD_DIR="${dir}" ip netns exec "clbench-${i}-$$" "${MAIN}/bin/lxd" --logfile "${WORK}/cl${i}.log" >/dev/null 2>&1 &
		LXD_DIR="${dir}" "${MAIN}/bin/lxd" waitready --timeout 60
		lxcw "cl${i}" storage create default dir >/dev/null
		lxcw "cl${i}" profile device add default root disk path=/ pool=default >/dev/null
		lxcw "cl${i}" config set core.https_address "192.0.2.1${i}:8443"
	done

	lxcw cl1 image import "${busybox}/unified.tar.xz" --alias bench-busybox >/dev/null
	lxcw cl1 cluster enable cl1 >/dev/null
	for i in 2 3; do
		token=$(lxcw cl1 cluster add "cl${i}" | tail -n1)
		printf 'cluster:\n  enabled: true\n  server_address: 192.0.2.1%s:8443\n  cluster_token: %s\n' "${i}" "${token}" |
			LXD_DIR="${WORK}/cl${i}" ip netns exec "clbench-${i}-$$" "${MAIN}/bin/lxd" init --preseed
	done
}

# cluster_launches ARGS...: seconds for CLUSTER_LAUNCHES busybox launches through the first member, 4 at a time,
# with ARGS given to lxc launch; the containers are deleted after.
cluster_launches() {
	local t0 t1 i
	t0=$(now)
	seq "${CLUSTER_LAUNCHES}" | xargs -P 4 -I{} env LXD_DIR="${WORK}/cl1" LXD_CONF="${WORK}/conf" \
		/usr/bin/lxc launch bench-busybox "bench-s{}" "$@" >/dev/null || { echo "cluster launches failed" >&2; exit 1; }
	t1=$(now)
	for i in $(seq "${CLUSTER_LAUNCHES}"); do
		remove_instance cl1 "bench-s${i}"
	done

	echo "${t1} - ${t0}" | bc -l
}

# cluster_medians FILE: the median of each column of FILE's rows (requests/s, p50, p99).
cluster_medians() {
	local col out=""
	for col in 1 2 3; do
		out="${out} $(awk -v c="${col}" '{print $c}' "$1" | median)"
	done

	echo "${out}"
}

bench_cluster() {
	local spread one i who rps p50 p99 err rps_fwd p50_fwd p99_fwd rps_direct p50_direct p99_direct
	cluster_lan
	cluster_start

	# Warm-up: the image reaches every member.
	for i in 1 2 3; do
		lxcw cl1 launch bench-busybox "bench-w${i}" --target "cl${i}" >/dev/null
		remove_instance cl1 "bench-w${i}"
	done

	spread=$(for i in $(seq "${RUNS}"); do cluster_launches; done | median)
	one=$(for i in $(seq "${RUNS}"); do cluster_launches --target cl1; done | median)

	# The two paths alternate, RUNS rounds of 400 requests each; the medians of the rounds are kept.
	lxcw cl1 launch bench-busybox bench-far --target cl3 >/dev/null
	for i in $(seq "${RUNS}"); do
		for who in cl3 cl1; do
			read -r rps p50 p99 err < <("${WORK}/apibench" -socket "$(socket "${who}")" -path /1.0/instances/bench-far -n 400 -c 4)
			[ "${err}" = 0 ] || { echo "instance requests through ${who} failed: ${err}" >&2; exit 1; }
			echo "${rps} ${p50} ${p99}" >>"${WORK}/cluster-${who}"
		done
	done

	read -r rps_direct p50_direct p99_direct < <(cluster_medians "${WORK}/cluster-cl3")
	read -r rps_fwd p50_fwd p99_fwd < <(cluster_medians "${WORK}/cluster-cl1")
	remove_instance cl1 bench-far

	{
		echo "| measure | value | ratio |"
		echo "| --- | --- | --- |"
		echo "| ${CLUSTER_LAUNCHES} busybox launches, 4 at a time, spread over 3 members by the scheduler (s) | ${spread} | $(ratio "${spread}" "${one}") of one member |"
		echo "| the same launches, all on one member (--target) (s) | ${one} | |"
		echo "| GET /1.0/instances/NAME through a member that does not hold it (p50 ms; p99; requests/s, 4 clients; median of rounds) | ${p50_fwd} (p99 ${p99_fwd}; ${rps_fwd}/s) | $(ratio "${p50_fwd}" "${p50_direct}") of direct |"
		echo "| the same through the member that holds it (p50 ms; p99; requests/s) | ${p50_direct} (p99 ${p99_direct}; ${rps_direct}/s) | |"
	} | emit cluster
}

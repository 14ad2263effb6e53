# Backups and migration: the export and import of a stopped Debian container, and the copy of a stopped container
# holding 200 MB of random data between two daemons of the same kind (a second one of each kind runs in the
# namespace of the first, both on its loopback, and the client runs there too).
# shellcheck shell=bash

# time_export_import WHO: seconds of `lxc export` of a stopped Debian container to a file and `lxc import` of that
# file as a new container, together; the imported container and the file are deleted after each run.
time_export_import() {
	local who=$1 t0 t1 i file="${WORK}/bench-export.tar.gz"
	lxcw "${who}" init bench-debian bench-ex >/dev/null
	for i in $(seq "${RUNS}"); do
		rm -f "${file}"
		t0=$(now)
		lxcw "${who}" export bench-ex "${file}" >/dev/null || { echo "export failed on ${who}" >&2; exit 1; }
		lxcw "${who}" import "${file}" "bench-im${i}" >/dev/null || { echo "import failed on ${who}" >&2; exit 1; }
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
		remove_instance "${who}" "bench-im${i}"
	done | median
	rm -f "${file}"
	remove_instance "${who}" bench-ex
}

# migration_netns WHO: the namespace of the daemons of kind WHO.
migration_netns() {
	if [ "$1" = ours ]; then echo "${NETNS_OURS}"; else echo "${NETNS_STOCK}"; fi
}

# mlxc WHO ARGS...: the stock client in the namespace of WHO's daemons, with the remotes src (the first daemon) and
# dst (the second).
mlxc() {
	local who=$1
	shift
	LXD_DIR="${WORK}/${who}" LXD_CONF="${WORK}/mconf-${who}" ip netns exec "$(migration_netns "${who}")" /usr/bin/lxc "$@"
}

# start_second WHO: starts a second daemon of kind WHO (${WORK}/WHO2) in the namespace of the first, gives it a dir
# pool, puts both on HTTPS on that namespace's loopback and makes them remotes src and dst of the client mlxc.
start_second() {
	local who=$1 dir="${WORK}/${1}2" bin=/usr/bin/lxd
	[ "${who}" = stock ] || bin="${MAIN}/bin/lxd"
	mkdir -p "${dir}"
	chmod 711 "${dir}"
	LXD_DIR="${dir}" ip netns exec "$(migration_netns "${who}")" "${bin}" --logfile "${WORK}/${who}2.log" >/dev/null 2>&1 &
	LXD_DIR="${dir}" "${bin}" waitready --timeout 60
	lxcw "${who}2" storage create default dir >/dev/null
	lxcw "${who}2" profile device add default root disk path=/ pool=default >/dev/null
	lxcw "${who}" config set core.https_address 127.0.0.1:18443
	lxcw "${who}2" config set core.https_address 127.0.0.1:18444
	lxcw "${who}" config set core.trust_password bench
	lxcw "${who}2" config set core.trust_password bench
	mlxc "${who}" remote add src https://127.0.0.1:18443 --accept-certificate --password bench >/dev/null
	mlxc "${who}" remote add dst https://127.0.0.1:18444 --accept-certificate --password bench >/dev/null
}

# stop_second WHO: stops the second daemon of kind WHO and takes the first off HTTPS.
stop_second() {
	local who=$1 bin=/usr/bin/lxd
	[ "${who}" = stock ] || bin="${MAIN}/bin/lxd"
	LXD_DIR="${WORK}/${who}2" "${bin}" shutdown --timeout 60 >/dev/null 2>&1 || true
	lxcw "${who}" config unset core.trust_password >/dev/null 2>&1 || true
	lxcw "${who}" config unset core.https_address >/dev/null 2>&1 || true
}

# time_remote_copy WHO: seconds of `lxc copy src:bench-big dst:bench-bigN` of the stopped container bench-big with
# its 200 MB file, each copy deleted after its run.
time_remote_copy() {
	local who=$1 t0 t1 i
	for i in $(seq "${RUNS}"); do
		t0=$(now)
		mlxc "${who}" copy src:bench-big "dst:bench-big${i}" >/dev/null || { echo "copy failed on ${who}" >&2; exit 1; }
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
		remove_instance "${who}2" "bench-big${i}"
	done | median
}

bench_migration() {
	local who ei_ours ei_stock cp_ours cp_stock
	for who in ours stock; do
		ensure_debian "${who}"
	done

	ei_ours=$(time_export_import ours)
	ei_stock=$(time_export_import stock)

	# The second daemons stop with the run, whatever its end.
	trap 'stop_second ours; stop_second stock; cleanup' EXIT
	head -c 200M /dev/urandom >"${WORK}/bench-200m"
	for who in ours stock; do
		start_second "${who}"
		lxcw "${who}" init bench-debian bench-big >/dev/null
		lxcw "${who}" file push "${WORK}/bench-200m" bench-big/root/big >/dev/null
	done

	rm -f "${WORK}/bench-200m"
	cp_ours=$(time_remote_copy ours)
	cp_stock=$(time_remote_copy stock)
	for who in ours stock; do
		remove_instance "${who}" bench-big
		stop_second "${who}"
	done

	trap cleanup EXIT
	{
		table_head
		row "export and import of a stopped Debian container (s)" "${ei_ours}" "${ei_stock}"
		row "copy of a 200 MB container between two daemons (s)" "${cp_ours}" "${cp_stock}"
	} | emit migration
}

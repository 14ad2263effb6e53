# Scale: each daemon grown to SCALE_SIZES running busybox containers (launched 4 at a time, each daemon by its own
# client), and at each size lxc list (medians of 5), GET /1.0/instances?recursion=2 (medians of 5) and the daemon's
# memory. The figures are also drawn in doc/bench-scale.svg (test/bench/chart). Every container is deleted at the end.
# shellcheck shell=bash

SCALE_SIZES=${SCALE_SIZES:-"10 50 100 200"}
SCALE_LIST_RUNS=5

# ownlxc WHO ARGS...: each daemon's own client, ours (bin/lxc) or the stock one.
ownlxc() {
	local who=$1
	shift
	if [ "${who}" = ours ]; then
		LXD_DIR="${WORK}/ours" LXD_CONF="${WORK}/conf-ours" "${MAIN}/bin/lxc" "$@"
	else
		lxcw stock "$@"
	fi
}

# scale_launch WHO I: launches bench-sI with WHO's own client; a failure is shown and listed in scale-failed-WHO.
scale_launch() {
	local who=$1 i=$2 log="${WORK}/scale-launch-$1-$2.log"
	ownlxc "${who}" launch bench-busybox "bench-s${i}" >"${log}" 2>&1 && return 0
	echo "launch of bench-s${i} failed on ${who}: $(cat "${log}")" >&2
	echo "bench-s${i}" >>"${WORK}/scale-failed-${who}"
}

# scale_grow WHO FROM TO: launches the busybox containers bench-sFROM+1 to bench-sTO, 4 at a time, with WHO's own
# client; prints the seconds per launch (the whole wall time over the number of launches) and the failed launches.
scale_grow() {
	local who=$1 from=$2 to=$3 t0 t1 failed
	rm -f "${WORK}/scale-failed-${who}"
	t0=$(now)
	seq $((from + 1)) "${to}" | WORK="${WORK}" MAIN="${MAIN}" xargs -P 4 -I{} bash -c 'scale_launch "$0" "$1"' "${who}" {}
	t1=$(now)
	failed=0
	[ ! -f "${WORK}/scale-failed-${who}" ] || failed=$(wc -l <"${WORK}/scale-failed-${who}")
	printf "%.3f %d\n" "$(echo "(${t1} - ${t0}) / (${to} - ${from})" | bc -l)" "${failed}"
}

# scale_time CMD...: the median seconds of SCALE_LIST_RUNS runs of a command, its output discarded.
scale_time() {
	local t0 t1
	for _ in $(seq "${SCALE_LIST_RUNS}"); do
		t0=$(now)
		"$@" >/dev/null || { echo "failed: $*" >&2; exit 1; }
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
	done | median
}

# scale_clear WHO: deletes every bench-s container of WHO, 4 deletes of up to 25 containers at once, then one by
# one whatever is left.
scale_clear() {
	local who=$1 name
	api "${who}" /1.0/instances | jq -r '.metadata[]' | sed 's|.*/||' | grep '^bench-s' | xargs -r -n 25 -P 4 \
		env LXD_DIR="${WORK}/${who}" LXD_CONF="${WORK}/conf" /usr/bin/lxc delete -f >/dev/null 2>&1 || true
	for name in $(api "${who}" /1.0/instances | jq -r '.metadata[]' | sed 's|.*/||' | grep '^bench-s'); do
		remove_instance "${who}" "${name}"
	done
}

# scale_running WHO: the number of running bench-s containers of WHO.
scale_running() {
	api "$1" '/1.0/instances?recursion=1' | jq '[.metadata[] | select(.name | startswith("bench-s")) | select(.status == "Running")] | length'
}

bench_scale() {
	local n prev=0 failed_stock=0 dat="${WORK}/scale.dat" t_ours=0 t_stock=0 t0 grown
	local l_ours f_ours l_stock f_stock ls_ours ls_stock ls_cross r2_ours r2_stock rss_ours rss_stock
	# A command failing under errexit says where.
	trap 'echo "bench_scale: a command failed (line ${LINENO})" >&2' ERR
	mkdir -p "${WORK}/conf-ours"
	# The launches run under xargs, in shells of their own.
	export -f ownlxc lxcw scale_launch
	echo "containers launch_ours launch_stock list_ours list_stock list_stock_client_ours rec2_ours rec2_stock rec2_ms_per_ours rec2_ms_per_stock rss_ours rss_stock" >"${dat}"
	{
		echo "| running containers | launch, 4 at a time (s per launch; failed): ours | stock | ours / stock | lxc list (s): ours | stock | ours / stock | stock client on ours (s) | GET recursion=2 (s): ours | stock | ours / stock | daemon RSS (MiB): ours | stock | ours / stock |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	} >"${WORK}/scale-rows"
	for n in ${SCALE_SIZES}; do
		t0=$(now)
		grown=$(scale_grow ours "${prev}" "${n}")
		read -r l_ours f_ours <<<"${grown}" || { echo "no launch figures for ours at ${n}" >&2; exit 1; }
		ls_ours=$(scale_time ownlxc ours list)
		ls_cross=$(scale_time lxcw ours list)
		r2_ours=$(scale_time api ours '/1.0/instances?recursion=2')
		rss_ours=$(rss_mib "${OURS_PID}")
		t_ours=$(echo "${t_ours} + $(now) - ${t0}" | bc -l)

		t0=$(now)
		grown=$(scale_grow stock "${prev}" "${n}")
		read -r l_stock f_stock <<<"${grown}" || { echo "no launch figures for stock at ${n}" >&2; exit 1; }
		ls_stock=$(scale_time ownlxc stock list)
		r2_stock=$(scale_time api stock '/1.0/instances?recursion=2')
		rss_stock=$(rss_mib "${STOCK_PID}")
		t_stock=$(echo "${t_stock} + $(now) - ${t0}" | bc -l)
		# A failed launch of ours stops the run; the stock daemon's are counted.
		[ "${f_ours}" = 0 ] || {
			echo "${f_ours} launches failed on ours; the daemon's log ends:" >&2
			tail -n 20 "${WORK}/ours.log" >&2
			exit 1
		}

		failed_stock=$((failed_stock + f_stock))
		[ "$(scale_running ours)" -eq "${n}" ] || { echo "not ${n} running containers on ours" >&2; exit 1; }
		[ "$(scale_running stock)" -ge "$((n - failed_stock))" ] || { echo "fewer than $((n - failed_stock)) running containers on stock" >&2; exit 1; }

		echo "${n} ${l_ours} ${l_stock} ${ls_ours} ${ls_stock} ${ls_cross} ${r2_ours} ${r2_stock} $(echo "${r2_ours} * 1000 / ${n}" | bc -l) $(echo "${r2_stock} * 1000 / ${n}" | bc -l) ${rss_ours} ${rss_stock}" >>"${dat}"
		echo "| ${n} | ${l_ours} (${f_ours} failed) | ${l_stock} (${f_stock} failed) | $(ratio "${l_ours}" "${l_stock}") | ${ls_ours} | ${ls_stock} | $(ratio "${ls_ours}" "${ls_stock}") | ${ls_cross} | ${r2_ours} | ${r2_stock} | $(ratio "${r2_ours}" "${r2_stock}") | ${rss_ours} | ${rss_stock} | $(ratio "${rss_ours}" "${rss_stock}") |" >>"${WORK}/scale-rows"
		prev=${n}
	done

	t0=$(now)
	scale_clear ours
	t_ours=$(echo "${t_ours} + $(now) - ${t0}" | bc -l)
	t0=$(now)
	scale_clear stock
	t_stock=$(echo "${t_stock} + $(now) - ${t0}" | bc -l)

	go run ./test/bench/chart -in "${dat}" >"${WORK}/bench-scale.svg"
	mv "${WORK}/bench-scale.svg" doc/bench-scale.svg
	{
		cat "${WORK}/scale-rows"
		echo
		printf "Time spent on each daemon, launches, measures and deletes: ours %.0f s, stock %.0f s.\n" "${t_ours}" "${t_stock}"
		echo
		echo "![lxc list, recursion=2 and launch times against the number of running containers](bench-scale.svg)"
	} | emit scale
	trap - ERR
}

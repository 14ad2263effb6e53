# Metrics (/1.0/metrics): the Prometheus metrics of running containers, over the unix socket, through lxc query, and over
# HTTPS with a certificate of type metrics, which reaches nothing else.

# check_metrics_format FILE: fails unless FILE is valid Prometheus text (version 0.0.4): every sample after the
# HELP and TYPE lines of its metric, each metric once, label sets well formed, values numbers.
check_metrics_format() {
	python3 - "$1" <<'EOF'
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$')
typed, helped, seen_samples = set(), set(), set()
last = None
for n, line in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    if line.startswith("# HELP "):
        name = line.split(" ", 3)[2]
        if name in helped:
            sys.exit(f"line {n}: second HELP for {name}")
        helped.add(name)
        continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        if kind not in ("counter", "gauge") or name not in helped or name in typed:
            sys.exit(f"line {n}: bad TYPE line {line!r}")
        typed.add(name)
        last = name
        continue
    m = sample.match(line)
    if not m:
        sys.exit(f"line {n}: bad sample {line!r}")
    if m.group(1) != last:
        sys.exit(f"line {n}: sample of {m.group(1)} outside its block")
    float(m.group(3))
    if line.rsplit(" ", 1)[0] in seen_samples:
        sys.exit(f"line {n}: duplicate sample {line!r}")
    seen_samples.add(line.rsplit(" ", 1)[0])
if not seen_samples:
    sys.exit("no samples")
EOF
}

# metric_value FILE NAME LABELS: prints the sum of the samples of NAME whose labels contain LABELS.
metric_value() {
	awk -v name="$2" -v labels="$3" '
		index($0, name "{") == 1 && index($0, labels) > 0 { sum += $NF; n++ }
		END { if (n == 0) { exit 1 } printf "%.6f\n", sum }' "$1"
}

test_metrics() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb m1
	lxc_in "${d}" init bb m2

	# Burn some CPU time inside the container so that its counters move.
	# shellcheck disable=SC2016
	lxc_in "${d}" exec m1 -- sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done'

	local out="${TEST_TMP}/metrics.txt"
	code=$(local_curl "${d}" /1.0/metrics -o "${out}" -w '%{http_code} %{content_type}')
	assert_eq "${code}" "200 text/plain; version=0.0.4" "status and content type over the unix socket"
	check_metrics_format "${out}"

	local inst='name="m1",project="default",type="container"'
	cpu=$(metric_value "${out}" lxd_cpu_seconds_total "${inst}") || fail "no lxd_cpu_seconds_total for m1"
	mem=$(metric_value "${out}" lxd_memory_MemTotal_bytes "${inst}") || fail "no lxd_memory_MemTotal_bytes for m1"
	rss=$(metric_value "${out}" lxd_memory_RSS_bytes "${inst}") || fail "no lxd_memory_RSS_bytes for m1"
	procs=$(metric_value "${out}" lxd_procs_total "${inst}") || fail "no lxd_procs_total for m1"
	fs=$(metric_value "${out}" lxd_filesystem_size_bytes "${inst}") || fail "no lxd_filesystem_size_bytes for m1"
	metric_value "${out}" lxd_network_receive_bytes_total "device=\"lo\",${inst}" >/dev/null ||
		fail "no loopback counters for m1"
	echo "m1: cpu ${cpu}s, memory ${mem}, rss ${rss}, processes ${procs}, root fs ${fs}"
	awk -v v="${cpu}" 'BEGIN { exit !(v > 0) }' || fail "cpu seconds ${cpu}, want > 0"
	awk -v v="${mem}" 'BEGIN { exit !(v > 0) }' || fail "memory total ${mem}, want > 0"
	awk -v v="${rss}" 'BEGIN { exit !(v > 0) }' || fail "rss ${rss}, want > 0"
	awk -v v="${procs}" 'BEGIN { exit !(v >= 1) }' || fail "processes ${procs}, want >= 1"
	awk -v v="${fs}" 'BEGIN { exit !(v > 0) }' || fail "root file system size ${fs}, want > 0"
	assert_contains "$(grep '^# TYPE lxd_cpu_seconds_total' "${out}")" "counter"
	assert_contains "$(grep '^# TYPE lxd_procs_total' "${out}")" "gauge"

	# A stopped instance has no metrics.
	if grep -q 'name="m2"' "${out}"; then
		fail "metrics of the stopped instance m2"
	fi

	# lxc query prints the text as it comes.
	lxc_in "${d}" query /1.0/metrics >"${TEST_TMP}/query.txt"
	check_metrics_format "${TEST_TMP}/query.txt"
	grep -q "^lxd_procs_total{${inst}} " "${TEST_TMP}/query.txt" || fail "lxc query /1.0/metrics has no m1"

	# A metrics certificate reads the metrics over HTTPS and nothing else.
	addr=$(enable_https "${d}")
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -sha384 -nodes -days 30 \
		-keyout "${TEST_TMP}/metrics.key" -out "${TEST_TMP}/metrics.crt" -subj "/CN=metrics.local" 2>/dev/null
	lxc_in "${d}" config trust add "${TEST_TMP}/metrics.crt" --type metrics
	assert_contains "$(lxc_in "${d}" config trust list --format csv)" "metrics,metrics.crt,metrics.local,"

	local certargs=(--cert "${TEST_TMP}/metrics.crt" --key "${TEST_TMP}/metrics.key")
	code=$(stranger_curl "https://${addr}/1.0/metrics" "${certargs[@]}" -o "${TEST_TMP}/https.txt" -w '%{http_code}')
	assert_eq "${code}" "200" "metrics over HTTPS with the metrics certificate"
	check_metrics_format "${TEST_TMP}/https.txt"
	metric_value "${TEST_TMP}/https.txt" lxd_memory_MemTotal_bytes "${inst}" >/dev/null || fail "no m1 over HTTPS"

	for path in /1.0/instances /1.0/certificates /1.0/instances/m1 /1.0/operations /1.0/profiles; do
		code=$(stranger_curl "https://${addr}${path}" "${certargs[@]}" -o "${TEST_TMP}/out" -w '%{http_code}')
		assert_eq "${code}" "403" "GET ${path} with the metrics certificate"
		assert_eq "$(jq -r .error_code "${TEST_TMP}/out")" "403"
	done

	code=$(stranger_curl "https://${addr}/1.0/instances/m1/state" "${certargs[@]}" -X PUT \
		-d '{"action": "stop", "force": true}' -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "403" "stopping an instance with the metrics certificate"
	assert_eq "$(stranger_curl "https://${addr}/1.0" "${certargs[@]}" | jq -r .metadata.auth)" "untrusted" \
		"auth of the metrics certificate on /1.0"

	# Without a certificate there are no metrics.
	code=$(stranger_curl "https://${addr}/1.0/metrics" -o /dev/null -w '%{http_code}')
	assert_eq "${code}" "403" "metrics over HTTPS without a certificate"

	lxc_in "${d}" delete -f m1
	lxc_in "${d}" delete m2
}

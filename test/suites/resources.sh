# GET /1.0/resources and lxc info --resources: the host's hardware as LXD 5.0.2 reports and prints it.

# mask_memory: hides the amounts of memory in use (and so free), which change between two reads.
mask_memory() {
	sed -E 's/^( *)(Free|Used): .*/\1\2: -/'
}

# Our client and the stock one print our daemon's resources the same way, and the numbers are the machine's.
test_resources_info() {
	local d="${TEST_TMP}/d1" conf="${TEST_TMP}/stock-conf"
	spawn_lxd "${d}"

	ours=$(lxc_in "${d}" info --resources)
	stock=$(LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc info --resources)
	assert_eq "$(echo "${ours}" | mask_memory)" "$(echo "${stock}" | mask_memory)" "lxc info --resources, ours vs stock"

	local_curl "${d}" /1.0/resources >"${TEST_TMP}/res.json"
	assert_eq "$(jq -r .type "${TEST_TMP}/res.json")" "sync" "envelope type"

	# Every CPU the kernel knows, online or not, and each of them printed once as a thread.
	cpus=$(find /sys/devices/system/cpu -maxdepth 1 -name 'cpu[0-9]*' | wc -l)
	assert_eq "$(jq .metadata.cpu.total "${TEST_TMP}/res.json")" "${cpus}" "cpu.total"
	[ "${cpus}" -ge "$(nproc)" ] || fail "cpu.total ${cpus} below nproc $(nproc)"
	assert_eq "$(echo "${ours}" | grep -c '(id: [0-9]*, online: ')" "${cpus}" "threads printed"
	assert_eq "$(jq -r .metadata.cpu.architecture "${TEST_TMP}/res.json")" "$(uname -m)" "cpu.architecture"

	# Memory: at least MemTotal, and in use about what /proc/meminfo says (the kernel's own reservation added).
	total=$(jq .metadata.memory.total "${TEST_TMP}/res.json")
	used=$(jq .metadata.memory.used "${TEST_TMP}/res.json")
	read -r memtotal memfree buffers cached < <(awk '/^MemTotal:/ {t=$2} /^MemFree:/ {f=$2} /^Buffers:/ {b=$2}
		/^Cached:/ {c=$2} END {printf "%.0f %.0f %.0f %.0f\n", t*1024, f*1024, b*1024, c*1024}' /proc/meminfo)
	[ "${total}" -ge "${memtotal}" ] || fail "memory.total ${total} below MemTotal ${memtotal}"
	expected=$((total - memfree - buffers - cached))
	diff=$((used > expected ? used - expected : expected - used))
	[ "${diff}" -lt $((512 * 1024 * 1024)) ] || fail "memory.used ${used}, /proc/meminfo says about ${expected}"

	# The disks and network cards are those of /sys/block and /sys/class/net backed by a device.
	disks=$(find /sys/block/ -mindepth 1 -maxdepth 1 -exec test -e '{}/device' \; -print | wc -l)
	assert_eq "$(jq .metadata.storage.total "${TEST_TMP}/res.json")" "${disks}" "storage.total"
	ports=$(find /sys/class/net/ -mindepth 1 -maxdepth 1 -exec test -e '{}/device' \; -print | wc -l)
	assert_eq "$(jq '[.metadata.network.cards[].ports[]] | length' "${TEST_TMP}/res.json")" "${ports}" "network ports"

	# The API extensions the stock client checks for are announced.
	for ext in resources resources_v2; do
		assert_contains "$(local_curl "${d}" /1.0 | jq -c .metadata.api_extensions)" "\"${ext}\"" "api_extensions"
	done

	# The flag refuses an instance name and a value that is not a boolean.
	assert_fails lxc_in "${d}" info c1 --resources
	assert_contains "${FAIL_OUTPUT}" "takes no instance name"
	assert_fails lxc_in "${d}" info --resources=maybe
	assert_contains "${FAIL_OUTPUT}" 'invalid argument "maybe"'
}

# Untrusted callers may not read the hardware.
test_resources_untrusted() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	addr=$(enable_https "${d}")
	code=$(stranger_curl "https://${addr}/1.0/resources" -o "${TEST_TMP}/out" -w '%{http_code}')
	assert_eq "${code}" "403" "status for an untrusted caller"
	assert_eq "$(jq -r .type "${TEST_TMP}/out")" "error"
}

# Our daemon describes the machine as the stock daemon does, but for the memory in use, which moves, and the block
# size (read from sysfs here; the stock daemon asks the /dev node, 0 when there is none).
test_resources_stock_daemon() {
	local ours="${TEST_TMP}/ours" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf"
	# Both daemons in a network namespace of the test's own: the stock daemon's own outbound attempts stay there.
	make_netns
	spawn_lxd "${ours}"
	spawn_stock_lxd "${stock}"

	filter='del(.memory.used, .memory.nodes[]?.used, .storage.disks[].block_size)'
	LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc query /1.0/resources | jq -S "${filter}" >"${TEST_TMP}/stock.json"
	local_curl "${ours}" /1.0/resources | jq -S ".metadata | ${filter}" >"${TEST_TMP}/ours.json"

	# Without systemd-detect-virt the stock daemon cannot tell what the machine is; ours reads the markers itself.
	if [ "$(jq -r .system.type "${TEST_TMP}/stock.json")" = "unknown" ]; then
		for f in stock ours; do
			jq -S 'del(.system.type)' "${TEST_TMP}/${f}.json" >"${TEST_TMP}/${f}.tmp"
			mv "${TEST_TMP}/${f}.tmp" "${TEST_TMP}/${f}.json"
		done
	fi

	diff -u "${TEST_TMP}/stock.json" "${TEST_TMP}/ours.json" || fail "GET /1.0/resources differs from the stock daemon's"
}

# Limits checked when set, starts that fail leaving no cgroup, and file pushes with special modes or through
# escaping symlinks.

# instance_cgroups NAME: the cgroups on the host named for the container NAME.
instance_cgroups() {
	find /sys/fs/cgroup -type d \( -name "lxc.monitor.$1" -o -name "lxc.payload.$1" -o -name "lxc.monitor.$1-*" -o -name "lxc.payload.$1-*" \) 2>/dev/null || true
}

test_limits_set_time() {
	local d="${TEST_TMP}/d1" name="lim$$" ncpu
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb "${name}" >/dev/null
	ncpu=$(nproc --all)

	# Refused with a 400 naming the key and the value, on the instance (PATCH and PUT) and on a profile.
	for kv in "limits.cpu=0-9999999" "limits.cpu=${ncpu}-$((ncpu + 5))" "limits.cpu=1-0" "limits.processes=0" \
		"limits.processes=2" "limits.processes=4194305" "limits.memory=1B" "limits.memory=1MiB" "limits.memory=0%" \
		"limits.cpu.allowance=0%" "limits.cpu.allowance=500us/100ms" "limits.cpu.priority=11" \
		"limits.memory.enforce=firm" "limits.memory.swap=maybe"; do
		key=${kv%%=*} value=${kv#*=}
		assert_fails lxc_in "${d}" config set "${name}" "${key}" "${value}"
		assert_contains "${FAIL_OUTPUT}" "invalid value for \"${key}\""
		assert_contains "${FAIL_OUTPUT}" "\"${value}\""
		body=$(jq -cn --arg k "${key}" --arg v "${value}" '{config: {($k): $v}}')
		assert_eq "$(local_curl "${d}" "/1.0/instances/${name}" -X PATCH -d "${body}" | jq -r .error_code)" "400" "PATCH ${kv}"
		assert_eq "$(local_curl "${d}" "/1.0/instances/${name}" -X PUT -d "${body}" | jq -r .error_code)" "400" "PUT ${kv}"
		assert_fails lxc_in "${d}" profile set default "${key}" "${value}"
		assert_contains "${FAIL_OUTPUT}" "invalid value for \"${key}\""
	done

	assert_fails lxc_in "${d}" config set "${name}" limits.cpu "0-$((ncpu + 1))"
	assert_contains "${FAIL_OUTPUT}" "which the host does not have"
	assert_fails lxc_in "${d}" launch bb other -c limits.processes=1
	assert_contains "${FAIL_OUTPUT}" 'invalid value for "limits.processes"'
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | length')" "1" "instances after a refused launch"

	# Accepted: a count above the host's CPUs uses them all, as LXD.
	lxc_in "${d}" config set "${name}" limits.cpu "$((ncpu + 3))"
	lxc_in "${d}" config set "${name}" limits.memory 64MiB
	lxc_in "${d}" config set "${name}" limits.processes 100
	lxc_in "${d}" config set "${name}" limits.cpu.allowance 25ms/100ms
	lxc_in "${d}" config set "${name}" limits.cpu.priority 5
	lxc_in "${d}" config set "${name}" limits.memory.swap false
	lxc_in "${d}" profile set default limits.memory 50%
	lxc_in "${d}" start "${name}"
	assert_eq "$(lxc_in "${d}" list "${name}" -c s --format csv)" "RUNNING" "started with limits"
	if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
		assert_eq "$(cat "/sys/fs/cgroup/cpu/lxc.payload.${name}/cpu.cfs_quota_us")" "25000" "CPU quota"
		assert_eq "$(cat "/sys/fs/cgroup/pids/lxc.payload.${name}/pids.max")" "100" "processes"
	fi

	lxc_in "${d}" delete -f "${name}"
	assert_eq "$(instance_cgroups "${name}")" "" "cgroups after delete -f"
}

test_limits_failed_start_leaves_no_cgroup() {
	local d="${TEST_TMP}/d1" name="fail$$" bogus="lxc.cgroup.memory.bogus = 1"
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		bogus="lxc.cgroup2.memory.bogus = 1"
	fi

	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb "${name}" >/dev/null
	lxc_in "${d}" config set "${name}" raw.lxc "${bogus}"
	for _ in 1 2; do
		assert_fails lxc_in "${d}" start "${name}"
		assert_contains "${FAIL_OUTPUT}" "memory.bogus"
		assert_eq "$(instance_cgroups "${name}")" "" "cgroups after a failed start"
	done

	lxc_in "${d}" config unset "${name}" raw.lxc
	lxc_in "${d}" start "${name}"
	lxc_in "${d}" delete -f "${name}"
	assert_eq "$(instance_cgroups "${name}")" "" "cgroups after delete -f"
}

test_limits_file_push_modes() {
	local d="${TEST_TMP}/d1" name="files$$" src="${TEST_TMP}/tool" outside="${TEST_TMP}/outside" code
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb "${name}" >/dev/null
	printf '#!/bin/sh\necho tool\n' >"${src}"

	local_curl "${d}" "/1.0/instances/${name}/files?path=/root/tool" -X POST -H 'X-LXD-mode: 4755' \
		-H 'X-LXD-uid: 1000' -H 'X-LXD-gid: 1000' --data-binary "@${src}" >/dev/null
	assert_eq "$(lxc_in "${d}" exec "${name}" -- stat -c '%a %u:%g' /root/tool)" "4755 1000:1000" "setuid file"
	lxc_in "${d}" file push --mode 2755 "${src}" "${name}/root/sg"
	assert_eq "$(lxc_in "${d}" exec "${name}" -- stat -c '%a %u:%g' /root/sg)" "2755 0:0" "setgid file"
	local_curl "${d}" "/1.0/instances/${name}/files?path=/shared" -X POST -H 'X-LXD-type: directory' \
		-H 'X-LXD-mode: 1777' >/dev/null
	assert_eq "$(lxc_in "${d}" exec "${name}" -- stat -c '%a' /shared)" "1777" "sticky directory"
	headers=$(local_curl "${d}" "/1.0/instances/${name}/files?path=root%2Ftool" -D - -o /dev/null)
	assert_contains "${headers}" "X-Lxd-Mode: 4755"
	code=$(local_curl "${d}" "/1.0/instances/${name}/files?path=/x" -X POST -H 'X-LXD-mode: 17777' -d x | jq -r .error_code)
	assert_eq "${code}" "400" "mode above 7777"

	# A push through a symlink naming a host directory looks for it inside the instance, and writes nothing outside.
	mkdir -p "${outside}"
	lxc_in "${d}" exec "${name}" -- ln -s "${outside}" /root/out
	out=$(local_curl "${d}" "/1.0/instances/${name}/files?path=/root/out/victim" -X POST -d x)
	assert_eq "$(jq -r .error_code <<<"${out}")" "404" "push through a symlink to a host directory"
	assert_eq "$(find "${outside}" -mindepth 1 | wc -l)" "0" "files written outside the instance"
	lxc_in "${d}" delete -f "${name}"
}

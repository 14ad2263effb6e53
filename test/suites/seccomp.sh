# The seccomp policy of containers, as LXD writes it: checked from inside by a static probe.

# build_syscalls_probe: builds the probe (test/probes/syscalls) static and prints its path.
build_syscalls_probe() {
	local out="${TEST_TMP}/syscalls-probe"
	(cd "${MAIN_DIR}" && CGO_ENABLED=0 go build -o "${out}" ./test/probes/syscalls) || fail "building the syscalls probe"
	echo "${out}"
}

# probe_in DIR NAME PROBE: pushes the probe into the running container NAME and prints what it reports.
probe_in() {
	lxc_in "$1" file push --mode 0755 "$3" "$2/root/syscalls-probe"
	lxc_in "$1" exec "$2" -- /root/syscalls-probe
}

test_seccomp_default_policy() {
	local d="${TEST_TMP}/d1" probe out
	probe=$(build_syscalls_probe)
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# The default policy: module and kexec calls and open_by_handle_at answer ENOSYS (38), a forced unmount is
	# refused with EACCES (13), and the filter is on.
	lxc_in "${d}" launch bb c1
	out=$(probe_in "${d}" c1 "${probe}")
	assert_eq "$(tr '\n' ' ' <<<"${out}")" \
		"kexec_load 38 open_by_handle_at 38 init_module 38 finit_module 38 delete_module 38 umount2_force 13 Seccomp: 2 " \
		"probe under the default policy"

	# security.syscalls.deny adds entries; deny_default=false with nothing else runs without a filter.
	lxc_in "${d}" launch bb c2 -c security.syscalls.deny_default=false
	out=$(probe_in "${d}" c2 "${probe}")
	assert_contains "${out}" "Seccomp: 0"
	grep -q '^open_by_handle_at 38$' <<<"${out}" && fail "open_by_handle_at is filtered without a policy: ${out}"

	lxc_in "${d}" launch bb c3 -c security.syscalls.deny_default=false -c security.syscalls.deny="open_by_handle_at errno 22"
	out=$(probe_in "${d}" c3 "${probe}")
	assert_contains "${out}" "open_by_handle_at 22"
	assert_contains "${out}" "Seccomp: 2"

	# An allow list excludes the deny keys; interception is refused; both change nothing.
	assert_fails lxc_in "${d}" config set c1 security.syscalls.allow=read security.syscalls.deny=mount
	assert_contains "${FAIL_OUTPUT}" "mutually exclusive"
	assert_fails lxc_in "${d}" config set c1 security.syscalls.intercept.mknod=true
	assert_contains "${FAIL_OUTPUT}" "not supported"
	assert_eq "$(lxc_in "${d}" config get c1 security.syscalls.deny)" "" "deny after the refusals"

	# The stock client sets the same keys.
	LXD_DIR="${d}" stock_lxc "${d}.stock" config set c1 security.syscalls.deny_compat true
	lxc_in "${d}" restart c1 --force
	assert_contains "$(probe_in "${d}" c1 "${probe}")" "Seccomp: 2"
}

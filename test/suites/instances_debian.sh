# A full Debian system container: systemd boots to running (or degraded: some host mounts are not for containers).

test_instances_debian_systemd() {
	local d="${TEST_TMP}/d1" debian
	debian=$("${TEST_DIR}/deps/debian-image.sh")
	spawn_instance_lxd "${d}"
	lxc_in "${d}" image import "${debian}/unified.tar.gz" --alias debian >/dev/null

	lxc_in "${d}" launch debian deb1 >/dev/null
	state=""
	for _ in $(seq 120); do
		state=$(lxc_in "${d}" exec deb1 -- systemctl is-system-running 2>/dev/null || true)
		case "${state}" in running | degraded) break ;; esac
		sleep 0.5
	done

	case "${state}" in
	running | degraded) ;;
	*) fail "systemd did not finish booting: ${state}" ;;
	esac

	assert_eq "$(lxc_in "${d}" exec deb1 -- cat /etc/hostname)" "deb1" "hostname template"
	assert_eq "$(lxc_in "${d}" exec deb1 -- sh -c 'id -u; exit 7' 2>/dev/null || echo "exit $?")" "0
exit 7" "exec as root with an exit status"

	# A second container from the same image starts from the unpacked base.
	lxc_in "${d}" launch debian deb2 >/dev/null
	assert_contains "$(lxc_in "${d}" list --format csv -c ns)" "deb2,RUNNING"

	lxc_in "${d}" stop deb1
	assert_contains "$(lxc_in "${d}" list --format csv -c ns)" "deb1,STOPPED"
	lxc_in "${d}" delete -f deb1 deb2
	if grep -q "${d}" /proc/self/mountinfo; then
		fail "mounts left after delete: $(grep "${d}" /proc/self/mountinfo)"
	fi
}

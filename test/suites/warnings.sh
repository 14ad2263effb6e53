# Warnings: the daemon records its own (no AppArmor on this kernel), /1.0/warnings and lxc warning, ours and stock.

# warning_uuid DIR TYPE: prints the UUID of the warning of TYPE on the daemon of DIR.
warning_uuid() {
	local_curl "$1" "/1.0/warnings?recursion=1" |
		python3 -c 'import json,sys; print("".join(w["uuid"] for w in json.load(sys.stdin)["metadata"] if w["type"] == sys.argv[1]))' "$2"
}

# warning_field DIR UUID FIELD: prints one field of a warning.
warning_field() {
	local_curl "$1" "/1.0/warnings/$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"][sys.argv[1]])' "$3"
}

test_warnings() {
	local d="${TEST_TMP}/d1" stock="${TEST_TMP}/stock.conf"
	spawn_lxd "${d}"

	[ -d /sys/kernel/security/apparmor ] && { echo "SKIP: this host has AppArmor, no warning to look at"; return 0; }

	# The daemon recorded the missing AppArmor at start.
	local uuid
	uuid=$(warning_uuid "${d}" "AppArmor support has been disabled")
	[ -n "${uuid}" ] || fail "no AppArmor warning: $(local_curl "${d}" "/1.0/warnings?recursion=1")"
	assert_eq "$(warning_field "${d}" "${uuid}" status)" "new" "status at start"
	assert_eq "$(warning_field "${d}" "${uuid}" severity)" "low" "severity"
	assert_eq "$(warning_field "${d}" "${uuid}" count)" "1" "count at first start"
	assert_contains "$(local_curl "${d}" /1.0)" '"warnings"' "api_extensions"
	assert_contains "$(local_curl "${d}" /1.0/warnings)" "\"/1.0/warnings/${uuid}\"" "recursion=0 list"

	# Both clients list it, the same way.
	local ours theirs
	ours=$(lxc_in "${d}" warning list)
	theirs=$(LXD_DIR="${d}" stock_lxc "${stock}" warning list)
	assert_contains "${ours}" "| ${uuid} | AppArmor support has been disabled | NEW    | LOW      | 1     |"
	assert_eq "${ours}" "${theirs}" "our list against the stock one"
	for f in csv json yaml compact; do
		assert_eq "$(lxc_in "${d}" warning list -f "${f}" -c utSscpfl)" \
			"$(LXD_DIR="${d}" stock_lxc "${stock}" warning list -f "${f}" -c utSscpfl)" "list --format ${f}"
	done

	assert_eq "$(lxc_in "${d}" warning show "${uuid}")" "$(LXD_DIR="${d}" stock_lxc "${stock}" warning show "${uuid}")" "show"
	assert_contains "$(lxc_in "${d}" warning show "${uuid}")" "last_message: Disabled because of lack of kernel support"

	# Acknowledged warnings leave the default list and stay in --all; the stock client acknowledges too.
	LXD_DIR="${d}" stock_lxc "${stock}" warning ack "${uuid}"
	assert_eq "$(warning_field "${d}" "${uuid}" status)" "acknowledged" "status after the stock ack"
	lxc_in "${d}" warning list -f csv -c u | grep -q "${uuid}" && fail "acknowledged warning still listed"
	assert_contains "$(lxc_in "${d}" warning list --all -f csv -c uS)" "${uuid},ACKNOWLEDGED"
	local curl_code
	curl_code=$(local_curl "${d}" "/1.0/warnings/${uuid}" -X PATCH -d '{"status":"new"}' -o /dev/null -w '%{http_code}')
	assert_eq "${curl_code}" "200" "PATCH back to new"
	lxc_in "${d}" warning acknowledge "${uuid}"
	assert_eq "$(warning_field "${d}" "${uuid}" status)" "acknowledged" "status after our ack"

	# A restart counts the warning again and keeps it acknowledged.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(warning_uuid "${d}" "AppArmor support has been disabled")" "${uuid}" "same warning after restart"
	assert_eq "$(warning_field "${d}" "${uuid}" count)" "2" "count after restart"
	assert_eq "$(warning_field "${d}" "${uuid}" status)" "acknowledged" "status after restart"

	# Bad input: unknown UUID, bad status, no argument, untrusted caller.
	local unknown=00000000-0000-4000-8000-000000000000
	assert_fails lxc_in "${d}" warning show "${unknown}"
	assert_contains "${FAIL_OUTPUT}" "Error: warning \"${unknown}\" not found"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc warning show "${unknown}"
	assert_contains "${FAIL_OUTPUT}" "not found"
	assert_fails lxc_in "${d}" warning delete "${unknown}"
	assert_fails lxc_in "${d}" warning ack "${unknown}"
	assert_eq "$(local_curl "${d}" "/1.0/warnings/${unknown}" -o /dev/null -w '%{http_code}')" "404" "GET unknown"
	assert_eq "$(local_curl "${d}" "/1.0/warnings/${uuid}" -X PUT -d '{"status":"gone"}' -o /dev/null -w '%{http_code}')" "400" "bad status"
	assert_eq "$(local_curl "${d}" "/1.0/warnings/${uuid}" -X PUT -d '{"status":"resolved"}' -o /dev/null -w '%{http_code}')" "403" "resolved by hand"
	assert_eq "$(local_curl "${d}" "/1.0/warnings/${uuid}" -X PUT -d 'status' -o /dev/null -w '%{http_code}')" "400" "not JSON"
	assert_eq "$(warning_field "${d}" "${uuid}" status)" "acknowledged" "status after refused changes"
	assert_fails lxc_in "${d}" warning show a b
	assert_contains "${FAIL_OUTPUT}" "Error: invalid number of arguments"
	assert_fails lxc_in "${d}" warning list -c L
	assert_contains "${FAIL_OUTPUT}" "can't specify column L when not clustered"
	assert_fails lxc_in "${d}" warning list -f xml
	local addr
	addr=$(enable_https "${d}")
	assert_eq "$(stranger_curl "https://${addr}/1.0/warnings" -o /dev/null -w '%{http_code}')" "403" "untrusted list"

	# Delete: the stock client, then the warning is gone for both.
	LXD_DIR="${d}" stock_lxc "${stock}" warning delete "${uuid}"
	assert_eq "$(local_curl "${d}" "/1.0/warnings/${uuid}" -o /dev/null -w '%{http_code}')" "404" "GET after delete"
	lxc_in "${d}" warning list --all -f csv -c u | grep -q "${uuid}" && fail "deleted warning still listed"

	# The next start records it afresh; delete --all removes every warning.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	local again
	again=$(warning_uuid "${d}" "AppArmor support has been disabled")
	if [ -z "${again}" ] || [ "${again}" = "${uuid}" ]; then
		fail "no new AppArmor warning after delete and restart: ${again}"
	fi
	assert_eq "$(warning_field "${d}" "${again}" count)" "1" "count of the new warning"
	lxc_in "${d}" warning delete --all
	assert_eq "$(lxc_in "${d}" warning list --all -f csv)" "" "list after delete --all"
	check_log "${d}"
}

# The daemon's command line accepts what stock LXD 5.0.2's lxd accepts, so that scripts written for LXD run unchanged.

# lxd_in DIR ARGS...: runs our lxd with LXD_DIR=DIR.
lxd_in() {
	local dir=$1
	shift
	LXD_DIR="${dir}" "${LXD_BIN}" "$@"
}

test_lxd_cli_no_daemon() {
	local d="${TEST_TMP}/d1"

	# Version: the number alone, from the flag and the command, as stock LXD prints it.
	assert_eq "$("${LXD_BIN}" --version)" "$("${LXD_BIN}" version)" "lxd --version"
	[[ "$("${LXD_BIN}" version)" =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || fail "lxd version prints $("${LXD_BIN}" version)"
	assert_eq "$("${LXD_BIN}" version "")" "$("${LXD_BIN}" version)" "lxd version with an empty argument"

	# Help lists stock's flags and commands.
	out=$("${LXD_BIN}" -h)
	for word in --group --logfile --syslog --debug --verbose --version activateifneeded waitready shutdown; do
		assert_contains "${out}" "${word}" "lxd -h"
	done

	# Nothing to activate: exit 0, quietly, with or without a data directory.
	assert_eq "$(lxd_in "${d}" activateifneeded 2>&1)" "" "activateifneeded output"
	[ ! -e "${d}" ] || fail "activateifneeded created ${d}"

	# Unknown flags and commands are refused with a non-zero status.
	assert_fails lxd_in "${d}" --no-such-flag
	assert_contains "${FAIL_OUTPUT}" "Error: unknown flag: --no-such-flag"
	assert_fails lxd_in "${d}" "" start
	assert_contains "${FAIL_OUTPUT}" 'Error: unknown command "start" for "lxd"'
	assert_fails lxd_in "${d}" waitready --group root
	assert_contains "${FAIL_OUTPUT}" "unknown flag: --group"

	# An unknown group is refused before anything starts.
	assert_fails lxd_in "${d}" "" --group "no-such-group-$$"
	assert_contains "${FAIL_OUTPUT}" "Error: --group: unknown group \"no-such-group-$$\""
	[ ! -e "${d}" ] || fail "a refused start created ${d}"

	# lxd sql checks its arguments before connecting.
	assert_fails lxd_in "${d}" sql cluster "SELECT 1"
	assert_contains "${FAIL_OUTPUT}" 'invalid database "cluster": want local or global'
	assert_fails lxd_in "${d}" sql global
	assert_contains "${FAIL_OUTPUT}" "want 2 arguments"
}

test_lxd_cli_daemon() {
	local d="${TEST_TMP}/d1" grp="lxdcli$$"
	groupadd "${grp}"
	on_exit groupdel "${grp}"
	local gid
	gid=$(getent group "${grp}" | cut -d: -f3)

	# Started as scripts start LXD: an empty argument (lxd "${DEBUG-}"), a socket group, syslog.
	mkdir -p "${d}"
	chmod +x "${d}"
	traversable_parents "${d}"
	# shellcheck disable=SC2046
	LXD_DIR="${d}" $(netns_prefix) "${LXD_BIN}" "" --group "${grp}" --syslog --debug --logfile "${d}/lxd.log" &
	echo "$!" >"${d}/lxd.pid"
	echo "${d}" >>"${TEST_TMP}/daemons"
	lxd_in "${d}" waitready --timeout 30

	# The socket belongs to the group, mode 0660: its members may talk to the daemon, others may not.
	assert_eq "$(stat -c '%G %a' "${d}/unix.socket")" "${grp} 660" "socket group and mode"
	out=$(setpriv --reuid=65534 --regid="${gid}" --clear-groups curl -sS --unix-socket "${d}/unix.socket" http://lxd/1.0)
	assert_eq "$(jq -r .metadata.auth <<<"${out}")" "trusted" "auth of a group member"
	assert_fails setpriv --reuid=65534 --regid=65534 --clear-groups curl -sS --unix-socket "${d}/unix.socket" http://lxd/1.0

	# Nothing to activate with a daemon running either.
	assert_eq "$(lxd_in "${d}" activateifneeded 2>&1)" "" "activateifneeded output"

	# The daemon reports the version lxd prints.
	assert_contains "$(lxc_in "${d}" version)" "Server version: $(lxd_in "${d}" version)"

	# lxd sql: a table for SELECT, "Rows affected" for writes; local and global are the same database.
	lxc_in "${d}" config set images.auto_update_interval 7
	out=$(lxd_in "${d}" sql global "SELECT key, value FROM config WHERE key = 'images.auto_update_interval'")
	assert_eq "${out}" "+-----------------------------+-------+
|             key             | value |
+-----------------------------+-------+
| images.auto_update_interval | 7     |
+-----------------------------+-------+" "lxd sql SELECT"
	assert_eq "$(lxd_in "${d}" sql global "UPDATE config SET value = '9' WHERE key = 'images.auto_update_interval'")" \
		"Rows affected: 1" "lxd sql UPDATE"
	out=$(echo "SELECT value FROM config WHERE key = 'images.auto_update_interval'" | lxd_in "${d}" sql local -)
	assert_contains "${out}" "| 9     |" "the UPDATE seen through local, query from stdin"
	out=$(lxd_in "${d}" sql global "UPDATE config SET value = value WHERE key = 'nothing'; SELECT count(*) AS n FROM config")
	assert_contains "${out}" "=> Query 0:

Rows affected: 0" "several statements"
	assert_contains "${out}" "=> Query 1:" "several statements"

	# Bad SQL: non-zero status, SQLite's message, and nothing of the batch is applied.
	assert_fails lxd_in "${d}" sql global "SELEC * FROM config"
	assert_contains "${FAIL_OUTPUT}" 'Error: failed to execute query: near "SELEC": syntax error'
	assert_fails lxd_in "${d}" sql global "UPDATE config SET value = '1'; SELECT nope FROM config"
	assert_contains "${FAIL_OUTPUT}" "statement 2: no such column: nope"
	assert_contains "$(lxd_in "${d}" sql global "SELECT value FROM config WHERE key = 'images.auto_update_interval'")" "| 9     |"
	code=$(local_curl "${d}" /internal/sql -X POST -d '{"database":"global","query":"SELECT * FROM nope"}' -o "${TEST_TMP}/out" -w '%{http_code}')
	assert_eq "${code}" "400" "status of bad SQL"
	assert_eq "$(jq -r .error "${TEST_TMP}/out")" "no such table: nope"

	# Dumps.
	assert_contains "$(lxd_in "${d}" sql global .schema)" "CREATE TABLE config"
	assert_contains "$(lxd_in "${d}" sql global .dump)" "INSERT INTO \"config\" VALUES('images.auto_update_interval','9');"

	# Only root may run SQL, even when the socket lets the caller in.
	assert_fails setpriv --reuid=65534 --regid="${gid}" --clear-groups env LXD_DIR="${d}" "${LXD_BIN}" sql global "SELECT 1"
	assert_contains "${FAIL_OUTPUT}" "only root may run SQL"

	# The raw write reached the database: the daemon reads it at its next start.
	shutdown_lxd "${d}"
	[ ! -e "${d}/unix.socket" ] || fail "socket left behind after shutdown"
	spawn_lxd "${d}"
	assert_eq "$(lxc_in "${d}" config get images.auto_update_interval)" "9" "value written by lxd sql after a restart"
}

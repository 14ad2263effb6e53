# Daemon helpers: each test spawns its own daemons in temporary directories and stops them on exit.

# spawn_lxd DIR: starts a daemon with LXD_DIR=DIR, waits until it answers, records it for cleanup. A first start
# is then given what most tests assume, a dir pool "default" and a root disk on it in the default profile (as
# "lxd init" would); SPAWN_BARE=1 leaves it as a fresh server is, with neither.
spawn_lxd() {
	local dir=$1 fresh=1
	mkdir -p "${dir}"
	chmod +x "${dir}"
	[ ! -e "${dir}/database" ] || fresh=0
	# shellcheck disable=SC2046
	LXD_DIR="${dir}" $(netns_prefix) "${LXD_BIN}" --debug --logfile "${dir}/lxd.log" &
	echo "$!" >"${dir}/lxd.pid"
	record_netns "${dir}"
	echo "${dir}" >>"${TEST_TMP}/daemons"
	LXD_DIR="${dir}" "${LXD_BIN}" waitready --timeout 30
	if [ "${fresh}" = 1 ] && [ "${SPAWN_BARE:-0}" != 1 ]; then
		printf 'storage_pools:\n- name: default\n  driver: dir\nprofiles:\n- name: default\n  devices:\n    root:\n      path: /\n      pool: default\n      type: disk\n' |
			LXD_DIR="${dir}" "${LXD_BIN}" init --preseed
	fi
}

# shutdown_lxd DIR: stops the daemon of DIR gracefully and checks its log holds no panic.
shutdown_lxd() {
	local dir=$1
	[ -f "${dir}/lxd.pid" ] || return 0
	local pid
	pid=$(cat "${dir}/lxd.pid")
	LXD_DIR="${dir}" "${LXD_BIN}" shutdown --timeout 30 || kill -9 "${pid}" 2>/dev/null || true
	wait "${pid}" 2>/dev/null || true
	rm -f "${dir}/lxd.pid"
	check_log "${dir}"
}

# check_log DIR: fails when the daemon log of DIR has a panic or a data race.
check_log() {
	if grep -qE "^panic:|DATA RACE|fatal error:" "$1/lxd.log" 2>/dev/null; then
		echo "daemon log of $1 has a panic:"
		cat "$1/lxd.log"
		return 1
	fi
}

# on_exit CMD...: runs CMD when the test ends, whatever its result.
on_exit() {
	printf '%q ' "$@" >>"${TEST_TMP}/on_exit"
	printf '\n' >>"${TEST_TMP}/on_exit"
}

# cleanup_test stops every daemon the test started and runs what on_exit registered.
cleanup_test() {
	local rc=$?
	if [ -f "${TEST_TMP}/on_exit" ]; then
		while read -r cmd; do
			eval "${cmd}" || true
		done <"${TEST_TMP}/on_exit"
	fi

	if [ -f "${TEST_TMP}/daemons" ]; then
		while read -r dir; do
			shutdown_lxd "${dir}" || rc=1
		done <"${TEST_TMP}/daemons"
	fi

	if [ "$rc" -ne 0 ] && [ -f "${TEST_TMP}/daemons" ]; then
		while read -r dir; do
			echo "---- daemon log ${dir}"
			tail -n 40 "${dir}/lxd.log" 2>/dev/null || true
		done <"${TEST_TMP}/daemons"
	fi

	exit "$rc"
}

# lxc_local DIR ARGS...: runs our client against the daemon of DIR with a private config directory.
lxc_in() {
	local dir=$1
	shift
	LXD_DIR="${dir}" LXD_CONF="${dir}.conf" "${LXC_BIN}" "$@"
}

# local_curl DIR PATH [ARGS...]: queries the unix socket of the daemon of DIR.
local_curl() {
	local dir=$1 path=$2
	shift 2
	curl -sS --unix-socket "${dir}/unix.socket" "$@" "http://lxd${path}"
}

# enable_https DIR: sets core.https_address of the daemon of DIR to a free loopback port and prints the address.
enable_https() {
	local dir=$1 addr
	for _ in $(seq 20); do
		addr="127.0.0.1:$(free_port)"
		if lxc_in "${dir}" config set core.https_address "${addr}" >/dev/null 2>&1; then
			echo "${addr}"
			return 0
		fi
	done

	echo "no free port found" >&2
	return 1
}

# stock_lxc CONFDIR ARGS...: runs the stock LXD 5.0.2 client with its own configuration directory.
stock_lxc() {
	local conf=$1
	shift
	LXD_CONF="${conf}" /usr/bin/lxc "$@"
}

# stranger_curl URL [ARGS...]: an HTTPS request with no client certificate.
stranger_curl() {
	local url=$1
	shift
	curl -sS -k --tlsv1.3 "$@" "${url}"
}

# free_port prints a loopback TCP port nothing listens on.
free_port() {
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (echo >"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
			echo "${port}"
			return 0
		fi
	done

	fail "no free port found"
	return 1
}

# traversable_parents DIR: lets every user through the directories above DIR (not into them), as containers'
# unprivileged root needs to reach its root filesystem under DIR.
traversable_parents() {
	local p
	p=$(dirname "$1")
	while [ "${p}" != "/" ]; do
		chmod o+x "${p}"
		p=$(dirname "${p}")
	done
}

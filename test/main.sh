#!/usr/bin/env bash
# Integration suite: every test_<name> function in suites/*.sh runs against daemons of its own, each in a fresh
# temporary LXD_DIR, driven through bin/lxc, curl and the stock LXD client. Independent tests run in parallel.
#
# Usage: test/main.sh [test_name...]   (JOBS=N sets the parallelism, default 2)
set -eu
cd "$(dirname "$0")"
TEST_DIR=$(pwd)
export TEST_DIR
MAIN_DIR=$(cd .. && pwd)
export MAIN_DIR
export LXC_BIN="${MAIN_DIR}/bin/lxc" LXD_BIN="${MAIN_DIR}/bin/lxd"
export PATH="${MAIN_DIR}/bin:${PATH}"

# A function defined twice would silently replace the first one for every test.
dups=$(grep -hoE '^[a-z_][a-z0-9_]*\(\) \{' includes/*.sh suites/*.sh | sort | uniq -d)
if [ -n "${dups}" ]; then
	echo "functions defined more than once in test/: ${dups}" >&2
	exit 1
fi

for f in includes/*.sh suites/*.sh; do
	# shellcheck disable=SC1090
	. "./${f}"
done

if [ "$(id -u)" -ne 0 ]; then
	echo "the integration suite must run as root" >&2
	exit 1
fi

[ -x "${LXD_BIN}" ] && [ -x "${LXC_BIN}" ] || { echo "build first: make build" >&2; exit 1; }

RUN_DIR=$(mktemp -d /tmp/lxd-test.XXXXXX)
export RUN_DIR
JOBS=${JOBS:-2}

if [ "$#" -gt 0 ]; then
	tests=("$@")
else
	mapfile -t tests < <(declare -F | awk '{print $3}' | grep '^test_' | sort)
fi

# host_links prints the names of the network interfaces of the host's namespace, sorted.
host_links() {
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
}

# run_one runs one test in a subshell with errexit and records its status and log.
run_one() {
	local name=$1
	local log="${RUN_DIR}/${name}.log"
	local start=$SECONDS rc
	# errexit must stay in force inside the test: no "||" on the subshell.
	set +e
	(
		set -eEu -o pipefail
		TEST_TMP="${RUN_DIR}/${name}.d"
		mkdir -p "${TEST_TMP}"
		export TEST_TMP
		trap 'cleanup_test' EXIT
		"${name}"
	) >"${log}" 2>&1
	rc=$?
	set -e
	echo "$rc $((SECONDS - start))" >"${RUN_DIR}/${name}.rc"
	comm -13 "${RUN_DIR}/host-links" <(host_links) >"${RUN_DIR}/${name}.host-links" || true
}

# The test images are built once per machine (test/deps/, cached under /var/tmp): build them, or find them, before
# any test starts, so that a first build (minutes for the Debian one, which also needs the network) neither runs
# inside a test, holding a slot and its timeouts, nor fails several tests at once.
images=$("${TEST_DIR}/deps/busybox-image.sh") || { echo "cannot build the busybox test image" >&2; exit 1; }
for t in "${tests[@]}"; do
	if declare -f "${t}" | grep -q 'deps/debian-image\.sh'; then
		images="${images} $("${TEST_DIR}/deps/debian-image.sh")" || { echo "cannot build the Debian test image" >&2; exit 1; }
		break
	fi
done

echo "test images: ${images}"

# No test may make an interface in the host's namespace (its daemons make theirs in namespaces of their own): those
# the host has when the run ends, and the tests that were running when one appeared, are reported after the results.
host_links >"${RUN_DIR}/host-links"

pids=()
for t in "${tests[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "${JOBS}" ]; do
		wait -n || true
	done

	run_one "$t" &
	pids+=($!)
done

wait || true

passed=0
failed=0
failed_names=()
for t in "${tests[@]}"; do
	read -r rc secs <"${RUN_DIR}/${t}.rc" || { rc=1; secs=0; }
	if [ "$rc" = "0" ]; then
		echo "PASS ${t} (${secs}s)"
		passed=$((passed + 1))
	else
		echo "FAIL ${t} (${secs}s)"
		sed 's/^/    | /' "${RUN_DIR}/${t}.log" | tail -n 60
		failed=$((failed + 1))
		failed_names+=("$t")
	fi
done

echo
echo "integration: ${passed} passed, ${failed} failed"
left=$(comm -13 "${RUN_DIR}/host-links" <(host_links) | tr '\n' ' ')
seen=$(for t in "${tests[@]}"; do [ ! -s "${RUN_DIR}/${t}.host-links" ] || echo "${t} ($(tr '\n' ' ' <"${RUN_DIR}/${t}.host-links"| sed 's/ $//'))"; done | tr '\n' ' ')
if [ -n "${left}${seen}" ]; then
	echo "WARNING: interfaces in the host's namespace that were not there before the run: ${left:-none left at the end}"
	echo "WARNING: tests that ended while one was there: ${seen:-none}"
fi
[ "${failed}" -eq 0 ] || { echo "failed: ${failed_names[*]}"; echo "logs in ${RUN_DIR}"; exit 1; }
rm -rf "${RUN_DIR}"

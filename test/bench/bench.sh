#!/usr/bin/env bash
# Benchmarks our daemon against the stock LXD 5.0.2 in one run, with the same inputs and the same client (curl and
# apibench over each daemon's unix socket), and writes the table to doc/benchmarks.md. Both daemons run in a network
# namespace of their own: nothing they do reaches beyond this machine. Medians of RUNS runs (default 3).
#
# The measures are grouped in suites, test/bench/suites/NN-NAME.sh, each defining bench_NAME, run in the order of NN;
# BENCH_SUITES chooses which run (all by default). Each suite's results replace its own part of
# doc/benchmarks.md, under a line with the date, the commit and the machine, so that a suite can be measured again
# alone.
set -eu -o pipefail
cd "$(dirname "$0")/../.."
MAIN=$(pwd)
RUNS=${RUNS:-3}
LIST_SIZES=${LIST_SIZES:-"200 1000"}
SUITES=$(for f in test/bench/suites/[0-9][0-9]-*.sh; do f=${f##*/[0-9][0-9]-}; echo "${f%.sh}"; done)
SUITES=$(echo ${SUITES})
BENCH_SUITES=${BENCH_SUITES:-${SUITES}}
for s in ${BENCH_SUITES}; do
	case " ${SUITES} " in
	*" ${s} "*) ;;
	*) echo "unknown benchmark suite ${s} (known: ${SUITES})" >&2; exit 1 ;;
	esac
done

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
make -s build
WORK=$(mktemp -d /var/tmp/lxd-bench.XXXXXX)
# Unprivileged containers need to traverse the daemons' directories.
chmod 711 "${WORK}"
go build -o "${WORK}/apibench" ./test/bench/apibench
# One namespace for each daemon: both make a bridge and a firewall table of the same names.
NETNS_OURS="lxdbench-ours-$$"
NETNS_STOCK="lxdbench-stock-$$"
for ns in "${NETNS_OURS}" "${NETNS_STOCK}"; do
	ip netns add "${ns}"
	ip netns exec "${ns}" ip link set lo up
done

cleanup() {
	# Suites that start daemons of their own record how to stop them.
	[ ! -f "${WORK}/cleanup.sh" ] || bash "${WORK}/cleanup.sh" || true
	LXD_DIR="${WORK}/ours" "${MAIN}/bin/lxd" shutdown --timeout 30 >/dev/null 2>&1 || true
	LXD_DIR="${WORK}/stock" /usr/bin/lxd shutdown --timeout 30 >/dev/null 2>&1 || true
	ip netns del "${NETNS_OURS}" 2>/dev/null || true
	ip netns del "${NETNS_STOCK}" 2>/dev/null || true
	rm -rf "${WORK}"
}
trap cleanup EXIT

mkdir -p "${WORK}/ours" "${WORK}/stock" "${WORK}/blocks" "${WORK}/conf"
chmod 711 "${WORK}/ours" "${WORK}/stock"
# The oci suite's registry, on the loopback of our daemon's namespace, has a certificate of a CA of its own, which
# our daemon trusts (SSL_CERT_FILE) from its start.
case " ${BENCH_SUITES} " in
*" oci "*)
	# shellcheck source=test/includes/web.sh
	. test/includes/web.sh
	make_test_ca "${WORK}/oci-ca"
	;;
esac
OURS_ENV=()
[ ! -f "${WORK}/oci-ca/ca.crt" ] || OURS_ENV=("SSL_CERT_FILE=${WORK}/oci-ca/ca.crt")
LXD_DIR="${WORK}/ours" ip netns exec "${NETNS_OURS}" env "${OURS_ENV[@]}" "${MAIN}/bin/lxd" --logfile "${WORK}/ours.log" &
OURS_PID=$!
LXD_DIR="${WORK}/stock" ip netns exec "${NETNS_STOCK}" /usr/bin/lxd --logfile "${WORK}/stock.log" >/dev/null 2>&1 &
STOCK_PID=$!
LXD_DIR="${WORK}/ours" "${MAIN}/bin/lxd" waitready --timeout 60
LXD_DIR="${WORK}/stock" /usr/bin/lxd waitready --timeout 60

# shellcheck source=test/bench/lib.sh
. test/bench/lib.sh

# Idle memory, before any work.
sleep 5
RSS_IDLE_OURS=$(rss_mib "${OURS_PID}")
RSS_IDLE_STOCK=$(rss_mib "${STOCK_PID}")

debian=$(test/deps/debian-image.sh)
DEBIAN_UNIFIED="${debian}/unified.tar.gz"
DEBIAN_META="${debian}/meta.tar.xz"
DEBIAN_ROOTFS="${debian}/rootfs.tar.gz"
DEBIAN_FP=$(sha256sum "${DEBIAN_UNIFIED}" | cut -d' ' -f1)
DEBIAN_MB=$(du -m "${DEBIAN_UNIFIED}" | cut -f1)

# Both daemons start without a pool: each gets a dir pool and a root disk in its default profile, as `lxd init`
# would give them, and the busybox image.
busybox=$(test/deps/busybox-image.sh)
for who in ours stock; do
	lxcw "${who}" storage create default dir >/dev/null
	lxcw "${who}" profile device add default root disk path=/ pool=default >/dev/null
	lxcw "${who}" image import "${busybox}/unified.tar.xz" --alias bench-busybox >/dev/null
done

for s in ${SUITES}; do
	case " ${BENCH_SUITES} " in
	*" ${s} "*) ;;
	*) continue ;;
	esac

	# shellcheck source=/dev/null
	. test/bench/suites/[0-9][0-9]-"${s}".sh
	"bench_${s}"
done

# Each suite's results go between its markers in doc/benchmarks.md (appended at the end the first time).
machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem/ {print $2}') GiB, kernel $(uname -r)"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="${commit} with local changes"
cp doc/benchmarks.md "${WORK}/benchmarks.md"
for s in ${SUITES}; do
	[ -f "${WORK}/blocks/${s}.md" ] || continue
	{
		echo "<!-- bench:${s} -->"
		echo "Measured on $(date -u +%Y-%m-%d) at ${commit}, ${machine}, median of ${RUNS} runs:"
		echo
		cat "${WORK}/blocks/${s}.md"
		echo "<!-- /bench:${s} -->"
	} >"${WORK}/block"
	echo "== ${s}"
	cat "${WORK}/blocks/${s}.md"
	if grep -qx "<!-- bench:${s} -->" "${WORK}/benchmarks.md"; then
		awk -v begin="<!-- bench:${s} -->" -v end="<!-- /bench:${s} -->" -v file="${WORK}/block" '
			$0 == begin { while ((getline line < file) > 0) print line; skip = 1; next }
			$0 == end { skip = 0; next }
			!skip' "${WORK}/benchmarks.md" >"${WORK}/benchmarks.new"
		mv "${WORK}/benchmarks.new" "${WORK}/benchmarks.md"
	else
		{
			echo
			cat "${WORK}/block"
		} >>"${WORK}/benchmarks.md"
	fi
done
mv "${WORK}/benchmarks.md" doc/benchmarks.md

#!/usr/bin/env bash
# Checks, and prints, what the integration suite assumes about the machine it runs on, before any test runs: the
# tools the suites call, root's subordinate id ranges (which decide the host ids of unprivileged containers), the
# cgroup layout, and the kernel features containers need (overlayfs, user, network and mount namespaces, veth and
# bridge links, /dev/net/tun and a loop device). It changes nothing on the machine: namespaces and mounts it tries
# are private and gone when it exits.
#
# Usage: test/machine-check.sh   (exits 1, naming what is wrong, when an assumption does not hold)
set -u
cd "$(dirname "$0")"

failures=0
ok() { printf 'ok    %s\n' "$*"; }
note() { printf 'note  %s\n' "$*"; }
bad() {
	printf 'FAIL  %s\n' "$*"
	failures=$((failures + 1))
}

echo "machine check for the integration suite ($(uname -srm), $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown OS}"))"

if [ "$(id -u)" -ne 0 ]; then
	bad "not running as root: the suite starts daemons and containers and must run as root"
	exit 1
fi

# --- Tools the suites call, and the Debian packages holding them ("make test-deps" installs the Makefile's lists).
tools="curl:curl jq:jq openssl:openssl nginx:nginx-light bc:bc busybox:busybox-static debootstrap:debootstrap
ip:iproute2 sqlite3:sqlite3 script:bsdutils flock:util-linux unshare:util-linux findmnt:util-linux
xz:xz-utils zstd:zstd bzip2:bzip2 gzip:gzip mksquashfs:squashfs-tools tar:tar awk:mawk sha256sum:coreutils
mkfs.xfs:xfsprogs"
missing=""
for t in ${tools}; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing="${missing} ${t%%:*} (Debian package ${t#*:})"
done

# test_load_100_clients and test_image_corpus build and run Go code of the repository.
command -v go >/dev/null 2>&1 || missing="${missing} go (the Go toolchain that builds the daemon)"
if [ -n "${missing}" ]; then
	bad "commands the suites call are missing:${missing}"
else
	ok "the commands the suites call are installed"
fi

# The busybox test image is the static busybox copied into a root filesystem: a dynamic one would not run there.
if [ -x /bin/busybox ] && ! file -L /bin/busybox 2>/dev/null | grep -q "statically linked"; then
	command -v file >/dev/null 2>&1 && bad "/bin/busybox is not statically linked: install busybox-static, not busybox"
fi

if [ "${BASH_VERSINFO[0]}" -lt 5 ]; then
	bad "bash ${BASH_VERSION}: the suite needs bash 5 (wait -n, mapfile)"
fi

# The stock LXD (Debian's lxd and lxd-client) the suites compare against and drive our daemon with.
if [ -x /usr/bin/lxc ] && [ -x /usr/bin/lxd ]; then
	stock=$(/usr/bin/lxd --version 2>/dev/null || echo unknown)
	case "${stock}" in
	5.0.*) ok "stock LXD ${stock} at /usr/bin/lxd and /usr/bin/lxc" ;;
	*) bad "stock LXD at /usr/bin/lxd is version ${stock}; the suites expect Debian 12's 5.0.x (packages lxd, lxd-client)" ;;
	esac
else
	bad "no stock LXD at /usr/bin/lxd and /usr/bin/lxc (Debian packages lxd, lxd-client)"
fi

if [ -d /usr/share/lxc/config ] && [ -e /usr/lib/x86_64-linux-gnu/liblxc.so.1 ] || ldconfig -p 2>/dev/null | grep -q 'liblxc\.so\.1 '; then
	ok "liblxc $(dpkg-query -W -f='${Version}' liblxc1 2>/dev/null || echo '(version unknown)')"
else
	bad "liblxc is not installed (Debian package lxc)"
fi

# --- Root's subordinate ids. The daemon maps unprivileged containers' root to the start of root's first range of at
# least 65536 ids in /etc/subuid and /etc/subgid, and appends root:1000000:1000000000 to a file that has none when it
# starts (lxd/instance/idmap.go); a malformed line makes it run every container privileged. Debian's lxd package
# writes root:100000:10000001. The tests read the map from the daemon, so either is fine: this says which applies.
# subid_file FILE KIND: checks FILE and sets subid_start to the host id containers' root will get.
subid_file() {
	local file=$1 kind=$2 lineno=0 line user start count extra rootline=""
	subid_start=1000000
	if [ ! -e "${file}" ]; then
		note "${file} does not exist: the daemon will create it with root:1000000:1000000000 at its first start"
		return 0
	fi

	while IFS= read -r line || [ -n "${line}" ]; do
		lineno=$((lineno + 1))
		line=$(printf '%s' "${line}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		case "${line}" in "" | "#"*) continue ;; esac
		extra=""
		IFS=: read -r user start count extra <<<"${line}"
		if [ -n "${extra}" ] || ! [[ "${start}" =~ ^[0-9]+$ ]] || ! [[ "${count}" =~ ^[0-9]+$ ]] || [ "${count}" -eq 0 ]; then
			bad "${file} line ${lineno} is not user:start:count (\"${line}\"): the daemon would refuse the file and run every container privileged"
			return 0
		fi

		if [ -z "${rootline}" ] && { [ "${user}" = root ] || [ "${user}" = 0 ]; } && [ "${count}" -ge 65536 ]; then
			rootline="${start} ${count}"
		fi
	done <"${file}"

	if [ -z "${rootline}" ]; then
		if [ -w "${file}" ]; then
			note "root has no range of 65536 ${kind}s in ${file}: the daemon will append root:1000000:1000000000 at its first start"
		else
			bad "root has no range of 65536 ${kind}s in ${file}, and the daemon cannot add one: the file is not writable"
		fi
		return 0
	fi

	read -r start count <<<"${rootline}"
	if [ "${start}" -eq 0 ]; then
		bad "root's ${kind} range in ${file} starts at 0: unprivileged containers would own host files as the host's root"
		return 0
	fi

	ok "root's ${kind} range in ${file}: ${start}-$((start + count - 1)) (${count} ids): unprivileged containers' root is host ${kind} ${start}"
	subid_start=${start}
}

subid_file /etc/subuid uid
uid_start=${subid_start}
subid_file /etc/subgid gid
gid_start=${subid_start}

# --- Cgroups: liblxc and the daemon's freezer work with the unified hierarchy, the hybrid layout or v1; pausing a
# container needs a freezer, and unix-char/unix-block devices need the devices controller (v1) or cgroup2.
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	layout="unified (cgroup2 only)"
	[ -e /sys/fs/cgroup/cgroup.subtree_control ] || bad "cgroup2 at /sys/fs/cgroup without cgroup.subtree_control"
	freezer=cgroup2
elif [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
	layout="hybrid (cgroup v1 controllers, cgroup2 at /sys/fs/cgroup/unified)"
	freezer=cgroup2
	[ -d /sys/fs/cgroup/devices ] || bad "hybrid cgroup layout without the v1 devices controller: device rules for containers cannot be set"
elif [ -d /sys/fs/cgroup/freezer ] || [ -d /sys/fs/cgroup/memory ]; then
	layout="v1"
	freezer=""
	[ -d /sys/fs/cgroup/freezer ] && freezer=v1
	[ -d /sys/fs/cgroup/devices ] || bad "cgroup v1 without the devices controller: device rules for containers cannot be set"
else
	layout=""
	bad "no cgroup hierarchy mounted at /sys/fs/cgroup"
fi

if [ -n "${layout}" ]; then
	if [ -z "${freezer}" ]; then
		bad "cgroup layout ${layout} has no freezer: lxc pause cannot work"
	else
		ok "cgroup layout: ${layout}; freezer: ${freezer}; this shell's cgroups: $(tr '\n' ' ' </proc/self/cgroup)"
	fi
fi

# --- Kernel features, tried rather than looked up.
tmp=$(mktemp -d /tmp/machine-check.XXXXXX)
trap 'rm -rf "${tmp}"' EXIT

# Overlayfs: every container's root is an overlay on its image's base.
mkdir -p "${tmp}/lower" "${tmp}/upper" "${tmp}/work" "${tmp}/merged"
echo lower >"${tmp}/lower/f"
if out=$(unshare --mount --propagation private sh -c "mount -t overlay overlay -o lowerdir=${tmp}/lower,upperdir=${tmp}/upper,workdir=${tmp}/work ${tmp}/merged && cat ${tmp}/merged/f" 2>&1) && [ "${out}" = lower ]; then
	ok "overlayfs mounts"
else
	bad "cannot mount overlayfs (${out}): containers' roots are overlays (kernel module overlay)"
fi

# User namespaces with root's ranges: unprivileged containers' ids. liblxc, run by root, writes the maps itself (no
# newuidmap, which would also look at /etc/subuid): so does this, into a namespace a child holds.
userns_map() {
	local pid i
	unshare --user sleep 30 &
	pid=$!
	for i in $(seq 50); do
		[ "$(readlink "/proc/${pid}/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] && break
		sleep 0.1
	done

	{ echo "0 ${uid_start} 65536" >"/proc/${pid}/uid_map" && echo "0 ${gid_start} 65536" >"/proc/${pid}/gid_map" &&
		awk '{print $1, $2, $3}' "/proc/${pid}/uid_map" "/proc/${pid}/gid_map"; } 2>&1
	kill "${pid}" 2>/dev/null
	wait "${pid}" 2>/dev/null
	return 0
}

if [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -eq 0 ]; then
	bad "user namespaces are disabled (user.max_user_namespaces is 0): unprivileged containers cannot start"
elif out=$(userns_map) && [ "${out}" = "$(printf '0 %s 65536\n0 %s 65536' "${uid_start}" "${gid_start}")" ]; then
	ok "user namespaces map root to host uid ${uid_start} and gid ${gid_start}"
else
	bad "cannot give a user namespace the map root -> host uid ${uid_start}, gid ${gid_start}: ${out}"
fi

# Network namespaces (ip netns, used by the suites to keep daemons off the host's network), veth pairs and bridges
# (bridged nics): tried in a namespace of their own, gone when the command ends.
ns="machine-check-$$"
if ip netns add "${ns}" 2>"${tmp}/err"; then
	ip netns del "${ns}"
	ok "ip netns add works"
else
	bad "ip netns add fails: $(cat "${tmp}/err"): the suites run daemons in network namespaces of their own"
fi

if out=$(unshare --net sh -c 'ip link add mc-v0 type veth peer name mc-v1 && ip link add mc-br0 type bridge &&
	ip link set mc-v0 master mc-br0 && ip link set mc-br0 up && ip link set mc-v0 up' 2>&1); then
	ok "veth pairs and bridges can be created (in a private network namespace)"
else
	bad "cannot create a veth pair or a bridge: ${out} (kernel modules veth and bridge): bridged nics cannot work"
fi

# Device nodes test_devices_unix gives to containers.
if [ -c /dev/net/tun ]; then
	ok "/dev/net/tun is a character device"
else
	bad "/dev/net/tun is missing (kernel module tun): test_devices_unix passes it to a container"
fi

if [ -b /dev/loop0 ]; then
	ok "/dev/loop0 is a block device"
else
	bad "/dev/loop0 is missing (kernel module loop; losetup -f creates the first node): test_devices_unix passes it to a container"
fi

# The suite's daemons, containers' storage and programs it builds (test/load) live under /tmp, fixtures under
# /var/tmp: no noexec, and room for the Debian image and several copies of it.
for dir in /tmp /var/tmp; do
	opts=$(findmnt -n -o OPTIONS -T "${dir}" 2>/dev/null || echo unknown)
	case ",${opts}," in
	*,noexec,*) bad "${dir} is mounted noexec (${opts}): the suite runs programs it builds under it" ;;
	esac

	avail=$(df -Pk "${dir}" | awk 'NR == 2 {print $4}')
	if [ "${avail}" -lt $((3 * 1024 * 1024)) ]; then
		bad "only $((avail / 1024)) MiB free under ${dir}: the suite needs about 3 GiB"
	else
		ok "${dir}: $((avail / 1024 / 1024)) GiB free, mounted ${opts}"
	fi
done

# The Debian image is built once with debootstrap from the network; say so when it is not cached yet.
# (The key as deps/debian-image.sh and deps/fixture.sh compute it.)
key=$(printf '%s' "$(sha256sum <deps/debian-image.sh) $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null)" | sha256sum | cut -c1-16)
if [ -f "/var/tmp/lxd-go-fixtures/debian-${key}/.done" ]; then
	ok "the Debian test image is cached: /var/tmp/lxd-go-fixtures/debian-${key}"
else
	mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
	if curl -sfI --max-time 15 "${mirror}/dists/bookworm/Release" >/dev/null 2>&1; then
		ok "no Debian image cached yet: the first test needing one builds it from ${mirror} (reachable)"
	else
		bad "no Debian image cached and ${mirror} is not reachable: the Debian image tests need it once (set DEBIAN_MIRROR)"
	fi
fi

if [ "${failures}" -gt 0 ]; then
	echo "machine check: ${failures} assumption(s) of the integration suite do not hold on this machine (FAIL lines above)"
	exit 1
fi

echo "machine check: the integration suite's assumptions hold"

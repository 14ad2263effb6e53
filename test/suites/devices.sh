# Devices of instances and profiles: host directories and files bind mounted into containers, bridged nics, and the
# "config device" and "profile device|assign|add|remove|copy" commands of our client and the stock one.

# config_devices DIR NAME: prints the instance's own devices as compact JSON.
config_devices() {
	local_curl "$1" "/1.0/instances/$2" | jq -cS .metadata.devices
}

test_devices_disk() {
	local d="${TEST_TMP}/d" host="${TEST_TMP}/host" out before
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	mkdir -p "${host}/data" "${host}/outside"
	echo "from the host" >"${host}/data/file"
	echo "single file" >"${host}/single"
	lxc_in "${d}" init bb c1

	# A directory, read-write and read-only, and a single file.
	assert_eq "$(lxc_in "${d}" config device add c1 data disk source="${host}/data" path=/mnt/data)" "Device data added to c1"
	lxc_in "${d}" config device add c1 ro disk source="${host}/data" path=/mnt/ro readonly=true >/dev/null
	lxc_in "${d}" config device add c1 one disk source="${host}/single" path=/etc/single >/dev/null
	assert_eq "$(lxc_in "${d}" config device list c1 | tr '\n' ' ')" "data one ro " "device list"
	assert_eq "$(lxc_in "${d}" config device get c1 ro readonly)" "true" "device get"
	assert_contains "$(lxc_in "${d}" config device show c1)" "ro:
  path: /mnt/ro
  readonly: \"true\"
  source: ${host}/data
  type: disk"
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /mnt/data/file)" "from the host" "file in the bind mounted directory"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/single)" "single file" "bind mounted file"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /mnt/ro/file)" "from the host" "file in the read-only mount"
	assert_fails lxc_in "${d}" exec c1 -- touch /mnt/ro/new
	assert_contains "${FAIL_OUTPUT}" "Read-only file system"
	[ ! -e "${host}/data/new" ] || fail "a write went through the read-only mount"

	# A symlink in the container pointing at a host path resolves inside the rootfs: the host is not written.
	lxc_in "${d}" exec c1 -- ln -s "${host}/outside" /mnt/evil
	lxc_in "${d}" stop c1 -f
	lxc_in "${d}" config device add c1 evil disk source="${host}/data" path=/mnt/evil/sub >/dev/null
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat "${host}/outside/sub/file")" "from the host" "mount through the symlink"
	[ -z "$(ls -A "${host}/outside")" ] || fail "the mount through a symlink wrote on the host: $(ls -A "${host}/outside")"

	# set, unset and remove; the removed mount is gone after a restart.
	lxc_in "${d}" config device set c1 ro readonly=false
	assert_eq "$(lxc_in "${d}" config device get c1 ro readonly)" "false" "device set"
	lxc_in "${d}" config device unset c1 ro readonly
	assert_eq "$(lxc_in "${d}" config device get c1 ro readonly)" "" "device unset"
	assert_eq "$(lxc_in "${d}" config device remove c1 data evil)" "Device data, evil removed from c1" "device remove"
	lxc_in "${d}" restart c1 -f
	assert_fails lxc_in "${d}" exec c1 -- test -e /mnt/data/file
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /mnt/ro/file)" "from the host" "the kept mount after a restart"

	# Refusals change nothing: a duplicate name, an unknown device, an invalid key or value, a relative path.
	before=$(config_devices "${d}" c1)
	assert_fails lxc_in "${d}" config device add c1 ro disk source=/tmp path=/mnt/x
	assert_contains "${FAIL_OUTPUT}" "already exists"
	assert_fails lxc_in "${d}" config device remove c1 nope
	assert_contains "${FAIL_OUTPUT}" "does not exist"
	assert_fails lxc_in "${d}" config device set c1 nope readonly=true
	assert_fails lxc_in "${d}" config device set c1 ro bogus=1
	assert_contains "${FAIL_OUTPUT}" "unknown disk key"
	assert_fails lxc_in "${d}" config device add c1 rel disk source=/tmp path=mnt/rel
	assert_fails lxc_in "${d}" config device add c1 dots disk source=/tmp path=/mnt/../etc
	assert_fails lxc_in "${d}" config device add c1 vol disk source=vol1 path=/mnt/vol
	assert_fails lxc_in "${d}" config device add c1 gpu0 gpu
	assert_eq "$(config_devices "${d}" c1)" "${before}" "devices after refused changes"

	# A source missing at start: a clear error naming the device, and the container stays stopped.
	lxc_in "${d}" stop c1 -f
	lxc_in "${d}" config device add c1 gone disk source="${host}/gone" path=/mnt/gone >/dev/null
	assert_fails lxc_in "${d}" start c1
	assert_contains "${FAIL_OUTPUT}" "device \"gone\": the source \"${host}/gone\" does not exist"
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "STOPPED" "status after a failed start"
	lxc_in "${d}" config device remove c1 gone >/dev/null

	# Profiles: devices, assign/add/remove/copy; a disk from a profile is mounted.
	lxc_in "${d}" profile create p1 >/dev/null
	assert_eq "$(lxc_in "${d}" profile device add p1 pd disk source="${host}/data" path=/mnt/profile)" "Device pd added to p1"
	assert_eq "$(lxc_in "${d}" profile device list p1)" "pd" "profile device list"
	lxc_in "${d}" profile device set p1 pd readonly=true
	assert_eq "$(lxc_in "${d}" profile device get p1 pd readonly)" "true" "profile device get"
	assert_contains "$(lxc_in "${d}" profile device show p1)" "pd:"
	assert_eq "$(lxc_in "${d}" profile add c1 p1)" "Profile p1 added to c1"
	assert_fails lxc_in "${d}" profile add c1 p1
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.profiles | join(",")')" "default,p1" "profiles after add"
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /mnt/profile/file)" "from the host" "disk from a profile"
	assert_fails lxc_in "${d}" exec c1 -- touch /mnt/profile/new

	# A profile device cannot be removed from the instance, only overridden.
	assert_fails lxc_in "${d}" config device remove c1 pd
	assert_contains "${FAIL_OUTPUT}" "comes from a profile"
	assert_eq "$(lxc_in "${d}" config device override c1 pd readonly=false)" "Device pd overridden for c1"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -c .metadata.devices.pd)" \
		"{\"path\":\"/mnt/profile\",\"readonly\":\"false\",\"source\":\"${host}/data\",\"type\":\"disk\"}" "overridden device"
	assert_fails lxc_in "${d}" config device override c1 pd
	lxc_in "${d}" config device remove c1 pd >/dev/null

	assert_eq "$(lxc_in "${d}" profile remove c1 p1)" "Profile p1 removed from c1"
	assert_fails lxc_in "${d}" profile remove c1 p1
	assert_contains "${FAIL_OUTPUT}" "isn't currently applied"
	assert_eq "$(lxc_in "${d}" profile assign c1 default,p1)" "Profiles default,p1 applied to c1"
	lxc_in "${d}" profile copy p1 p2
	assert_eq "$(lxc_in "${d}" profile device get p2 pd path)" "/mnt/profile" "copied profile device"
	assert_fails lxc_in "${d}" profile copy p1 p2
	lxc_in "${d}" profile device set p1 pd path=/mnt/changed
	lxc_in "${d}" profile copy p1 p2 --refresh
	assert_eq "$(lxc_in "${d}" profile device get p2 pd path)" "/mnt/changed" "refreshed profile copy"
	assert_eq "$(lxc_in "${d}" profile device remove p2 pd)" "Device pd removed from p2"
	lxc_in "${d}" profile rename p2 p3 >/dev/null
	lxc_in "${d}" profile delete p3 >/dev/null

	# The stock client against our daemon.
	local conf="${d}.stock"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" config device add c1 s1 disk source="${host}/data" path=/mnt/s1)" "Device s1 added to c1"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" config device get c1 s1 path)" "/mnt/s1" "stock device get"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" config device remove c1 s1)" "Device s1 removed from c1"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" profile device add p1 s2 disk source=/tmp path=/mnt/s2)" "Device s2 added to p1"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" profile remove c1 p1)" "Profile p1 removed from c1"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" profile add c1 p1)" "Profile p1 added to c1"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" profile assign c1 default)" "Profiles default applied to c1"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc config device add c1 one disk source=/tmp path=/x
	lxc_in "${d}" delete -f c1
}

test_devices_nic() {
	local d="${TEST_TMP}/d" out
	make_netns
	nsx ip link add br0 type bridge
	nsx ip addr add 10.217.31.1/24 dev br0
	nsx ip link set br0 up
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1
	lxc_in "${d}" config device add c1 eth0 nic nictype=bridged parent=br0 >/dev/null

	# A missing parent: the start fails clearly and the container stays stopped.
	lxc_in "${d}" config device add c1 eth1 nic nictype=bridged parent=nobr0 >/dev/null
	assert_fails lxc_in "${d}" start c1
	assert_contains "${FAIL_OUTPUT}" "nobr0"
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "STOPPED" "status after a failed start"
	lxc_in "${d}" config device remove c1 eth1 >/dev/null

	lxc_in "${d}" start c1
	lxc_in "${d}" exec c1 -- ip addr add 10.217.31.2/24 dev eth0
	lxc_in "${d}" exec c1 -- ping -c 1 -W 5 10.217.31.1 >/dev/null || fail "the container cannot reach the bridge"
	nsx busybox ping -c 1 -W 5 10.217.31.2 >/dev/null || fail "the namespace cannot reach the container"
	out=$(lxc_in "${d}" list c1 --format csv -c n4)
	assert_eq "${out}" "c1,10.217.31.2 (eth0)" "IPV4 column"
	assert_contains "$(lxc_in "${d}" info c1)" "10.217.31.2"
	lxc_in "${d}" delete -f c1
}

# Disks added to and removed from a running container take effect at once, with our client and the stock one; a
# target through a symlink leading out of the container is refused and changes nothing.
test_devices_hotplug() {
	local d="${TEST_TMP}/d" host="${TEST_TMP}/host" before
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	mkdir -p "${host}/data" "${host}/outside"
	echo "from the host" >"${host}/data/file"
	echo "single file" >"${host}/single"
	lxc_in "${d}" launch bb c1 >/dev/null

	lxc_in "${d}" config device add c1 data disk source="${host}/data" path=/mnt/data >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /mnt/data/file)" "from the host" "hot-plugged directory"
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c %u /mnt)" "0" "owner of a created mount point's parent"
	LXD_DIR="${d}" stock_lxc "${d}.stock" config device add c1 one disk source="${host}/single" path=/etc/single readonly=true >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/single)" "single file" "hot-plugged file"
	assert_fails lxc_in "${d}" exec c1 -- sh -c 'echo x > /etc/single'
	assert_eq "$(cat "${host}/single")" "single file" "host file behind a read-only hot-plugged mount"

	lxc_in "${d}" config device remove c1 data >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- grep -c ' /mnt/data ' /proc/mounts || true)" "0" "mount after the device was removed"

	# A symlink in the container pointing at a host path: refused, the host untouched, the devices unchanged.
	lxc_in "${d}" exec c1 -- ln -s "${host}/outside" /mnt/evil
	before=$(config_devices "${d}" c1)
	assert_fails lxc_in "${d}" config device add c1 evil disk source="${host}/data" path=/mnt/evil/sub
	assert_contains "${FAIL_OUTPUT}" "escapes"
	assert_eq "$(ls -A "${host}/outside")" "" "host directory behind the symlink"
	assert_eq "$(config_devices "${d}" c1)" "${before}" "devices after a refused hot plug"

	# Every thread of the daemon stays in the host's mount namespace, and new instances get their root mounted.
	local host_ns task
	host_ns=$(readlink /proc/self/ns/mnt)
	for task in /proc/"$(cat "${d}/lxd.pid")"/task/*; do
		assert_eq "$(readlink "${task}/ns/mnt")" "${host_ns}" "mount namespace of daemon thread ${task##*/}"
	done

	for i in 1 2 3; do
		lxc_in "${d}" init bb "n${i}" >/dev/null
	done

	# Disks of a profile: applied when the profile is added to the running instance, and when the profile's
	# devices change.
	lxc_in "${d}" profile create shared >/dev/null
	lxc_in "${d}" profile device add shared pdata disk source="${host}/data" path=/srv/pdata >/dev/null
	lxc_in "${d}" profile add c1 shared >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /srv/pdata/file)" "from the host" "disk of a profile added to a running instance"
	lxc_in "${d}" profile device add shared pmore disk source="${host}/data" path=/srv/pmore readonly=true >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /srv/pmore/file)" "from the host" "disk added to a profile in use"
	lxc_in "${d}" profile device remove shared pdata >/dev/null
	assert_eq "$(lxc_in "${d}" exec c1 -- grep -c ' /srv/pdata ' /proc/mounts || true)" "0" "disk removed from a profile in use"

	# The devices stay after a restart.
	lxc_in "${d}" restart c1 -f
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/single)" "single file" "hot-plugged file after a restart"
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /srv/pmore/file)" "from the host" "profile disk after a restart"
	lxc_in "${d}" delete -f c1
	assert_no_instance "${d}" c1
}

# Host devices given to a container: a node of the host device's numbers, with the owner and mode asked for, a
# cgroup rule allowing it in the container's configuration, and nothing for a missing device that is not required.
test_devices_unix() {
	local d="${TEST_TMP}/d"
	[ -c /dev/net/tun ] && [ -b /dev/loop0 ] || fail "the host has no /dev/net/tun or /dev/loop0 to test with"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" config device add c1 tun unix-char path=/dev/net/tun mode=0666 >/dev/null
	lxc_in "${d}" config device add c1 loop unix-block source=/dev/loop0 path=/dev/myloop gid=6 mode=0660 >/dev/null
	lxc_in "${d}" config device add c1 maybe unix-char path=/dev/not-on-this-host required=false >/dev/null
	lxc_in "${d}" start c1

	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%a %u %g %t:%T' /dev/net/tun)" "666 0 0 a:c8" "tun node in the container"
	assert_eq "$(lxc_in "${d}" exec c1 -- sh -c 'exec 3<>/dev/net/tun && echo opened')" "opened" "opening tun in the container"
	assert_contains "$(local_curl "${d}" /1.0/instances/c1/logs/lxc.conf)" "devices.allow = c 10:200 rwm"
	assert_contains "$(local_curl "${d}" /1.0/instances/c1/logs/lxc.conf)" "devices.allow = b 7:0 rwm"
	assert_eq "$(lxc_in "${d}" exec c1 -- stat -c '%a %u %g %t:%T' /dev/myloop)" "660 0 6 7:0" "loop node in the container"
	assert_fails lxc_in "${d}" exec c1 -- test -e /dev/not-on-this-host

	# A required device the host does not have fails the start, which leaves the instance stopped.
	lxc_in "${d}" stop -f c1
	lxc_in "${d}" config device add c1 must unix-char path=/dev/not-on-this-host >/dev/null
	assert_fails lxc_in "${d}" start c1
	assert_contains "${FAIL_OUTPUT}" "/dev/not-on-this-host"
	assert_eq "$(lxc_in "${d}" list c1 -c s -f csv)" "STOPPED" "status after a missing device"
	assert_fails lxc_in "${d}" config device add c1 bad unix-char path=/dev/x major=10
	lxc_in "${d}" delete -f c1
	assert_no_instance "${d}" c1
}

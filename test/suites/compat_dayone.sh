# What the stock LXD 5.0.2 daemon and client do on paths beyond the basics, against ours: exec's environment and
# working directory for other users, list formats, images of unusual layouts, VMs and stateful actions refused, and
# lists across projects. The stock daemon runs in a network namespace of the test's own.

# dayone_stock DIR CONF: starts the stock daemon in DIR (NETNS must be set) with a dir pool, the root disk in the
# default profile and the busybox image as bb.
dayone_stock() {
	local dir=$1 conf=$2
	spawn_stock_lxd "${dir}"
	LXD_DIR="${dir}" stock_lxc "${conf}" storage create default dir >/dev/null
	LXD_DIR="${dir}" stock_lxc "${conf}" profile device add default root disk path=/ pool=default >/dev/null
	import_busybox "${dir}" bb
}

# dayone_user CLIENT...: adds user u1 (1000, home /home/u1) and group g1 (1000) to the instance c1 through CLIENT.
dayone_user() {
	"$@" exec c1 -- sh -c 'echo "u1:x:1000:1000:U One:/home/u1:/bin/sh" >>/etc/passwd; echo "g1:x:1000:" >>/etc/group
		mkdir -p /home/u1; chown 1000:1000 /home/u1'
}

# dayone_exec_probe CLIENT...: prints what commands run in c1 through CLIENT (a program, not a function) see:
# environment, working directory and ids, as root and as another user, with and without --env, --cwd and --group, the
# owner of their terminal, and with /snap in the instance.
dayone_exec_probe() {
	local show='env | sort; pwd; id'
	echo "== root"
	TERM=vt100 "$@" exec c1 -- sh -c "${show}"
	echo "== user 1000"
	TERM=vt100 "$@" exec c1 --user 1000 -- sh -c "${show}"
	echo "== user 1001, not in passwd"
	TERM=vt100 "$@" exec c1 --user 1001 -- sh -c "${show}"
	echo "== user 1000, group, HOME and another variable"
	TERM=vt100 "$@" exec c1 --user 1000 --group 1000 --env HOME=/home/u1 --env FOO=bar -- sh -c "${show}"
	echo "== cwd"
	"$@" exec c1 --user 1000 --cwd /tmp -- pwd
	"$@" exec c1 --cwd /home -- pwd
	echo "== PATH, LANG and TERM asked for"
	"$@" exec c1 --user 1000 --env PATH=/bin --env LANG=fr_FR.UTF-8 --env TERM=dumb -- sh -c 'echo $PATH $LANG $TERM'
	echo "== terminal owner"
	# -t gives the command a terminal without one on this side; its input stays open until the command is over
	# (the end of the input would end an interactive session before its output), and the command waits a moment
	# after its output (the stock daemon may drop the last output of a terminal session that ends at once).
	sleep 3 | "$@" exec c1 -t -- sh -c 'ls -l $(tty); sleep 0.5' | tr -d '\r' | awk '{print $1, $3, $4}'
	sleep 3 | "$@" exec c1 --user 1000 --group 1000 -t -- sh -c 'ls -l $(tty); sleep 0.5' | tr -d '\r' | awk '{print $1, $3, $4}'
	echo "== /snap"
	"$@" exec c1 -- mkdir /snap
	"$@" exec c1 -- sh -c 'echo $PATH'
	"$@" exec c1 --user 1000 -- sh -c 'echo $PATH'
	"$@" exec c1 -- rmdir /snap
}

# dayone_exec_metadata DIR USER: prints the metadata of exec operations on c1 of the daemon of DIR as USER: with
# websockets (left unconnected), and with none, before and after the command ran.
dayone_exec_metadata() {
	local dir=$1 user=$2 op
	local_curl "${dir}" /1.0/instances/c1/exec -X POST -d "{\"command\": [\"true\"], \"user\": ${user},
		\"environment\": {\"A\": \"b\"}, \"wait-for-websocket\": true, \"interactive\": true}" |
		jq -c '.metadata.metadata | del(.fds)'
	op=$(local_curl "${dir}" /1.0/instances/c1/exec -X POST -d "{\"command\": [\"true\"], \"user\": ${user},
		\"wait-for-websocket\": false, \"interactive\": false}")
	jq -c .metadata.metadata <<<"${op}"
	local_curl "${dir}" "$(jq -r .operation <<<"${op}")/wait?timeout=20" | jq -c .metadata.metadata
}

test_compat_dayone_exec() {
	local ours="${TEST_TMP}/ours" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" want
	make_netns
	spawn_instance_lxd "${ours}"
	dayone_stock "${stock}" "${conf}"
	import_busybox "${ours}" bb
	LXD_DIR="${stock}" stock_lxc "${conf}" launch bb c1 >/dev/null 2>&1
	lxc_in "${ours}" launch bb c1 >/dev/null
	LXD_DIR="${stock}" stock_lxc "${conf}" config set c1 environment.FROM_CONFIG=yes
	lxc_in "${ours}" config set c1 environment.FROM_CONFIG=yes
	dayone_user env LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc
	dayone_user lxc_in "${ours}"

	want=$(dayone_exec_probe env LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc)
	# The stock daemon sets no HOME nor USER for other users, and runs their commands in /.
	assert_contains "${want}" "$(printf '== user 1000\nFROM_CONFIG=yes\nLANG=C.UTF-8\nPATH=')"
	assert_contains "${want}" "$(printf 'PWD=/\nSHLVL=1\nTERM=vt100\ncontainer=lxc\n/\nuid=1000(u1)')"
	assert_contains "${want}" "$(printf '== terminal owner\ncrwx------ root root\ncrwx------ u1 root')"
	assert_eq "$(dayone_exec_probe env LXD_DIR="${ours}" LXD_CONF="${conf}" /usr/bin/lxc)" "${want}" \
		"exec through the stock client, our daemon against the stock one"
	assert_eq "$(dayone_exec_probe env LXD_DIR="${ours}" LXD_CONF="${ours}.conf" "${LXC_BIN}")" "${want}" \
		"exec through our client"

	# The environment in the operation is the command's; a command with no websockets has metadata only once ended.
	for user in 0 1000; do
		want=$(dayone_exec_metadata "${stock}" "${user}")
		assert_eq "$(dayone_exec_metadata "${ours}" "${user}")" "${want}" "exec operation metadata as ${user}"
	done
}

# dayone_memory: copies a listing with the memory use of instances (JSON on one line, or YAML) blanked.
dayone_memory() {
	sed -E -e 's/"memory":\{"usage":[0-9]+/"memory":{"usage":N/g' -e '/^    memory:$/{n;s/usage: [0-9]+/usage: N/}'
}

test_compat_dayone_list() {
	local d="${TEST_TMP}/d" conf="${TEST_TMP}/conf" format cols
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb c1 >/dev/null
	lxc_in "${d}" snapshot c1 snap0
	lxc_in "${d}" config set c1 user.comment=hello
	lxc_in "${d}" pause c1
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" snapshot c2
	lxc_in "${d}" init bb c3 --ephemeral >/dev/null

	stk() {
		LXD_DIR="${d}" stock_lxc "${conf}" "$@"
	}

	# Both clients print the same listing of the same (frozen or stopped, so unchanging) instances; only the memory
	# use of a frozen container may still move between the two requests.
	for format in json yaml csv table compact; do
		assert_eq "$(lxc_in "${d}" list --format "${format}" | dayone_memory)" "$(stk list --format "${format}" | dayone_memory)" \
			"list --format ${format}"
	done

	for cols in 46abcdDelmMnNpPsStufF n,user.comment:COMMENT,image.os,devices:root.pool; do
		assert_eq "$(lxc_in "${d}" list -c "${cols}" --format csv)" "$(stk list -c "${cols}" --format csv)" "list -c ${cols}"
	done

	assert_eq "$(lxc_in "${d}" list c1 --format yaml | dayone_memory)" "$(stk list c1 --format yaml | dayone_memory)" \
		"list c1 --format yaml"
	assert_contains "$(lxc_in "${d}" list --format json | jq -c '.[0] | keys_unsorted')" \
		'"type","project","backups","state","snapshots"]'
	assert_eq "$(lxc_in "${d}" list c1 --format json | jq -c '.[0].state.network.lo.counters | keys_unsorted')" \
		'["bytes_received","bytes_sent","packets_received","packets_sent","errors_received","errors_sent","packets_dropped_outbound","packets_dropped_inbound"]'
	assert_eq "$(lxc_in "${d}" list c2 --format json | jq -r '.[0].snapshots[0] | keys_unsorted | first')" "expires_at"
}

# dayone_images DIR FIXTURES: builds in DIR a split image whose metadata part has a rootfs/ tree (a file the rootfs
# part lacks, one it has too) and a unified image with entries beside metadata.yaml, rootfs/ and templates/.
dayone_images() {
	local dir=$1 fixtures=$2
	mkdir -p "${dir}/m/rootfs/etc" "${dir}/m/rootfs/opt" "${dir}/r" "${dir}/u/extra"
	cp -a "${fixtures}/meta/." "${dir}/m/"
	echo from-meta >"${dir}/m/rootfs/etc/from-meta"
	echo meta-version >"${dir}/m/rootfs/etc/both"
	echo tool >"${dir}/m/rootfs/opt/tool"
	chmod 0750 "${dir}/m/rootfs/opt/tool"
	tar -C "${dir}/m" -cJf "${dir}/meta-rootfs.tar.xz" .
	cp -a "${fixtures}/rootfs/." "${dir}/r/"
	echo rootfs-version >"${dir}/r/etc/both"
	tar -C "${dir}/r" -cJf "${dir}/rootfs.tar.xz" .
	cp -a "${fixtures}/meta/." "${dir}/u/"
	cp -a "${fixtures}/rootfs" "${dir}/u/rootfs"
	echo readme >"${dir}/u/README"
	echo extra >"${dir}/u/extra/file"
	tar -C "${dir}/u" -cJf "${dir}/unified-extra.tar.xz" .
}

# dayone_image_probe CLIENT...: imports the images dayone_images built (in IMG) through CLIENT, launches an instance
# of each and prints what they hold.
dayone_image_probe() {
	"$@" image import "${IMG}/meta-rootfs.tar.xz" "${IMG}/rootfs.tar.xz" --alias split-mr | sed 's/.*Image imported.*/imported/'
	"$@" image import "${IMG}/unified-extra.tar.xz" --alias uni-extra | sed 's/.*Image imported.*/imported/'
	"$@" launch split-mr m1 >/dev/null 2>&1
	"$@" exec m1 -- sh -c 'cat /etc/from-meta /etc/both /opt/tool; stat -c "%a %u:%g" /opt/tool; ls /'
	"$@" launch uni-extra u1 >/dev/null 2>&1
	"$@" exec u1 -- sh -c 'ls /; cat /etc/hostname'
}

test_compat_dayone_images() {
	local ours="${TEST_TMP}/ours" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" want fixtures
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	IMG="${TEST_TMP}/img"
	dayone_images "${IMG}" "${fixtures}"
	make_netns
	spawn_instance_lxd "${ours}"
	dayone_stock "${stock}" "${conf}"

	want=$(dayone_image_probe env LXD_DIR="${stock}" LXD_CONF="${conf}" /usr/bin/lxc)
	assert_contains "${want}" "$(printf 'from-meta\nrootfs-version\ntool\n750 0:0\n')"
	assert_eq "$(dayone_image_probe lxc_in "${ours}")" "${want}" "split and unified images with extra entries"

	# A metadata part whose rootfs/ would be written through a symlink is refused, and nothing is stored.
	/usr/bin/python3 - "${IMG}/bad.tar" "${fixtures}/meta" <<'PYEOF'
import io, sys, tarfile
out, meta = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w") as t:
    t.add(meta, arcname=".")
    link = tarfile.TarInfo("rootfs/etc2")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc"
    t.addfile(link)
    data = b"x"
    f = tarfile.TarInfo("rootfs/etc2/passwd")
    f.size = len(data)
    t.addfile(f, io.BytesIO(data))
PYEOF
	local before
	before=$(lxc_in "${ours}" image list --format csv | wc -l)
	assert_fails lxc_in "${ours}" image import "${IMG}/bad.tar" "${IMG}/rootfs.tar.xz"
	assert_contains "${FAIL_OUTPUT}" 'written through the symlink "rootfs/etc2"'
	assert_eq "$(lxc_in "${ours}" image list --format csv | wc -l)" "${before}" "images after the refused import"
}

test_compat_dayone_actions() {
	local d="${TEST_TMP}/d" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" out="${TEST_TMP}/out"
	# Our daemon runs outside the namespace: "ip netns exec" gives its programs a /sys without the freezer.
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	make_netns
	dayone_stock "${stock}" "${conf}"

	stk() {
		LXD_DIR="${d}" stock_lxc "${conf}" "$@"
	}

	# --vm: refused before anything is created, by both clients, as the image is a container image.
	assert_fails lxc_in "${d}" launch bb v1 --vm
	assert_contains "${FAIL_OUTPUT}" "asked for a VM but image is of type container"
	assert_fails stk init bb v1 --vm
	assert_contains "${FAIL_OUTPUT}" "Asked for a VM but image is of type container"
	assert_no_instance "${d}" v1

	# --type is a cloud instance type, sent as the stock client sends it: the stock daemon turns c2-m4 into limits.
	LXD_DIR="${stock}" LXD_CONF="${conf}.ours" "${LXC_BIN}" init bb t1 --type c2-m4 >/dev/null 2>&1
	assert_eq "$(LXD_DIR="${stock}" stock_lxc "${conf}" config get t1 limits.cpu)" "2" "limits.cpu from --type c2-m4"
	assert_eq "$(LXD_DIR="${stock}" stock_lxc "${conf}" config get t1 limits.memory)" "4096MB" "limits.memory from --type"
	# Ours does the same with both clients; a limit given beside the type wins; other types are unknown here.
	lxc_in "${d}" init bb t1 --type c2-m4.5 >/dev/null
	assert_eq "$(lxc_in "${d}" config get t1 limits.cpu) $(lxc_in "${d}" config get t1 limits.memory)" "2 4608MB" \
		"limits from --type on our daemon"
	stk init bb t2 --type c2-m4 -c limits.cpu=1 >/dev/null
	assert_eq "$(lxc_in "${d}" config get t2 limits.cpu) $(lxc_in "${d}" config get t2 limits.memory)" "1 4096MB" \
		"limits from the stock client's --type"
	assert_fails lxc_in "${d}" init bb t3 --type t2.micro
	assert_contains "${FAIL_OUTPUT}" "instance type doesn't exist: t2.micro"
	assert_no_instance "${d}" t3
	lxc_in "${d}" delete t1 t2

	# Stateful stop and snapshots are refused (no CRIU) and change nothing; start --stateless starts.
	lxc_in "${d}" launch bb c1 >/dev/null
	lxc_in "${d}" init bb c2 >/dev/null
	for cli in "lxc_in ${d}" stk; do
		assert_fails ${cli} stop c1 --stateful
		assert_contains "${FAIL_OUTPUT}" "live migration"
		assert_fails ${cli} snapshot c1 --stateful
		assert_contains "${FAIL_OUTPUT}" "CRIU"
		assert_fails ${cli} snapshot c2 --stateful
		assert_contains "${FAIL_OUTPUT}" "isn't running"
	done

	assert_eq "$(lxc_in "${d}" list --format csv -c nsS)" "c1,RUNNING,0
c2,STOPPED,0" "after the refused stateful actions"
	lxc_in "${d}" start c2 --stateless
	lxc_in "${d}" stop c2 --force

	# snapshot --reuse replaces a snapshot of the same name; without it, the name is taken.
	local taken
	lxc_in "${d}" snapshot c2 s0
	taken=$(local_curl "${d}" /1.0/instances/c2/snapshots/s0 | jq -r .metadata.created_at)
	assert_fails lxc_in "${d}" snapshot c2 s0
	for cli in "lxc_in ${d}" stk; do
		sleep 1
		${cli} snapshot c2 s0 --reuse
		assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata | length')" "1" "snapshots after --reuse"
		[ "$(local_curl "${d}" /1.0/instances/c2/snapshots/s0 | jq -r .metadata.created_at)" != "${taken}" ] ||
			fail "snapshot --reuse kept the old snapshot"
		taken=$(local_curl "${d}" /1.0/instances/c2/snapshots/s0 | jq -r .metadata.created_at)
	done

	lxc_in "${d}" delete c2/s0

	# start resumes a frozen instance, as the stock client's does.
	lxc_in "${d}" pause c1
	lxc_in "${d}" start c1
	assert_eq "$(lxc_in "${d}" list c1 --format csv -c s)" "RUNNING" "start of a frozen instance"

	# --console: not with --all nor several instances; after the start, the console of the instance.
	assert_fails lxc_in "${d}" start --all --console
	assert_contains "${FAIL_OUTPUT}" "--console can't be used with --all"
	assert_fails lxc_in "${d}" start c1 c2 --console
	assert_contains "${FAIL_OUTPUT}" "--console only works with a single instance"
	{ lxc_in "${d}" file pull c2/etc/inittab -; echo "::respawn:/bin/sh"; } >"${TEST_TMP}/inittab"
	lxc_in "${d}" file push "${TEST_TMP}/inittab" c2/etc/inittab
	LXD_DIR="${d}" LXD_CONF="${d}.conf" console_session "${out}" started "${LXC_BIN}" start c2 --console
	assert_contains "$(cat "${out}")" "To detach from the console, press: <ctrl>+a q" "console after start"
	assert_contains "$(cat "${out}")" "started42" "console echo after start"
	assert_eq "$(lxc_in "${d}" list c2 --format csv -c s)" "RUNNING" "state after start --console"
	LXD_DIR="${d}" LXD_CONF="${d}.conf" console_session "${out}" launched "${LXC_BIN}" launch bb c3 --console
	assert_contains "$(cat "${out}")" "To detach from the console, press: <ctrl>+a q" "console after launch"
	assert_eq "$(lxc_in "${d}" list c3 --format csv -c s)" "RUNNING" "state after launch --console"
}

test_compat_dayone_all_projects() {
	local d="${TEST_TMP}/d" stock="${TEST_TMP}/stock" conf="${TEST_TMP}/conf" dir format
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c2 >/dev/null
	lxc_in "${d}" init bb c1 >/dev/null
	make_netns
	dayone_stock "${stock}" "${conf}"
	LXD_DIR="${stock}" stock_lxc "${conf}" init bb c1 >/dev/null 2>&1
	LXD_DIR="${stock}" stock_lxc "${conf}" project create p1 -c features.images=false -c features.profiles=false >/dev/null
	LXD_DIR="${stock}" stock_lxc "${conf}" init bb a1 --project p1 >/dev/null 2>&1

	# Our client lists across projects as the stock client does: the project column first by default, not with -c.
	for dir in "${d}" "${stock}"; do
		for format in table csv json yaml; do
			assert_eq "$(LXD_DIR="${dir}" LXD_CONF="${conf}.ours" "${LXC_BIN}" list --all-projects --format "${format}")" \
				"$(LXD_DIR="${dir}" stock_lxc "${conf}" list --all-projects --format "${format}")" "list --all-projects --format ${format}"
		done

		assert_eq "$(LXD_DIR="${dir}" LXD_CONF="${conf}.ours" "${LXC_BIN}" list --all-projects -c ns status=stopped --format csv)" \
			"$(LXD_DIR="${dir}" stock_lxc "${conf}" list --all-projects -c ns status=stopped --format csv)" "list --all-projects -c ns"
	done

	assert_contains "$(LXD_DIR="${stock}" LXD_CONF="${conf}.ours" "${LXC_BIN}" list --all-projects --format csv)" "p1,a1,STOPPED"
	assert_fails lxc_in "${d}" list --all-projects --project default
	assert_contains "${FAIL_OUTPUT}" "can't specify --project with --all-projects"
}

test_compat_dayone_devices() {
	local d="${TEST_TMP}/d" conf="${TEST_TMP}/conf" cli
	# The daemon runs in a namespace of the test's own: it creates a bridge.
	make_netns
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	stk() {
		LXD_DIR="${d}" stock_lxc "${conf}" "$@"
	}

	# -n attaches eth0 to a managed network.
	lxc_in "${d}" network create n1 ipv4.address=none ipv6.address=none >/dev/null
	stk init bb s3 -n n1 >/dev/null 2>&1
	lxc_in "${d}" init bb o3 -n n1 >/dev/null
	assert_eq "$(lxc_in "${d}" config device show o3)" "$(stk config device show s3)" "-n"
	if local_curl "${d}" /1.0 | jq -e '.metadata.api_extensions | index("instance_nic_network")' >/dev/null; then
		assert_contains "$(lxc_in "${d}" config device show o3)" "network: n1" "-n"
	else
		assert_contains "$(lxc_in "${d}" config device show o3)" "parent: n1" "-n"
	fi

	# -s puts the root disk on a pool, -d overrides a key of a device of the instance or of its profiles.
	stk init bb s1 -s default -d root,size=2GiB >/dev/null 2>&1
	stk init bb s2 -d root,size=1GiB >/dev/null 2>&1
	lxc_in "${d}" init bb o1 -s default -d root,size=2GiB >/dev/null
	lxc_in "${d}" init bb o2 -d root,size=1GiB >/dev/null
	assert_eq "$(lxc_in "${d}" config device show o1)" "$(stk config device show s1)" "-s and -d"
	assert_eq "$(lxc_in "${d}" config device show o2)" "$(stk config device show s2)" "-d on a profile device"
	assert_eq "$(lxc_in "${d}" config device show o2)" "root:
  path: /
  pool: default
  size: 1GiB
  type: disk" "-d on a profile device"

	# What cannot be found is refused before anything is created.
	for cli in "lxc_in ${d}" stk; do
		assert_fails ${cli} init bb e1 -d eth0,mtu=1400
		assert_contains "${FAIL_OUTPUT,,}" 'cannot override config for device "eth0": device not found in profile devices'
		assert_fails ${cli} init bb e1 -n nonet
		assert_contains "${FAIL_OUTPUT,,}" 'failed loading network "nonet"'
		assert_fails ${cli} init bb e1 -s nopool
		assert_contains "${FAIL_OUTPUT,,}" 'failed loading storage pool "nopool"'
		assert_fails ${cli} init bb e1 -d root
		assert_contains "${FAIL_OUTPUT,,}" "bad device override syntax, expecting <device>,<key>=<value>: root"
	done

	# A new instance without a nic gets the stock client's hint on standard error; one with a nic does not.
	assert_eq "$(lxc_in "${d}" init bb h1 -q 2>&1 >/dev/null)" "$(stk init bb h2 -q 2>&1 >/dev/null)" "network hint"
	assert_contains "$(lxc_in "${d}" init bb h3 2>&1 >/dev/null)" "doesn't have any network attached to it"
	assert_eq "$(lxc_in "${d}" init bb h4 -n n1 2>&1 >/dev/null)" "" "no hint with a nic"

	assert_fails lxc_in "${d}" init bb e1 --target m1
	assert_contains "${FAIL_OUTPUT}" "target only allowed when clustered"
	assert_fails stk init bb e1 --target m1
	assert_contains "${FAIL_OUTPUT}" "target only allowed when clustered"
	assert_no_instance "${d}" e1

	assert_no_instance "${d}" e1
}

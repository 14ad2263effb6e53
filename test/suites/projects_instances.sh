# Instances and profiles of projects other than default, with our client, the stock LXD 5.0.2 client and the REST
# API: the same instance name in two projects, a project's own default profile, limits.containers, the refusal of
# a project's images while only default holds images, and a project that holds instances cannot be deleted.

test_projects_instances() {
	local d="${TEST_TMP}/d1" out
	local stock="${d}.stock"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb

	# A project's own default profile has no root disk: a launch fails as on LXD until one is added.
	lxc_in "${d}" project create p1 -c features.images=false -c limits.containers=2
	assert_fails lxc_in "${d}" init bb c1 --project p1
	assert_contains "${FAIL_OUTPUT}" "No root device could be found"
	LXD_DIR="${d}" stock_lxc "${stock}" profile device add default root disk path=/ pool=default --project p1
	assert_eq "$(local_curl "${d}" /1.0/profiles/default | jq -r '.metadata.devices.root.pool')" "default" "default's profile"

	# The same name in both projects: two instances, each with its hostname, storage and liblxc name.
	lxc_in "${d}" launch bb c1
	lxc_in "${d}" launch bb c1 --project p1
	LXD_DIR="${d}" stock_lxc "${stock}" --project p1 launch bb c2
	assert_eq "$(lxc_in "${d}" list --format csv -c ns)" "c1,RUNNING" "instances of default"
	assert_eq "$(lxc_in "${d}" list --project p1 --format csv -c ns)" "c1,RUNNING
c2,RUNNING" "instances of p1"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" list --project p1 --format csv -c n)" "c1
c2" "instances of p1, stock client"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" list --all-projects --format csv -c en)" "default,c1
p1,c1
p1,c2" "instances of all projects, stock client"
	assert_eq "$(lxc_in "${d}" exec c1 --project p1 -- hostname)" "c1" "hostname in p1"
	assert_eq "$(local_curl "${d}" "/1.0/instances?project=p1" | jq -c .metadata)" \
		'["/1.0/instances/c1?project=p1","/1.0/instances/c2?project=p1"]' "URLs of p1"
	assert_eq "$(local_curl "${d}" "/1.0/instances?all-projects=true&recursion=1" | jq -c '[.metadata[] | [.project, .name]]')" \
		'[["default","c1"],["p1","c1"],["p1","c2"]]' "all projects"
	assert_eq "$(local_curl "${d}" "/1.0/instances/c1?project=p1" | jq -c '.metadata | [.name, .project, .profiles]')" \
		'["c1","p1",["default"]]' "instance of p1"
	assert_eq "$(local_curl "${d}" "/1.0/instances?project=p1&recursion=2" | jq -r '.metadata[0].state.status')" "Running" "state of p1's c1"
	# An underscore never reaches another project's instance by its key.
	assert_eq "$(local_curl "${d}" /1.0/instances/p1_c1 | jq -r .error_code)" "404" "a key as a name"

	# Files, snapshots and copies stay in their project.
	echo p1data >"${TEST_TMP}/p1file"
	lxc_in "${d}" file push "${TEST_TMP}/p1file" c1/root/data --project p1
	assert_fails lxc_in "${d}" exec c1 -- cat /root/data
	assert_eq "$(lxc_in "${d}" exec c1 --project p1 -- cat /root/data)" "p1data" "file in p1"
	lxc_in "${d}" snapshot c1 s0 --project p1
	assert_eq "$(local_curl "${d}" "/1.0/instances/c1/snapshots?project=p1" | jq -c .metadata)" \
		'["/1.0/instances/c1/snapshots/s0?project=p1"]' "snapshots of p1's c1"
	assert_eq "$(local_curl "${d}" "/1.0/instances/c1/snapshots" | jq -c .metadata)" '[]' "snapshots of default's c1"

	# limits.containers: two in p1 already.
	assert_fails lxc_in "${d}" copy c1 c3 --project p1
	assert_contains "${FAIL_OUTPUT}" 'Reached maximum number of instances of type "container" in project "p1"'
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc init bb c3 --project p1
	assert_contains "${FAIL_OUTPUT}" 'Reached maximum number of instances of type "container" in project "p1"'
	assert_eq "$(local_curl "${d}" /1.0/projects/p1/state | jq -c '.metadata.resources.containers')" '{"Limit":2,"Usage":2}' "usage of p1"

	# A project holding instances is neither deleted nor renamed.
	assert_fails lxc_in "${d}" project delete p1
	assert_contains "${FAIL_OUTPUT}" "only empty projects can be removed"
	assert_eq "$(local_curl "${d}" /1.0/projects/p1 | jq -c .metadata.used_by)" \
		'["/1.0/instances/c1?project=p1","/1.0/instances/c2?project=p1","/1.0/profiles/default?project=p1"]' "used_by of p1"

	# A project with its own images (features.images, LXD's default for a new project) does not see default's.
	lxc_in "${d}" project create p2
	LXD_DIR="${d}" stock_lxc "${stock}" profile device add default root disk path=/ pool=default --project p2
	assert_fails lxc_in "${d}" launch bb c1 --project p2
	assert_contains "${FAIL_OUTPUT}" "not found"
	assert_eq "$(lxc_in "${d}" list --project p2 --format csv)" "" "nothing created in p2"

	# Events of a project's instances reach a monitor of that project (which connects at some point after it starts:
	# keep changing the instance until it reports a change).
	LXD_DIR="${d}" LXD_CONF="${d}.conf" "${LXC_BIN}" monitor --project p1 --type=lifecycle >"${TEST_TMP}/events" 2>&1 &
	local monitor=$!
	for i in $(seq 100); do
		lxc_in "${d}" config set c2 user.n="${i}" --project p1
		grep -q instance-updated "${TEST_TMP}/events" && break
		sleep 0.1
	done

	kill "${monitor}" 2>/dev/null || true
	assert_contains "$(cat "${TEST_TMP}/events")" "source: /1.0/instances/c2?project=p1"
	assert_contains "$(cat "${TEST_TMP}/events")" "project: p1"

	# Everything is there after a restart, and deletions take one project's instance only.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(lxc_in "${d}" list --all-projects --format csv -c ens)" "default,c1,RUNNING
p1,c1,RUNNING
p1,c2,RUNNING" "instances after a restart"
	# Metrics name each instance's project; a bulk state change takes the request's project only.
	assert_contains "$(local_curl "${d}" /1.0/metrics)" 'lxd_procs_total{name="c1",project="p1",type="container"}'
	assert_contains "$(local_curl "${d}" /1.0/metrics)" 'lxd_procs_total{name="c1",project="default",type="container"}'
	out=$(local_curl "${d}" "/1.0/instances?project=p1" -X PUT -d '{"state": {"action": "stop", "force": true}}')
	assert_eq "$(local_curl "${d}" "$(echo "${out}" | jq -r .operation)/wait" | jq -r .metadata.status)" "Success" "bulk stop of p1"
	assert_eq "$(lxc_in "${d}" list --all-projects --format csv -c ens)" "default,c1,RUNNING
p1,c1,STOPPED
p1,c2,STOPPED" "after the bulk stop of p1"

	# Limits in sum hold on changes too: p1's instances get their memory limit from p1's default profile.
	lxc_in "${d}" profile set default limits.memory=256MiB --project p1
	lxc_in "${d}" project set p1 limits.memory=600MiB
	assert_fails lxc_in "${d}" config set c1 limits.memory=400MiB --project p1
	assert_contains "${FAIL_OUTPUT}" '"limits.memory" of project "p1" would be exceeded'
	LXD_DIR="${d}" assert_fails stock_lxc "${stock}" profile set default limits.memory=512MiB --project p1
	assert_contains "${FAIL_OUTPUT}" "would be exceeded"
	assert_fails lxc_in "${d}" profile unset default limits.memory --project p1
	assert_contains "${FAIL_OUTPUT}" 'has no "limits.memory" config'
	lxc_in "${d}" config set c1 limits.memory=300MiB --project p1
	assert_eq "$(lxc_in "${d}" config get c1 limits.memory --project p1)" "300MiB" "c1's limit within p1's"

	lxc_in "${d}" delete -f c1 --project p1
	assert_eq "$(lxc_in "${d}" list --format csv -c ns)" "c1,RUNNING" "default's c1 after deleting p1's"
	LXD_DIR="${d}" stock_lxc "${stock}" delete -f c2 --project p1
	lxc_in "${d}" delete -f c1
	lxc_in "${d}" project delete p1
	lxc_in "${d}" project delete p2
	assert_eq "$(local_curl "${d}" /1.0/profiles | jq -c .metadata)" '["/1.0/profiles/default"]' "profiles left"
}

# test_projects_restricted: what a project with restricted=true forbids, with LXD 5.0.2's defaults (unprivileged,
# no nesting, no low-level keys, managed disks and nics only, no snapshots or backups) and what it allows when told.
test_projects_restricted() {
	local d="${TEST_TMP}/d1"
	local stock="${d}.stock"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" project create r1 -c features.images=false -c restricted=true
	lxc_in "${d}" profile device add default root disk path=/ pool=default --project r1

	# Refused at creation, by both clients, and nothing is created.
	assert_fails lxc_in "${d}" init bb c1 --project r1 -c security.privileged=true
	assert_contains "${FAIL_OUTPUT}" "Privileged containers are forbidden"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc init bb c1 --project r1 -c security.nesting=true
	assert_contains "${FAIL_OUTPUT}" "Container nesting is forbidden"
	assert_fails lxc_in "${d}" init bb c1 --project r1 -c raw.lxc=lxc.apparmor.profile=unconfined
	assert_contains "${FAIL_OUTPUT}" 'Use of low-level config "raw.lxc"'
	assert_eq "$(lxc_in "${d}" list --project r1 --format csv)" "" "nothing created in r1"

	# Refused at a change of the instance or of the project's profile; the record stays as it was.
	lxc_in "${d}" launch bb c1 --project r1
	assert_fails lxc_in "${d}" config device add c1 kmsg unix-char path=/dev/kmsg --project r1
	assert_contains "${FAIL_OUTPUT}" "Unix character devices are forbidden"
	assert_fails lxc_in "${d}" config device add c1 etc disk source=/etc path=/mnt/etc --project r1
	assert_contains "${FAIL_OUTPUT}" "Attaching disks not backed by a pool is forbidden"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc profile set default security.privileged=true --project r1
	assert_contains "${FAIL_OUTPUT}" "Privileged containers are forbidden"
	assert_eq "$(local_curl "${d}" "/1.0/instances/c1?project=r1" | jq -c '.metadata.devices | keys')" '[]' "devices of c1"
	lxc_in "${d}" exec c1 --project r1 -- true

	# Snapshots and backups are blocked until the project allows them.
	assert_fails lxc_in "${d}" snapshot c1 s0 --project r1
	assert_contains "${FAIL_OUTPUT}" "restricted.snapshots"
	assert_fails lxc_in "${d}" export c1 "${TEST_TMP}/c1.tar.gz" --project r1
	lxc_in "${d}" project set r1 restricted.snapshots=allow
	lxc_in "${d}" snapshot c1 s0 --project r1

	# Restrictions the project's instances already break cannot be turned on.
	lxc_in "${d}" project set r1 restricted.containers.lowlevel=allow
	lxc_in "${d}" config set c1 raw.lxc=lxc.cgroup.relative=0 --project r1
	assert_fails lxc_in "${d}" project set r1 restricted.containers.lowlevel=block
	assert_contains "${FAIL_OUTPUT}" "Conflict detected"
	assert_eq "$(lxc_in "${d}" project get r1 restricted.containers.lowlevel)" "allow" "the refused change"

	# Outside a restricted project nothing of this applies.
	lxc_in "${d}" init bb c2 -c security.nesting=true
	lxc_in "${d}" delete -f c1 --project r1
	lxc_in "${d}" delete c2
}

# test_projects_move: copies and moves between projects (--target-project, source.project), with both clients:
# snapshots follow, the source goes with a move and stays with a copy.
test_projects_move() {
	local d="${TEST_TMP}/d1"
	local stock="${d}.stock"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" project create p1 -c features.images=false -c features.profiles=false
	lxc_in "${d}" init bb c1
	lxc_in "${d}" snapshot c1 s0

	LXD_DIR="${d}" stock_lxc "${stock}" move c1 --target-project p1
	assert_eq "$(lxc_in "${d}" list --all-projects --format csv -c enS)" "p1,c1,1" "after the stock client's move"
	lxc_in "${d}" copy c1 c2 --project p1 --target-project default
	lxc_in "${d}" move c2 c3 --target-project p1
	LXD_DIR="${d}" stock_lxc "${stock}" copy c1 c4 --project p1 --target-project default
	assert_eq "$(lxc_in "${d}" list --all-projects --format csv -c enS)" "default,c4,1
p1,c1,1
p1,c3,1" "after copies and moves"
	assert_eq "$(local_curl "${d}" "/1.0/instances/c3/snapshots?project=p1" | jq -c .metadata)" \
		'["/1.0/instances/c3/snapshots/s0?project=p1"]' "snapshots of the moved copy"

	# A source in a project that does not exist, or an instance that does not, is not found; nothing is made.
	assert_fails lxc_in "${d}" copy c1 c5 --project nope --target-project default
	assert_fails lxc_in "${d}" copy nope c5 --project p1 --target-project default
	assert_eq "$(lxc_in "${d}" list --format csv -c n)" "c4" "nothing copied"
}

# ?project= and lxc --project: only the default project exists, so another project is answered as LXD 5.0.2
# answers for a project that does not exist (404 "project not found", an empty instance list) and nothing of the
# default project is served or changed under its name; with our client, the stock client and raw requests.

# projects_count_instances DIR: prints how many instances the daemon of DIR holds, whatever their project.
projects_count_instances() {
	local_curl "$1" "/1.0/instances" | jq '.metadata | length'
}

test_projects_param() {
	local d="${TEST_TMP}/d1"
	mkdir -p "${d}"
	traversable_parents "${d}"
	spawn_lxd "${d}"
	LXD_DIR="${d}" LXD_CONF="${d}.stock" /usr/bin/lxc image import \
		"$("${TEST_DIR}/deps/busybox-image.sh")/unified.tar.xz" --alias bb >/dev/null
	local stock="${d}.stock"

	# Our client: nothing is created in a project that does not exist.
	assert_fails lxc_in "${d}" --project foo launch bb c1
	assert_contains "${FAIL_OUTPUT}" "Error: project not found"
	assert_fails lxc_in "${d}" --project foo init bb c1
	assert_contains "${FAIL_OUTPUT}" "Error: project not found"
	assert_eq "$(projects_count_instances "${d}")" "0" "instances after launches in project foo"
	[ ! -e "${d}/storage-pools/default/containers/c1" ] || fail "storage created for c1 in project foo"
	assert_eq "$(lxc_in "${d}" --project foo list --format csv)" "" "list in project foo"
	assert_fails lxc_in "${d}" --project foo image list
	assert_contains "${FAIL_OUTPUT}" "Error: project not found"
	assert_fails lxc_in "${d}" --project foo profile create p1
	assert_fails lxc_in "${d}" --project foo profile show default
	assert_contains "${FAIL_OUTPUT}" "Error: project not found"

	# The default project works as without a project.
	lxc_in "${d}" --project default launch bb c1
	assert_contains "$(lxc_in "${d}" --project default list --format csv -c ns)" "c1,RUNNING"
	assert_contains "$(lxc_in "${d}" list --format csv -c ns)" "c1,RUNNING"
	assert_contains "$(lxc_in "${d}" --project default image list --format csv -c l)" "bb"
	assert_eq "$(lxc_in "${d}" profile list --format csv | cut -d, -f1)" "default" "profiles"

	# The instance of default is not reachable from project foo, and survives every change sent there.
	assert_eq "$(lxc_in "${d}" --project foo list --format csv)" "" "list in project foo with c1 in default"
	for cmd in "info c1" "stop c1" "delete -f c1" "exec c1 -- true" "snapshot c1 s1" "config set c1 user.x=1" \
		"rename c1 c2" "file pull c1/etc/hostname -"; do
		# shellcheck disable=SC2086
		assert_fails lxc_in "${d}" --project foo ${cmd}
		assert_contains "${FAIL_OUTPUT}" "project not found" "lxc --project foo ${cmd}"
	done

	assert_contains "$(lxc_in "${d}" list --format csv -c nsS)" "c1,RUNNING,0"
	assert_eq "$(local_curl "${d}" /1.0/instances/c1 | jq -r '.metadata.config["user.x"] // ""')" "" "user.x of c1"

	# The stock client against our daemon gets what the stock daemon answers.
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc --project foo launch bb s1
	assert_contains "${FAIL_OUTPUT}" "Error: project not found"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" --project foo list --format csv)" "" "stock list in project foo"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc --project foo image list
	assert_contains "${FAIL_OUTPUT}" "Error: project not found"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc --project foo profile list
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc --project foo delete -f c1
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc --project foo info c1
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" --project default list --format csv -c ns)" "c1,RUNNING"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" list --all-projects --format csv -c ens)" "default,c1,RUNNING"
	assert_eq "$(projects_count_instances "${d}")" "1" "instances after the stock client's requests in project foo"

	# Raw requests.
	local out
	out=$(local_curl "${d}" "/1.0/instances?project=foo&recursion=2")
	assert_eq "$(echo "${out}" | jq -c '[.status_code, .metadata]')" '[200,[]]' "instances in project foo"
	out=$(local_curl "${d}" "/1.0/images?project=foo")
	assert_eq "$(echo "${out}" | jq -c '[.error_code, .error]')" '[404,"project not found"]' "images in project foo"
	out=$(local_curl "${d}" "/1.0/instances?project=foo" -X POST -H 'Content-Type: application/json' \
		-d '{"name": "c9", "source": {"type": "image", "alias": "bb"}}')
	assert_eq "$(echo "${out}" | jq -c '[.error_code, .error]')" '[404,"project not found"]' "creating c9 in project foo"
	out=$(local_curl "${d}" "/1.0/instances/c1?project=foo" -X DELETE)
	assert_eq "$(echo "${out}" | jq -r .error_code)" "404" "deleting c1 in project foo"
	out=$(local_curl "${d}" "/1.0/instances/c1?project=foo" -w '%{http_code}' -o /dev/null)
	assert_eq "${out}" "404" "HTTP status of c1 in project foo"
	assert_eq "$(local_curl "${d}" "/1.0/instances/c1?project=default" | jq -r .metadata.status)" "Running" "c1 in default"
	assert_eq "$(local_curl "${d}" "/1.0?project=foo" | jq -r .metadata.environment.project)" "foo" "project of GET /1.0"
	out=$(local_curl "${d}" "/1.0/instances?all-projects=true&project=foo")
	assert_eq "$(echo "${out}" | jq -r .error_code)" "400" "all-projects with a project"
	assert_eq "$(local_curl "${d}" "/1.0/instances?all-projects=true" | jq -c .metadata)" '["/1.0/instances/c1"]' \
		"instances of all projects"
	assert_eq "$(local_curl "${d}" "/1.0/certificates?project=foo" | jq -r .status_code)" "200" "certificates in project foo"
	assert_eq "$(projects_count_instances "${d}")" "1" "instances at the end"
	[ ! -e "${d}/storage-pools/default/containers/c9" ] || fail "storage created for c9 in project foo"

	lxc_in "${d}" delete -f c1
}

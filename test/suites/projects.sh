# Projects: /1.0/projects and lxc project, through our client, the stock LXD 5.0.2 client against our daemon, and
# raw requests; and the same requests answered alike by the stock daemon.

# projects_both CMD...: runs "lxc CMD" with our client and with the stock client (each with its own configuration)
# against the daemon of PROJECTS_DIR and fails unless both print the same and exit alike; prints the output.
projects_both() {
	local ours theirs rc_ours=0 rc_theirs=0
	ours=$(LXD_DIR="${PROJECTS_DIR}" LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" "$@" 2>&1 </dev/null) || rc_ours=$?
	theirs=$(LXD_DIR="${PROJECTS_DIR}" stock_lxc "${TEST_TMP}/stock.conf" "$@" 2>&1 </dev/null) || rc_theirs=$?
	assert_eq "${ours}" "${theirs}" "lxc $*: our client against the stock client" || return 1
	assert_eq "${rc_ours}" "${rc_theirs}" "lxc $*: exit status of our client against the stock client" || return 1
	echo "${ours}"
}

# projects_ours CMD...: our client against the daemon of PROJECTS_DIR.
projects_ours() {
	LXD_DIR="${PROJECTS_DIR}" LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" "$@" </dev/null
}

# projects_stock CMD...: the stock client against the daemon of PROJECTS_DIR.
projects_stock() {
	LXD_DIR="${PROJECTS_DIR}" stock_lxc "${TEST_TMP}/stock.conf" "$@" </dev/null
}

test_projects() {
	local d="${TEST_TMP}/d1" out
	PROJECTS_DIR="${d}"
	spawn_lxd "${d}"
	# The stock client's first run prints a welcome on stderr.
	projects_stock version >/dev/null 2>&1

	# The default project, as LXD 5.0.2 has it.
	out=$(local_curl "${d}" /1.0/projects/default | jq -c '.metadata | [.name, .description, .config, .used_by]')
	assert_eq "${out}" '["default","Default LXD project",{"features.images":"true","features.networks":"true","features.profiles":"true","features.storage.volumes":"true"},["/1.0/profiles/default"]]' \
		"default project"
	assert_contains "$(projects_both project list)" "| default (current) | YES    | YES      | YES             | YES      | Default LXD project | 1       |"

	# Creation, with our client and the stock one.
	assert_eq "$(projects_ours project create p1 -c limits.containers=3 -c user.k=v)" "Project p1 created"
	assert_eq "$(projects_stock project create p2 --config limits.memory=1GiB)" "Project p2 created"
	out=$(projects_both project show p1)
	assert_contains "${out}" 'features.profiles: "true"'
	assert_contains "${out}" 'limits.containers: "3"'
	# A project with features.profiles has its own default profile, without devices, as LXD 5.0.2 gives it.
	assert_contains "${out}" "used_by:
- /1.0/profiles/default?project=p1"
	[[ "${out}" != *features.networks* ]] || fail "features.networks set on a new project: ${out}"
	projects_both project show p2 >/dev/null
	for f in table csv json yaml compact; do
		projects_both project list --format "${f}" >/dev/null
	done

	assert_eq "$(projects_both project list --format csv)" "default (current),YES,YES,YES,YES,Default LXD project,1
p1,YES,YES,YES,NO,,1
p2,YES,YES,YES,NO,,1" "project list"
	assert_contains "$(projects_both --project p1 project list --format csv)" "default (current)," "list with --project"

	# get, set, unset and info.
	assert_eq "$(projects_both project get p1 limits.containers)" "3"
	assert_eq "$(projects_both project get p1 nokey)" ""
	projects_ours project set p1 limits.cpu=4 limits.processes=100
	projects_stock project set p1 limits.disk 10GiB
	projects_ours project unset p1 user.k
	projects_stock project unset p1 limits.processes
	assert_eq "$(projects_both project get p1 limits.disk)" "10GiB"
	assert_eq "$(projects_both project get p1 user.k)" ""
	out=$(projects_both project info p1 --format csv)
	assert_contains "${out}" "CONTAINERS,3,0"
	assert_contains "${out}" "DISK,10.00GiB,0B"
	assert_contains "${out}" "MEMORY,UNLIMITED,0B"
	projects_both project info p2 >/dev/null
	projects_both project info p2 --format json >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/projects/p2/state | jq -c '.metadata.resources.memory')" '{"Limit":1073741824,"Usage":0}' \
		"state of p2 (LXD's capitalised fields)"

	# edit from standard input, with both clients.
	printf 'description: edited\nconfig:\n  limits.containers: "5"\n' |
		LXD_DIR="${d}" LXD_CONF="${TEST_TMP}/ours.conf" "${LXC_BIN}" project edit p1
	assert_eq "$(projects_both project get p1 limits.containers)" "5"
	assert_eq "$(projects_both project get p1 limits.cpu)" "" "limits.cpu after edit replaced the configuration"
	printf 'description: edited2\nconfig:\n  limits.containers: "6"\n' |
		LXD_DIR="${d}" stock_lxc "${TEST_TMP}/stock.conf" project edit p1
	assert_contains "$(projects_both project show p1)" "description: edited2"

	# Refusals, alike from both clients.
	for args in "create a/b" "create a_b" "create p1" "create q -c bogus=1" "create q -c limits.memory=lots" \
		"set p1 bogus=1" "set p1 limits.containers=-1" "set default features.images=false" "rename default x" \
		"delete default" "show nope" "delete nope" "rename p1 p2"; do
		# shellcheck disable=SC2086
		assert_fails projects_ours project ${args}
		# shellcheck disable=SC2086
		assert_fails projects_stock project ${args}
	done

	assert_fails projects_ours project set default features.images=false
	assert_contains "${FAIL_OUTPUT}" "Error: you can't change the features of the default project"
	assert_fails projects_ours project rename default x
	assert_contains "${FAIL_OUTPUT}" "Error: the 'default' project cannot be renamed"
	assert_fails projects_ours project delete default
	assert_contains "${FAIL_OUTPUT}" "Error: the 'default' project cannot be deleted"
	assert_fails projects_ours project create 'a/b'
	assert_contains "${FAIL_OUTPUT}" "Error: project names may not contain slashes"
	assert_fails projects_ours project create q -c bogus=1
	assert_contains "${FAIL_OUTPUT}" 'Error: invalid project configuration key "bogus"'
	assert_fails projects_stock project rename p1 p2
	assert_contains "${FAIL_OUTPUT}" 'Error: a project named "p2" already exists'
	assert_eq "$(local_curl "${d}" /1.0/projects | jq -c .metadata)" '["/1.0/projects/default","/1.0/projects/p1","/1.0/projects/p2"]' \
		"projects after the refusals"

	# Features change only while the project is empty; features of default never.
	projects_ours project set p2 features.images=false
	assert_eq "$(projects_both project list --format csv | grep '^p2')" "p2,NO,YES,YES,NO,,1"

	# switch: the remote's project, marked current in the list, and where instances are listed.
	projects_ours project switch p1
	projects_stock project switch p2
	assert_contains "$(cat "${TEST_TMP}/ours.conf/config.yml")" "project: p1"
	assert_contains "$(projects_ours project list --format csv)" "p1 (current),"
	assert_contains "$(projects_stock project list --format csv)" "p2 (current),"
	assert_eq "$(projects_ours list --format csv)" "" "instances of p1"
	assert_eq "$(projects_stock list --format csv)" "" "instances of p2"
	assert_fails projects_ours switch nope
	assert_fails projects_ours project switch nope
	assert_contains "${FAIL_OUTPUT}" "Error: project not found"
	assert_contains "$(cat "${TEST_TMP}/ours.conf/config.yml")" "project: p1"
	# Profiles of a project with features.profiles (p2) are its own; p1 lost the feature with its edit above, so it
	# uses default's, as on LXD 5.0.2.
	assert_eq "$(projects_ours profile list --format csv)" "default,Default LXD profile,0"
	projects_stock profile create x
	assert_eq "$(local_curl "${d}" /1.0/profiles | jq -c .metadata)" '["/1.0/profiles/default"]' "profiles"
	assert_eq "$(local_curl "${d}" "/1.0/profiles?project=p2" | jq -c .metadata)" '["/1.0/profiles/default?project=p2","/1.0/profiles/x?project=p2"]' "profiles of p2"
	projects_stock profile delete x

	# rename (an operation) and delete; deleting the current project switches the remote back to default.
	assert_eq "$(projects_ours project rename p1 p3)" "Project p1 renamed to p3"
	assert_eq "$(projects_stock project rename p3 p1)" "Project p3 renamed to p1"
	assert_eq "$(projects_ours project delete p1)" "Project p1 deleted"
	[[ "$(cat "${TEST_TMP}/ours.conf/config.yml")" != *"project: p1"* ]] || fail "the deleted project is still current"
	assert_contains "$(projects_ours project list --format csv)" "default (current),"

	# Raw requests: creation answers 201 with its Location, updates honour If-Match, a rename is an operation.
	out=$(local_curl "${d}" /1.0/projects -X POST -H 'Content-Type: application/json' -d '{"name": "r1", "description": "raw"}' -i)
	assert_contains "${out}" "HTTP/1.1 201 Created"
	assert_contains "${out}" "Location: /1.0/projects/r1"
	out=$(local_curl "${d}" /1.0/projects/r1 -X PUT -H 'If-Match: "nope"' -d '{"config": {}}' -w '%{http_code}' -o /dev/null)
	assert_eq "${out}" "412" "PUT with a stale ETag"
	local etag
	etag=$(local_curl "${d}" /1.0/projects/r1 -i | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')
	out=$(local_curl "${d}" /1.0/projects/r1 -X PUT -H "If-Match: ${etag}" -d '{"description": "put", "config": {"user.a": "1"}}' | jq -r .status_code)
	assert_eq "${out}" "200" "PUT with the ETag"
	local_curl "${d}" /1.0/projects/r1 -X PATCH -d '{"config": {"user.b": "2"}}' >/dev/null
	assert_eq "$(local_curl "${d}" /1.0/projects/r1 | jq -c '.metadata | [.description, .config]')" '["put",{"user.a":"1","user.b":"2"}]' \
		"PATCH merges"
	out=$(local_curl "${d}" /1.0/projects/r1 -X POST -d '{"name": "r2"}')
	assert_eq "$(echo "${out}" | jq -c '[.type, .metadata.description]')" '["async","Renaming project"]' "rename"
	assert_eq "$(local_curl "${d}" "$(echo "${out}" | jq -r .operation)/wait" | jq -r .metadata.status)" "Success" "rename"
	assert_eq "$(local_curl "${d}" /1.0/projects/r1 | jq -r .error_code)" "404" "old name"
	assert_eq "$(local_curl "${d}" "/1.0/instances?project=r2" | jq -c .metadata)" "[]" "instances of r2"

	# Projects survive a restart.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(local_curl "${d}" /1.0/projects | jq -c .metadata)" '["/1.0/projects/default","/1.0/projects/p2","/1.0/projects/r2"]' \
		"projects after a restart"
	assert_eq "$(projects_ours project delete r2)" "Project r2 deleted"
	assert_eq "$(local_curl "${d}" /1.0/projects/r2 | jq -r .error_code)" "404" "r2 deleted"
}

# projects_codes DIR: a fixed sequence of project requests to the daemon of DIR, printing each status code and
# response type (the messages are LXD's words, capitalised by the stock daemon, not by ours). The PATCH of default
# gives every key: the stock daemon's PATCH replaces the configuration where ours merges it (see doc/projects.md).
projects_codes() {
	local dir=$1 req
	while IFS='|' read -r method path body; do
		req=(-X "${method}")
		[ -z "${body}" ] || req+=(-H 'Content-Type: application/json' -d "${body}")
		echo "${method} ${path} $(local_curl "${dir}" "${path}" "${req[@]}" | jq -c '[.type, .status_code, .error_code]')"
	done <<'EOF'
GET|/1.0/projects|
POST|/1.0/projects|{"name": "s1", "config": {"limits.containers": "2", "user.x": "y"}}
POST|/1.0/projects|{"name": "s1"}
POST|/1.0/projects|{"name": "a/b"}
POST|/1.0/projects|{"name": ""}
POST|/1.0/projects|{"name": "*"}
POST|/1.0/projects|{"name": "a_b"}
POST|/1.0/projects|{"name": "s2", "config": {"bogus": "1"}}
POST|/1.0/projects|{"name": "s2", "config": {"limits.memory": "lots"}}
POST|/1.0/projects|{"name": "s2", "config": {"restricted.devices.nic": "maybe"}}
GET|/1.0/projects/s1|
GET|/1.0/projects/nope|
GET|/1.0/projects/s1/state|
PUT|/1.0/projects/s1|{"config": {"limits.cpu": "2", "restricted": "true"}}
PATCH|/1.0/projects/s1|{"config": {"bogus": "1"}}
PATCH|/1.0/projects/default|{"config": {"features.images": "false"}}
PATCH|/1.0/projects/default|{"config": {"features.images": "true", "features.networks": "true", "features.profiles": "true", "features.storage.volumes": "true", "user.z": "1"}}
POST|/1.0/projects/default|{"name": "x"}
DELETE|/1.0/projects/default|
GET|/1.0/instances?project=s1|
GET|/1.0/instances?project=nope|
GET|/1.0/profiles?project=nope|
DELETE|/1.0/projects/s1|
DELETE|/1.0/projects/s1|
EOF
}

# The stock daemon and ours answer the same requests with the same codes, and show the same default project.
test_projects_stock() {
	local d1="${TEST_TMP}/ours" d2="${TEST_TMP}/stock"
	make_netns
	spawn_stock_lxd "${d2}"
	spawn_lxd "${d1}"
	local show='.metadata | [.name, .description, .config, .used_by]'
	assert_eq "$(local_curl "${d1}" /1.0/projects/default | jq -c "${show}")" \
		"$(local_curl "${d2}" /1.0/projects/default | jq -c "${show}")" "default project"
	assert_eq "$(projects_codes "${d1}")" "$(projects_codes "${d2}")" "status codes"
}

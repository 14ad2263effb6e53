# Client conveniences: lxc query, lxc alias (and running aliases), lxc rename and lxc image
# get-property|set-property|unset-property, with our client and the stock LXD 5.0.2 one against our daemon.

# conv_run DIR CONF ARGS...: runs our client, then the stock one, with LXD_DIR=DIR and LXD_CONF=CONF; their outputs
# are left in ${TEST_TMP}/{ours,stock}.{out,err} and their exit statuses in CONV_RC_OURS and CONV_RC_STOCK.
conv_run() {
	local dir=$1 conf=$2
	shift 2
	set +e
	LXD_DIR="${dir}" LXD_CONF="${conf}" "${LXC_BIN}" "$@" >"${TEST_TMP}/ours.out" 2>"${TEST_TMP}/ours.err"
	CONV_RC_OURS=$?
	LXD_DIR="${dir}" LXD_CONF="${conf}" /usr/bin/lxc "$@" >"${TEST_TMP}/stock.out" 2>"${TEST_TMP}/stock.err"
	CONV_RC_STOCK=$?
	set -e
}

# conv_same DIR CONF ARGS...: both clients must print the same bytes on stdout and exit with the same status.
conv_same() {
	conv_run "$@"
	shift 2
	if ! cmp -s "${TEST_TMP}/ours.out" "${TEST_TMP}/stock.out"; then
		diff "${TEST_TMP}/stock.out" "${TEST_TMP}/ours.out" | head -n 20 >&2 || true
		fail "lxc $*: our output differs from the stock client's (diff stock ours above)"
		return 1
	fi

	assert_eq "${CONV_RC_OURS}" "${CONV_RC_STOCK}" "exit status of lxc $* (stock: $(cat "${TEST_TMP}/stock.err"))"
}

# conv_same_usage DIR CONF ARGS...: conv_same for outputs that show memory figures. The kernel's accounting of even a
# frozen container moves (charges freed late, reclaim), so the figures themselves are not compared: every size and
# percentage is read as "#" with its unit in both outputs, and the rest must be the same bytes. A table's widths
# follow the figures' lengths: a difference is asked again, twice at most.
conv_same_usage() {
	local i
	for i in 1 2 3; do
		conv_run "$@"
		sed -E -i 's/[0-9]+(\.[0-9]+)?(B|KiB|MiB|GiB|TiB|%)/#\2/g' "${TEST_TMP}/ours.out" "${TEST_TMP}/stock.out"
		cmp -s "${TEST_TMP}/ours.out" "${TEST_TMP}/stock.out" && break
	done

	shift 2
	if ! cmp -s "${TEST_TMP}/ours.out" "${TEST_TMP}/stock.out"; then
		diff "${TEST_TMP}/stock.out" "${TEST_TMP}/ours.out" | head -n 20 >&2 || true
		fail "lxc $*: our output differs from the stock client's (diff stock ours above)"
		return 1
	fi

	assert_eq "${CONV_RC_OURS}" "${CONV_RC_STOCK}" "exit status of lxc $* (stock: $(cat "${TEST_TMP}/stock.err"))"
}

# conv_fails DIR CONF TEXT ARGS...: both clients must fail with the same status and print "Error: TEXT", but for
# case (LXD capitalises its messages, we don't). Their standard output is not compared: a wrong number of arguments
# prints the help, which is worded differently.
conv_fails() {
	local dir=$1 conf=$2 text=$3
	shift 3
	conv_run "${dir}" "${conf}" "$@"
	[ "${CONV_RC_OURS}" -ne 0 ] || fail "lxc $*: succeeded: $(cat "${TEST_TMP}/ours.out")"
	assert_eq "${CONV_RC_OURS}" "${CONV_RC_STOCK}" "exit status of lxc $* (stock: $(cat "${TEST_TMP}/stock.err"))"
	local ours stock
	ours=$(cat "${TEST_TMP}/ours.err")
	stock=$(cat "${TEST_TMP}/stock.err")
	assert_contains "${ours}" "Error: " "our error for lxc $*"
	assert_contains "${ours,,}" "error: ${text,,}" "our error for lxc $*"
	assert_contains "${stock,,}" "error: ${text,,}" "the stock error for lxc $*"
}

# conv_op_shape: the operation printed by lxc query --wait without what differs between two runs.
conv_op_shape() {
	jq -S 'del(.id, .created_at, .updated_at)' "$1"
}

test_lxc_conveniences_query() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local conf="${d}.shared"
	local fp
	fp=$(local_curl "${d}" /1.0/images/aliases/bb | jq -r .metadata.target)

	# GET: the metadata pretty-printed, or the whole answer; an empty object prints nothing.
	conv_same "${d}" "${conf}" query /1.0/profiles/default
	assert_contains "$(cat "${TEST_TMP}/ours.out")" $'\t"name": "default",'
	conv_same "${d}" "${conf}" query local:/1.0/images
	conv_same "${d}" "${conf}" query --raw /1.0/images/aliases/bb
	assert_eq "$(jq -r .metadata.target "${TEST_TMP}/ours.out")" "${fp}" "raw alias target"
	conv_same "${d}" "${conf}" query "/1.0/images/${fp}"

	# An answer that is not JSON is printed as it came.
	conv_same "${d}" "${conf}" query "/1.0/images/${fp}/export"
	cmp -s "${TEST_TMP}/ours.out" "$("${TEST_DIR}/deps/busybox-image.sh")/unified.tar.xz" ||
		fail "query of the export is not the imported file"

	# POST, PATCH and DELETE with data: JSON goes as written (HTML characters and all).
	lxc_in "${d}" query -X POST -d '{"name":"p1","description":"first"}' /1.0/profiles
	assert_eq "$(local_curl "${d}" /1.0/profiles/p1 | jq -r .metadata.description)" "first" "description after POST"
	lxc_in "${d}" query -X PATCH -d '{"description":"<b>&</b> ünï"}' /1.0/profiles/p1
	conv_same "${d}" "${conf}" query /1.0/profiles/p1
	assert_contains "$(cat "${TEST_TMP}/ours.out")" '"description": "<b>&</b> ünï",'
	conv_same "${d}" "${conf}" query --raw /1.0/profiles/p1
	assert_eq "$(lxc_in "${d}" query -X DELETE /1.0/profiles/p1)" "" "output of a DELETE answering an empty object"
	assert_eq "$(local_curl "${d}" /1.0/profiles/p1 -o /dev/null -w '%{http_code}')" "404" "profile after DELETE"

	# --wait prints the finished operation (the whole /wait answer with --raw); without it, the operation started.
	local i=0 client
	for client in "${LXC_BIN}" /usr/bin/lxc; do
		i=$((i + 1))
		LXD_DIR="${d}" LXD_CONF="${conf}" "${client}" query -X POST --wait \
			-d "{\"name\":\"w${i}\",\"source\":{\"type\":\"none\"}}" /1.0/instances >"${TEST_TMP}/wait${i}.json"
		assert_eq "$(jq -r .status "${TEST_TMP}/wait${i}.json")" "Success" "status after --wait (${client})"
		assert_eq "$(jq -r '.resources.instances[0]' "${TEST_TMP}/wait${i}.json")" "/1.0/instances/w${i}" "op resources"
		sed -i "s/w${i}/wN/g" "${TEST_TMP}/wait${i}.json"
	done

	assert_eq "$(conv_op_shape "${TEST_TMP}/wait1.json")" "$(conv_op_shape "${TEST_TMP}/wait2.json")" "operation printed by --wait"
	out=$(lxc_in "${d}" query -X POST --wait --raw -d '{"name":"w3","source":{"type":"none"}}' /1.0/instances)
	assert_eq "$(echo "${out}" | jq -r '.type + " " + .metadata.status')" "sync Success" "--wait --raw"
	out=$(lxc_in "${d}" query -X DELETE /1.0/instances/w3)
	assert_eq "$(echo "${out}" | jq -r .class)" "task" "operation of a DELETE without --wait"
	out=$(lxc_in "${d}" query "/1.0/operations/$(echo "${out}" | jq -r .id)/wait")
	assert_eq "$(echo "${out}" | jq -r .status)" "Success" "operation waited for by path"
	out=$(lxc_in "${d}" query -X DELETE --raw --wait /1.0/instances/w2)
	assert_eq "$(echo "${out}" | jq -r .metadata.status)" "Success" "DELETE --wait --raw"
	assert_eq "$(lxc_in "${d}" list --format csv -c n)" "w1" "instances left"

	# Bad input: both clients fail alike.
	conv_fails "${d}" "${conf}" "not found" query /1.0/nothing
	conv_fails "${d}" "${conf}" "method FOO not allowed" query -X FOO /1.0
	conv_fails "${d}" "${conf}" "query path must start with /" query 1.0
	conv_fails "${d}" "${conf}" 'the remote "nope" doesn'"'"'t exist' query nope:/1.0
	conv_fails "${d}" "${conf}" "--project cannot be used with the query command" query --project default /1.0
	conv_fails "${d}" "${conf}" 'profile "default" already exists' query -X POST -d '{"name":"default"}' /1.0/profiles
	conv_fails "${d}" "${conf}" "invalid JSON in request body" query -X POST -d 'not json' /1.0/profiles
	assert_fails lxc_in "${d}" query /1.0 /1.0
	assert_contains "${FAIL_OUTPUT}" "Error: invalid number of arguments"
	assert_contains "$(lxc_in "${d}" query)" "Send a raw query"
}

test_lxc_conveniences_alias() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	local conf="${d}.shared"
	lxc_in "${d}" query -X POST -d '{"name":"p1"}' /1.0/profiles

	# Both clients keep aliases in the same config.yml and list them alike, whoever wrote them.
	LXD_CONF="${conf}" "${LXC_BIN}" alias add pl "profile list --format csv"
	LXD_CONF="${conf}" /usr/bin/lxc alias add q "query /1.0/@ARG1@" 2>/dev/null
	LXD_CONF="${conf}" "${LXC_BIN}" alias add "snap ls" 'query /1.0/profiles/@ARG1@'
	LXD_CONF="${conf}" "${LXC_BIN}" alias add weird '!echo <b>&"x" key: value'
	LXD_CONF="${conf}" /usr/bin/lxc alias add ext '/bin/echo hello @ARGS@ end'
	LXD_CONF="${conf}" "${LXC_BIN}" alias add a10 version
	LXD_CONF="${conf}" "${LXC_BIN}" alias add a9 version
	local format
	for format in table csv json yaml compact; do
		conv_same "${d}" "${conf}" alias list --format "${format}"
	done

	assert_contains "$(cat "${TEST_TMP}/ours.out")" "snap ls"
	assert_contains "$(cat "${conf}/config.yml")" "  weird: '!echo <b>&\"x\" key: value'"

	# Rename and remove, each with one client, seen by the other.
	LXD_CONF="${conf}" "${LXC_BIN}" alias rename a9 a8
	LXD_CONF="${conf}" /usr/bin/lxc alias mv a10 a11
	LXD_CONF="${conf}" /usr/bin/lxc alias rm a8
	LXD_CONF="${conf}" "${LXC_BIN}" alias remove a11
	conv_same "${d}" "${conf}" alias ls --format csv
	assert_eq "$(cut -d, -f1 "${TEST_TMP}/ours.out" | tr '\n' ' ')" "ext pl q snap ls weird " "aliases left"

	# Running aliases: the arguments follow, or go where @ARGS@ and @ARG<n>@ say; "/" runs a program.
	conv_same "${d}" "${conf}" pl
	assert_eq "$(cut -d, -f1 "${TEST_TMP}/ours.out" | tr '\n' ' ')" "default p1 " "profiles through an alias"
	conv_same "${d}" "${conf}" q profiles
	conv_same "${d}" "${conf}" snap ls p1
	assert_contains "$(cat "${TEST_TMP}/ours.out")" '"name": "p1"'
	conv_same "${d}" "${conf}" --quiet q profiles
	conv_same "${d}" "${conf}" ext a "b c"
	assert_eq "$(cat "${TEST_TMP}/ours.out")" "hello a b c end" "program alias"

	# An alias may replace a command; LXC_ALIASES=1 (set for programs aliases run) turns expansion off.
	LXD_CONF="${conf}" "${LXC_BIN}" alias add version "query /1.0/profiles"
	conv_same "${d}" "${conf}" version
	assert_contains "$(cat "${TEST_TMP}/ours.out")" "/1.0/profiles/p1"
	assert_contains "$(LXC_ALIASES=1 LXD_DIR="${d}" LXD_CONF="${conf}" "${LXC_BIN}" version)" "Client version:"
	LXD_CONF="${conf}" "${LXC_BIN}" alias add env "/usr/bin/env"
	assert_contains "$(LXD_CONF="${conf}" "${LXC_BIN}" env)" "LXC_ALIASES=1"

	# Bad input.
	conv_fails "${d}" "${conf}" "alias nope doesn't exist" alias remove nope
	conv_fails "${d}" "${conf}" "alias nope doesn't exist" alias rename nope other
	conv_fails "${d}" "${conf}" "alias q already exists" alias add q version
	conv_fails "${d}" "${conf}" "alias pl already exists" alias rename q pl
	conv_fails "${d}" "${conf}" "invalid number of arguments" alias add onlyone
	conv_fails "${d}" "${conf}" "invalid number of arguments" alias list extra
	conv_fails "${d}" "${conf}" 'invalid format "xml"' alias list --format xml
	conv_fails "${d}" "${conf}" 'found alias "q" references an argument outside the given number' q
	conv_fails "${d}" "${conf}" 'unknown command "bogus" for "lxc alias"' alias bogus
	conv_fails "${d}" "${conf}" 'unknown command "nosuchalias" for "lxc"' nosuchalias
	LXD_CONF="${conf}" "${LXC_BIN}" alias add dangling "/nonexistent/program"
	conv_fails "${d}" "${conf}" "processing aliases failed" dangling
	conv_same "${d}" "${conf}" alias list --format yaml
}

test_lxc_conveniences_rename() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local stock="${d}.stock"
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" snapshot c1 s0

	# Within the server, with or without the remote on either name; snapshots too; the stock client alike.
	lxc_in "${d}" rename c1 c2
	lxc_in "${d}" rename local:c2 c3
	lxc_in "${d}" rename c3 local:c4
	lxc_in "${d}" rename c4/s0 c4/s1
	assert_eq "$(lxc_in "${d}" list --format csv -c n)" "c4" "instances after renames"
	assert_eq "$(local_curl "${d}" /1.0/instances/c4/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c4/snapshots/s1" "renamed snapshot"
	LXD_DIR="${d}" stock_lxc "${stock}" rename c4 c5
	lxc_in "${d}" rename c5 c1

	# A new name on another remote is refused before anything is asked of a server.
	lxc_in "${d}" remote add self "unix://${d}/unix.socket"
	LXD_DIR="${d}" stock_lxc "${stock}" remote add self "unix://${d}/unix.socket"
	lxc_in "${d}" rename self:c1 c2
	LXD_DIR="${d}" stock_lxc "${stock}" rename self:c2 c1
	assert_eq "$(lxc_in "${d}" list --format csv -c n)" "c1" "instances after renames on a named remote"

	# Bad input: each client with its own configuration, both failing alike.
	local conf
	for conf in "${d}.conf" "${stock}"; do
		local -a lxc=(env LXD_DIR="${d}" LXD_CONF="${conf}" "${LXC_BIN}")
		[ "${conf}" = "${stock}" ] && lxc=(env LXD_DIR="${d}" LXD_CONF="${conf}" /usr/bin/lxc)
		assert_fails "${lxc[@]}" rename self:c1 local:c2
		assert_contains "${FAIL_OUTPUT,,}" "error: can't specify a different remote for rename"
		assert_fails "${lxc[@]}" rename nope c2
		assert_contains "${FAIL_OUTPUT}" 'instance "nope" not found'
		assert_fails "${lxc[@]}" rename nope:c1 c2
		assert_contains "${FAIL_OUTPUT,,}" 'error: the remote "nope" doesn'"'"'t exist'
		assert_fails "${lxc[@]}" rename c1
		assert_contains "${FAIL_OUTPUT,,}" "error: invalid number of arguments"
		assert_fails "${lxc[@]}" rename c1/s1 c2/s1
		assert_contains "${FAIL_OUTPUT,,}" "error: invalid new snapshot name, parent must be the same as source"
		lxc_in "${d}" init bb c2 >/dev/null
		assert_fails "${lxc[@]}" rename c1 c2
		assert_contains "${FAIL_OUTPUT}" 'instance "c2" already exists'
		lxc_in "${d}" delete c2
	done

	assert_eq "$(lxc_in "${d}" list --format csv -c n)" "c1" "instances after failed renames"
}

test_lxc_conveniences_image_property() {
	local d="${TEST_TMP}/d1"
	spawn_lxd "${d}"
	import_busybox "${d}" bb
	local conf="${d}.shared" fp
	fp=$(local_curl "${d}" /1.0/images/aliases/bb | jq -r .metadata.target)

	conv_same "${d}" "${conf}" image get-property bb os
	assert_eq "$(cat "${TEST_TMP}/ours.out")" "busybox" "os property"
	conv_same "${d}" "${conf}" image get-property "local:${fp:0:8}" description

	# Set and unset with one client, seen by the other; the ETag of the read goes with the PUT.
	local etag
	etag=$(local_curl "${d}" "/1.0/images/${fp}" -D - -o /dev/null | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
	lxc_in "${d}" image set-property bb os "Busy Box"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${conf}" image get-property bb os)" "Busy Box" "property set by ours"
	[ "$(local_curl "${d}" "/1.0/images/${fp}" -D - -o /dev/null | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')" != "${etag}" ] ||
		fail "the ETag did not change with the properties"
	LXD_DIR="${d}" stock_lxc "${conf}" image set-property bb user.note "a: b"
	assert_eq "$(lxc_in "${d}" image get-property bb user.note)" "a: b" "property set by stock"

	# Unset leaves the key with an empty value, as the stock client does; both show the image the same.
	lxc_in "${d}" image unset-property bb user.note
	LXD_DIR="${d}" stock_lxc "${conf}" image unset-property bb release
	conv_same "${d}" "${conf}" image show bb
	assert_contains "$(cat "${TEST_TMP}/ours.out")" $'  release: ""\n  user.note: ""'
	conv_same "${d}" "${conf}" image get-property bb user.note
	assert_eq "$(cat "${TEST_TMP}/ours.out")" "" "unset property"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -c .metadata.properties)" \
		'{"description":"Busybox x86_64","os":"Busy Box","release":"","user.note":""}' "properties on the server"

	# Bad input.
	conv_fails "${d}" "${conf}" "property not found" image get-property bb nope
	conv_fails "${d}" "${conf}" "image not found" image get-property nope os
	conv_fails "${d}" "${conf}" "image not found" image set-property nope os x
	conv_fails "${d}" "${conf}" "image not found" image unset-property nope os
	conv_fails "${d}" "${conf}" "invalid number of arguments" image get-property bb
	conv_fails "${d}" "${conf}" "invalid number of arguments" image set-property bb os
	conv_fails "${d}" "${conf}" "invalid number of arguments" image unset-property bb
	conv_fails "${d}" "${conf}" 'the remote "nope" doesn'"'"'t exist' image set-property nope:bb os x
}

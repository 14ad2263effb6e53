# lxc move (instance and snapshot rename), instance metadata and templates (lxc config metadata|template), with our
# client, the stock LXD 5.0.2 client and the REST API.

test_instances_move() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	local stock="${d}.stock"
	local pool="${d}/storage-pools/default"

	# A running instance is not renamed, by either client, and nothing changes.
	lxc_in "${d}" launch bb c1
	assert_fails lxc_in "${d}" move c1 c2
	assert_contains "${FAIL_OUTPUT}" "Renaming of running container not allowed"
	assert_fails env LXD_DIR="${d}" LXD_CONF="${stock}" /usr/bin/lxc move c1 c2
	assert_contains "${FAIL_OUTPUT}" "Renaming of running container not allowed"
	assert_eq "$(lxc_in "${d}" list --format csv -c ns)" "c1,RUNNING" "instances after refused renames"

	# A stopped one is, with its snapshots, and its rename templates render.
	lxc_in "${d}" stop c1
	lxc_in "${d}" snapshot c1 snap0
	lxc_in "${d}" move c1 c2
	assert_eq "$(lxc_in "${d}" list --format csv -c n)" "c2" "instances after rename"
	assert_eq "$(cat "${pool}/containers/c2/upper/etc/hostname")" "c2" "hostname after rename"
	assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c2/snapshots/snap0" "snapshot after rename"

	# Snapshot rename, then both renames again with the stock client.
	lxc_in "${d}" move c2/snap0 c2/snap1
	assert_eq "$(local_curl "${d}" /1.0/instances/c2/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c2/snapshots/snap1" "renamed snapshot"
	[ -d "${pool}/containers-snapshots/c2/snap1/rootfs" ] || fail "renamed snapshot storage"
	LXD_DIR="${d}" stock_lxc "${stock}" move c2 c3
	LXD_DIR="${d}" stock_lxc "${stock}" move c3/snap1 c3/snap2
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/snapshots | jq -r '.metadata[0]')" "/1.0/instances/c3/snapshots/snap2" "stock snapshot rename"
	assert_eq "$(cat "${pool}/containers/c3/upper/etc/hostname")" "c3" "hostname after stock rename"

	# Errors leave everything as it was.
	lxc_in "${d}" init bb c4
	assert_fails lxc_in "${d}" move c3 c4
	assert_contains "${FAIL_OUTPUT}" "already exists"
	assert_fails lxc_in "${d}" move nope c5
	assert_fails lxc_in "${d}" move c3/nope c3/other
	assert_fails lxc_in "${d}" move c3/snap2 c4/snap2
	assert_fails lxc_in "${d}" move c3 c3/snap9
	assert_eq "$(lxc_in "${d}" list --format csv -c n | tr '\n' ' ')" "c3 c4 " "instances after failed moves"
	assert_eq "$(cat "${pool}/containers/c3/upper/etc/hostname")" "c3" "hostname after failed moves"
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/snapshots | jq -r '.metadata | length')" "1" "snapshots after failed moves"

	# The metadata and template files come from the image.
	assert_contains "$(lxc_in "${d}" config metadata show c3)" "architecture: x86_64"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" config metadata show c3)" "/etc/hostname"
	assert_contains "$(lxc_in "${d}" config template list c3)" "FILENAME"
	assert_eq "$(lxc_in "${d}" config template list c3 --format csv | tr '\n' ' ')" "hostname.tpl motd.tpl " "template list"
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" config template list c3)" "motd.tpl"
	assert_eq "$(LXD_DIR="${d}" stock_lxc "${stock}" config template show c3 hostname.tpl)" "{{ container.name }}" "stock template show"

	# A new template, added to the metadata, renders at the next start.
	printf 'name={{ container.name }} on {{ trigger }}\n' | lxc_in "${d}" config template create c3 who.tpl
	assert_eq "$(lxc_in "${d}" config template show c3 who.tpl)" "name={{ container.name }} on {{ trigger }}" "template show"
	local_curl "${d}" /1.0/instances/c3/metadata | jq '.metadata | .templates["/etc/who"] = {"when": ["start"], "template": "who.tpl"}' |
		lxc_in "${d}" config metadata edit c3
	assert_contains "$(lxc_in "${d}" config metadata show c3)" "/etc/who"
	lxc_in "${d}" config metadata show c3 | LXD_DIR="${d}" stock_lxc "${stock}" config metadata edit c3
	assert_contains "$(LXD_DIR="${d}" stock_lxc "${stock}" config metadata show c3)" "who.tpl"
	lxc_in "${d}" start c3
	assert_eq "$(lxc_in "${d}" exec c3 -- cat /etc/who)" "name=c3 on start" "rendered template"
	lxc_in "${d}" stop -f c3

	# The stock client edits and deletes templates.
	printf 'edited\n' | LXD_DIR="${d}" stock_lxc "${stock}" config template edit c3 who.tpl
	assert_eq "$(lxc_in "${d}" config template show c3 who.tpl)" "edited" "stock template edit"
	LXD_DIR="${d}" stock_lxc "${stock}" config template create c3 extra.tpl </dev/null
	LXD_DIR="${d}" stock_lxc "${stock}" config template delete c3 extra.tpl
	lxc_in "${d}" config template delete c3 who.tpl
	assert_eq "$(lxc_in "${d}" config template list c3 --format csv | tr '\n' ' ')" "hostname.tpl motd.tpl " "templates after delete"
	assert_fails lxc_in "${d}" config template delete c3 who.tpl
	assert_fails lxc_in "${d}" config template show c3 who.tpl

	# Validation, ETags, and names that would leave the templates directory.
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/metadata -X PUT -d '{"architecture": ""}' | jq -r .error_code)" "400" "metadata without architecture"
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/metadata -X PATCH -d '{"templates": {"/x": {"template": "../x", "when": ["start"]}}}' | jq -r .error_code)" "400" "escaping template in metadata"
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/metadata -X PATCH -H 'If-Match: nope' -d '{}' | jq -r .error_code)" "412" "metadata etag"
	etag=$(local_curl "${d}" /1.0/instances/c3/metadata -D - -o /dev/null | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/metadata -X PATCH -H "If-Match: ${etag}" -d '{"properties": {"os": "patched"}}' | jq -r .status_code)" "200" "metadata patch"
	assert_eq "$(local_curl "${d}" /1.0/instances/c3/metadata | jq -r .metadata.properties.os)" "patched" "patched property"
	assert_eq "$(local_curl "${d}" /1.0/instances/nope/metadata | jq -r .error_code)" "404" "metadata of an unknown instance"
	for name in ../x a/b .. %2E%2E%2Fx ..%2Fx; do
		assert_eq "$(local_curl "${d}" "/1.0/instances/c3/metadata/templates?path=${name}" -X POST --data-binary x | jq -r .error_code)" "400" "template name ${name}"
	done
	assert_fails lxc_in "${d}" config template create c3 ../x </dev/null
	assert_fails lxc_in "${d}" config template create c3 a/b </dev/null
	[ ! -e "${pool}/containers/c3/x" ] && [ ! -e "${pool}/containers/x" ] || fail "a template escaped its directory"

	# A symlink planted in the templates directory is never followed.
	echo "host file" >"${d}.outside"
	ln -s "${d}.outside" "${pool}/containers/c3/templates/evil"
	assert_fails lxc_in "${d}" config template show c3 evil
	assert_eq "$(lxc_in "${d}" config template list c3 --format csv | tr '\n' ' ')" "hostname.tpl motd.tpl " "symlink not listed"
	printf 'hacked\n' | lxc_in "${d}" config template edit c3 evil
	assert_eq "$(cat "${d}.outside")" "host file" "file outside the templates directory"
	[ ! -L "${pool}/containers/c3/templates/evil" ] || fail "the symlink was kept"
}

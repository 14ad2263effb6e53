# Images of projects: a project with features.images (LXD's default for a new project) holds images and aliases of
# its own, driven by our client, the stock client and raw HTTP; the files of an image two projects hold are shared
# and stay until neither holds it.

# test_projects_images: import, aliases, launch, publish, export, deletion, a pull from another server and a
# restart, with an image that default and p1 both hold.
test_projects_images() {
	local d="${TEST_TMP}/d" src="${TEST_TMP}/src" conf="${TEST_TMP}/conf" fixtures fp split out
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	fp=$(sha256sum "${fixtures}/unified.tar.xz" | cut -d' ' -f1)
	split=$(cat "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" | sha256sum | cut -d' ' -f1)
	make_netns
	spawn_instance_lxd "${d}"
	spawn_lxd "${src}"
	cli() {
		LXD_DIR="${d}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	import_busybox "${d}" bb
	lxc_in "${d}" project create p1
	cli profile device add default root disk path=/ pool=default --project p1 >/dev/null
	assert_eq "$(local_curl "${d}" "/1.0/images?project=p1" | jq -c .metadata)" "[]" "images of a new project"
	assert_fails cli launch bb c0 --project p1
	assert_contains "${FAIL_OUTPUT}" "not found"

	# The same image in p1 under the same alias, and a split one through the stock client; default sees neither
	# p1's alias nor its split image.
	lxc_in "${d}" image import "${fixtures}/unified.tar.xz" --alias bb --project p1 >/dev/null
	cli image import "${fixtures}/meta.tar.xz" "${fixtures}/rootfs.tar.bz2" --alias sp --project p1 >/dev/null
	assert_eq "$(cli image list --project p1 --format csv -c lf | sort)" "bb,${fp:0:12}
sp,${split:0:12}" "images of p1"
	assert_eq "$(cli image list --format csv -c lf)" "bb,${fp:0:12}" "images of default"
	assert_eq "$(local_curl "${d}" "/1.0/images?project=p1" | jq -c .metadata)" \
		"[\"/1.0/images/${fp}?project=p1\",\"/1.0/images/${split}?project=p1\"]" "URLs of p1's images"
	assert_eq "$(local_curl "${d}" "/1.0/images/${split}" | jq -r .error_code)" "404" "p1's image seen from default"
	assert_eq "$(local_curl "${d}" /1.0/images/aliases/sp | jq -r .error_code)" "404" "p1's alias seen from default"
	lxc_in "${d}" image alias create shared "${fp:0:12}" --project p1
	assert_eq "$(lxc_in "${d}" image alias list --format csv | cut -d, -f1)" "bb" "aliases of default"
	assert_eq "$(lxc_in "${d}" image alias list --project p1 --format csv | cut -d, -f1 | sort | tr '\n' ' ')" "bb shared sp " \
		"aliases of p1"
	assert_fails lxc_in "${d}" image import "${fixtures}/unified.tar.xz" --project p1
	assert_eq "$(local_curl "${d}" "/1.0/images?project=p1" | jq -r '.metadata | length')" "2" "images of p1 after a second import"

	# Properties are each project's own.
	local_curl "${d}" "/1.0/images/${fp}?project=p1" -X PATCH -d '{"properties": {"os": "p1os"}}' >/dev/null
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}?project=p1" | jq -r .metadata.properties.os)" "p1os" "p1's property"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.properties.os)" "busybox" "default's property"

	# Instances of p1 from p1's images; default's copy of the image goes, p1's stays with its files.
	cli launch bb c1 --project p1 >/dev/null
	cli launch sp c2 --project p1 >/dev/null
	assert_eq "$(cli list --project p1 --format csv -c ns)" "c1,RUNNING
c2,RUNNING" "instances of p1"
	lxc_in "${d}" image delete bb
	assert_eq "$(local_curl "${d}" /1.0/images | jq -c .metadata)" "[]" "images of default after its deletion"
	[ -f "${d}/images/${fp}" ] || fail "the files of an image p1 still holds were removed"
	cli launch bb c3 --project p1 >/dev/null
	(cd "${TEST_TMP}" && cli image export bb exported --project p1 >/dev/null)
	cmp "${TEST_TMP}/exported.tar.xz" "${fixtures}/unified.tar.xz"

	# An instance of p1 published into p1.
	cli stop c3 --project p1 --force
	cli publish c3 --project p1 --alias pub >/dev/null
	assert_eq "$(lxc_in "${d}" image alias list --format csv | cut -d, -f1)" "" "aliases of default after a publish in p1"
	assert_contains "$(lxc_in "${d}" image alias list --project p1 --format csv | cut -d, -f1)" "pub"

	# A pull into default of the image p1 holds records it without touching p1's; both survive a restart.
	lxc_in "${src}" image import "${fixtures}/unified.tar.xz" --alias bb --public >/dev/null
	lxc_in "${src}" config set core.https_address 127.0.0.1:8443
	cli remote add src https://127.0.0.1:8443 --public --accept-certificate >/dev/null
	cli image copy src:bb local: --alias frompull --auto-update >/dev/null
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.update_source.alias)" "bb" "source of default's copy"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}?project=p1" | jq -r .metadata.update_source)" "null" "source of p1's"
	! grep -q "images/${fp}/export" "${src}/lxd.log" || fail "an image p1 holds was downloaded again for default"
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(cli image list --format csv -c l)" "frompull" "images of default after a restart"
	assert_eq "$(cli image list --project p1 --format csv -c l | sort | tr '\n' ' ')" "bb (1 more) pub sp " "images of p1 after a restart"

	# A project that holds images cannot go; once both projects delete it, the image's files go.
	cli delete c1 c2 c3 --project p1 --force
	assert_fails lxc_in "${d}" project delete p1
	assert_contains "${FAIL_OUTPUT}" "images"
	out=$(cli image list --project p1 --format csv -c f)
	for f in ${out}; do
		cli image delete "${f}" --project p1
	done

	[ -f "${d}/images/${fp}" ] || fail "the files of an image default still holds were removed"
	lxc_in "${d}" image delete frompull
	[ ! -e "${d}/images/${fp}" ] || fail "the files of an image no project holds are left"
	[ ! -e "${d}/images/${split}" ] || fail "the files of p1's split image are left"
	lxc_in "${d}" project delete p1
}

# test_projects_images_copy: a copy of an image between two projects of one server (image_source_project), by raw
# HTTP and by the stock client: the record shares the files, and a second copy adds its aliases to the record.
test_projects_images_copy() {
	local d="${TEST_TMP}/d" conf="${TEST_TMP}/conf" fp op
	make_netns
	spawn_instance_lxd "${d}"
	cli() {
		LXD_DIR="${d}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	import_busybox "${d}" bb
	fp=$(local_curl "${d}" /1.0/images/aliases/bb | jq -r .metadata.target)
	local_curl "${d}" "/1.0/images/${fp}" -X PATCH -d '{"properties": {"os": "mine"}}' >/dev/null
	cli project create p1 >/dev/null
	cli profile device add default root disk path=/ pool=default --project p1 >/dev/null
	assert_contains "$(local_curl "${d}" /1.0 | jq -c .metadata.api_extensions)" '"image_source_project"'

	copy() {
		op=$(local_curl "${d}" "/1.0/images?project=p1" -X POST -H "Content-Type: application/json" -d "$1")
		[ "$(jq -r .type <<<"${op}")" = async ] || fail "not an operation: ${op}"
		local_curl "${d}" "$(jq -r .operation <<<"${op}")/wait?timeout=60" | jq -r 'if .metadata.err != "" then .metadata.err else .metadata.status end'
	}

	assert_eq "$(copy '{"source": {"type": "image", "alias": "bb", "project": "default"}, "aliases": [{"name": "c"}], "public": true}')" \
		"Success" "a copy from default"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}?project=p1" | jq -r '[.metadata.public, .metadata.properties.os, (.metadata.aliases | map(.name) | join(","))] | join(" ")')" \
		"true mine c" "p1's record"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}" | jq -r .metadata.public)" "false" "default's record after the copy"
	assert_eq "$(find "${d}/images" -maxdepth 1 -name "${fp}*" | wc -l)" "1" "files of the image"
	assert_eq "$(copy "{\"source\": {\"type\": \"image\", \"fingerprint\": \"${fp:0:12}\", \"project\": \"default\"}, \"aliases\": [{\"name\": \"again\"}]}")" \
		"Success" "a second copy"
	assert_eq "$(cli image alias list --project p1 -f csv | cut -d, -f1 | sort | tr '\n' ' ')" "again c " "aliases of p1 after the second copy"
	assert_contains "$(copy '{"source": {"type": "image", "alias": "nosuch", "project": "default"}}')" "not found"
	assert_eq "$(local_curl "${d}" "/1.0/images?project=p1" -X POST -H "Content-Type: application/json" -d '{"source": {"type": "image", "alias": "bb", "project": "nosuch"}}' | jq -r .error_code)" \
		"404" "a copy from a project that does not exist"
	cli launch c c1 --project p1 >/dev/null
	assert_eq "$(cli list --project p1 -f csv -c ns)" "c1,RUNNING" "an instance of the copy"

	# The stock client copies through the source server's address, naming the source project (source.project of a
	# pull): into p2, which does not hold the image, the record is made without a download.
	cli project create p2 >/dev/null
	lxc_in "${d}" config set core.https_address 127.0.0.1:8443
	cli image copy bb local: --target-project p2 --alias viaclient >/dev/null
	assert_eq "$(cli image alias list --project p2 -f csv | cut -d, -f1)" "viaclient" "aliases of p2 after the stock client's copy"
	assert_eq "$(local_curl "${d}" "/1.0/images/${fp}?project=p2" | jq -r .metadata.properties.os)" "mine" "p2's record"
	! grep -q "images/${fp}/export" "${d}/lxd.log" || fail "an image the server holds was downloaded for another project"
	cli image delete viaclient --project p2
	cli project delete p2

	# The source goes; the copy stays with the files.
	cli image delete bb
	[ -f "${d}/images/${fp}" ] || fail "the files of an image p1 holds were removed"
	cli delete c1 --project p1 --force
	cli image delete c --project p1
	[ ! -e "${d}/images/${fp}" ] || fail "the files of an image no project holds are left"
	cli project delete p1
}

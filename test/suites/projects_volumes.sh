# Custom storage volumes of projects: a project with features.storage.volumes (LXD's default for a new project)
# holds volumes of its own, one without it reaches default's, driven by the stock client and raw HTTP.

# test_projects_volumes: two volumes of one name in default and p1, attached to instances of each project and of a
# project without the feature; lists, used_by, snapshots, rename, deletion and a restart.
test_projects_volumes() {
	local d="${TEST_TMP}/d" conf="${TEST_TMP}/conf" out
	make_netns
	spawn_instance_lxd "${d}"
	cli() {
		LXD_DIR="${d}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	import_busybox "${d}" bb
	cli project create p1 >/dev/null
	cli project create p2 -c features.storage.volumes=false -c features.images=false >/dev/null
	for p in p1 p2; do
		cli profile device add default root disk path=/ pool=default --project "${p}" >/dev/null 2>&1 || true
	done

	lxc_in "${d}" image import "$("${TEST_DIR}/deps/busybox-image.sh")/unified.tar.xz" --alias bb --project p1 >/dev/null

	# One name in two projects; p2 reaches default's.
	cli storage volume create default v1 >/dev/null
	cli storage volume create default v1 --project p1 >/dev/null
	cli storage volume set default v1 user.owner=p1 --project p1
	assert_eq "$(cli storage volume get default v1 user.owner)" "" "default's volume after a change of p1's"
	assert_eq "$(cli storage volume get default v1 user.owner --project p2)" "" "default's volume seen from p2"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom?project=p1" | jq -c .metadata)" \
		'["/1.0/storage-pools/default/volumes/custom/v1?project=p1"]' "URLs of p1's volumes"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom/v1?project=p1" | jq -r '.metadata | .project + " " + .config["user.owner"]')" \
		"p1 p1" "p1's volume"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom/v1?project=p2" | jq -r .metadata.project)" \
		"default" "the volume p2 reaches"
	assert_fails cli storage volume create default v1 --project p2
	assert_contains "${FAIL_OUTPUT}" "already exists"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom/v1?project=nosuch" | jq -r .error_code)" "404" \
		"a volume of a project that does not exist"

	# Instances of each project mount the volume their project reaches.
	cli launch bb c0 >/dev/null
	cli launch bb c1 --project p1 >/dev/null
	cli launch bb c2 --project p2 >/dev/null
	cli storage volume attach default v1 c0 /mnt
	cli storage volume attach default v1 c1 /mnt --project p1
	cli storage volume attach default v1 c2 /mnt --project p2
	cli exec c1 --project p1 -- sh -c 'echo p1 > /mnt/f'
	cli exec c0 -- sh -c 'echo default > /mnt/f'
	assert_eq "$(cli exec c1 --project p1 -- cat /mnt/f)" "p1" "p1's volume in p1's instance"
	assert_eq "$(cli exec c2 --project p2 -- cat /mnt/f)" "default" "default's volume in p2's instance"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom/v1?project=p1" | jq -c .metadata.used_by)" \
		'["/1.0/instances/c1?project=p1"]' "users of p1's volume"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom/v1" | jq -c .metadata.used_by)" \
		'["/1.0/instances/c0","/1.0/instances/c2?project=p2"]' "users of default's volume"

	# Every project's volumes at once.
	assert_eq "$(cli storage volume list default --all-projects -f csv | grep -v ',image,')" "default,container,c0,,filesystem,1
default,custom,v1,,filesystem,2
p1,container,c1,,filesystem,1
p1,custom,v1,,filesystem,1
p2,container,c2,,filesystem,1" "volumes of every project"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom?all-projects=true" | jq -c .metadata)" \
		'["/1.0/storage-pools/default/volumes/custom/v1","/1.0/storage-pools/default/volumes/custom/v1?project=p1"]' \
		"URLs of every project's custom volumes"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes?all-projects=true&project=p1" | jq -r .error_code)" "400" \
		"all projects and one"

	# Instance volumes are their project's.
	assert_eq "$(cli storage volume list default --project p1 -f csv -c tn | sort | tr '\n' ' ')" \
		"container,c1 custom,v1 image,$(local_curl "${d}" /1.0/images?project=p1 | jq -r '.metadata[0]' | sed 's#.*/##; s#?.*##') " \
		"volumes of p1"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/container" | jq -c .metadata)" \
		'["/1.0/storage-pools/default/volumes/container/c0"]' "container volumes of default"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/container/p1_c1" | jq -r .error_code)" "404" \
		"p1's container volume by its key"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/container/c1?project=p1" | jq -c '.metadata | [.project, .used_by]')" \
		'["p1",["/1.0/instances/c1?project=p1"]]' "p1's container volume"

	# Snapshots and a rename stay in p1, and the rename follows p1's disks only.
	cli storage volume snapshot default v1 s1 --project p1
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom/v1/snapshots?project=p1" | jq -c .metadata)" \
		'["/1.0/storage-pools/default/volumes/custom/v1/snapshots/s1?project=p1"]' "snapshots of p1's volume"
	assert_eq "$(local_curl "${d}" "/1.0/storage-pools/default/volumes/custom/v1/snapshots" | jq -c .metadata)" '[]' \
		"snapshots of default's volume"
	cli stop c1 --project p1 --force
	cli storage volume rename default v1 v2 --project p1
	assert_eq "$(cli config device get c1 v1 source --project p1)" "v2" "p1's disk after the rename"
	assert_eq "$(cli config device get c0 v1 source)" "v1" "default's disk after p1's rename"
	assert_eq "$(cli config device get c2 v1 source --project p2)" "v1" "p2's disk after p1's rename"
	cli start c1 --project p1
	assert_eq "$(cli exec c1 --project p1 -- cat /mnt/f)" "p1" "p1's volume after its rename"

	# A copy from p1 into default, as lxc storage volume copy --target-project makes it.
	cli storage volume copy default/v2 default/v3 --project p1 --target-project default >/dev/null
	assert_eq "$(cli storage volume get default v3 user.owner)" "p1" "copy of p1's volume in default"
	assert_eq "$(cli storage volume list default -f csv -c tn | grep custom | sort | tr '\n' ' ')" \
		"custom (snapshot),v3/s1 custom,v1 custom,v3 " "custom volumes of default after the copy"
	assert_fails cli storage volume copy default/v2 default/v4 --project nosuch --target-project default
	cli storage volume delete default v3

	# limits.disk sums the sizes of the project's custom volumes, each of which must have one.
	cli project create p3 -c limits.disk=100MiB >/dev/null
	assert_fails cli storage volume create default big size=200MiB --project p3
	assert_contains "${FAIL_OUTPUT}" '"limits.disk" of project "p3" would be exceeded'
	assert_fails cli storage volume create default nosize --project p3
	assert_contains "${FAIL_OUTPUT}" 'custom volume "default/nosize" in project "p3" has no "size" config set'
	cli storage volume create default a size=60MiB --project p3 >/dev/null
	assert_fails cli storage volume create default b size=60MiB --project p3
	cli storage volume set default a size=90MiB --project p3
	assert_fails cli storage volume set default a size=120MiB --project p3
	assert_eq "$(cli storage volume get default a size --project p3)" "90MiB" "size after a refused change"
	assert_eq "$(local_curl "${d}" /1.0/projects/p3/state | jq -r .metadata.resources.disk.Usage)" "94371840" "disk usage of p3"
	assert_eq "$(cli storage volume list default --project p3 -f csv -c tn)" "custom,a" "volumes of p3 after the refusals"
	cli storage volume delete default a --project p3
	cli project delete p3

	# A restart keeps each project's volumes.
	shutdown_lxd "${d}"
	spawn_lxd "${d}"
	assert_eq "$(cli storage volume list default --project p1 -f csv -c tn | grep custom | sort | tr '\n' ' ')" \
		"custom (snapshot),v2/s1 custom,v2 " "custom volumes of p1 after a restart"
	assert_eq "$(cli storage volume list default -f csv -c tn | grep custom)" "custom,v1" "custom volumes of default after a restart"

	# A volume in use, and a project holding volumes, cannot go.
	assert_fails cli storage volume delete default v2 --project p1
	cli delete c1 --project p1 --force
	assert_fails cli project delete p1
	assert_contains "${FAIL_OUTPUT}" "storage volumes default/v2"
	out=$(local_curl "${d}" /1.0/projects/p1 | jq -c .metadata.used_by)
	assert_contains "${out}" '"/1.0/storage-pools/default/volumes/custom/v2?project=p1"'
	assert_contains "$(local_curl "${d}" /1.0/storage-pools/default | jq -c .metadata.used_by)" \
		'"/1.0/storage-pools/default/volumes/custom/v2?project=p1"'
	cli storage volume delete default v2 --project p1
	assert_eq "$(cli storage volume get default v1 user.owner)" "" "default's volume after p1's deletion"
	cli image delete bb --project p1
	cli project delete p1
	cli delete c0 --force
	cli delete c2 --project p2 --force
	cli storage volume delete default v1
	cli project delete p2
}

# Restricted clients: a certificate limited to some projects, joined with a restricted token by the stock client
# over HTTPS, reaches its projects only; the server's configuration, the trust store, storage pools and other
# projects' objects are refused, and a stranger gets nothing.

test_restricted_clients() {
	local d="${TEST_TMP}/d" conf="${TEST_TMP}/rconf" addr token
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" project create p1 >/dev/null
	addr=$(enable_https "${d}")

	# A join token restricted to p1: the client that joins with it is restricted, whatever it asks.
	token=$(lxc_in "${d}" config trust add --name r1 --restricted --projects p1 --quiet | tail -n 1)
	stock_lxc "${conf}" remote add ours "${token}" >/dev/null
	assert_eq "$(local_curl "${d}" '/1.0/certificates?recursion=1' | jq -r '.metadata[] | select(.name == "r1") | "\(.restricted) \(.projects | join(","))"')" \
		"true p1" "restriction of the joined certificate"

	# The stock client saves the remote with the project the client may reach. There: listed, empty; the default
	# project's instances are refused.
	assert_eq "$(stock_lxc "${conf}" list ours: --format csv -c n)" "" "instances of p1"
	assert_eq "$(stock_lxc "${conf}" list ours: --project p1 --format csv -c n)" "" "instances of p1"
	assert_fails stock_lxc "${conf}" list ours: --project default --format csv -c n
	assert_fails stock_lxc "${conf}" info ours:c1 --project default
	assert_fails stock_lxc "${conf}" delete ours:c1 --project default
	assert_eq "$(stock_lxc "${conf}" project list ours: --format csv | cut -d, -f1 | sed 's/ (current)//')" "p1" "projects it sees"
	assert_fails stock_lxc "${conf}" project show ours:default

	# The server is not its to change or read.
	assert_fails stock_lxc "${conf}" config set ours: images.auto_update_interval 3
	assert_fails stock_lxc "${conf}" config trust list ours:
	assert_fails stock_lxc "${conf}" storage create ours:x dir
	assert_fails stock_lxc "${conf}" project create ours:p2
	local raw
	raw=$(curl -sS -k --cert "${conf}/client.crt" --key "${conf}/client.key" "https://${addr}/1.0")
	assert_eq "$(jq -r '.metadata.auth' <<<"${raw}")" "trusted" "auth of a restricted client"
	assert_eq "$(jq -c '.metadata.config' <<<"${raw}")" "{}" "server configuration seen by a restricted client"
	assert_eq "$(curl -sS -k --cert "${conf}/client.crt" --key "${conf}/client.key" "https://${addr}/1.0/certificates" | jq -r .error_code)" \
		"403" "trust store by a restricted client"

	# Its project's custom volumes are its own; one of default's cannot be copied into them.
	lxc_in "${d}" storage volume create default secret >/dev/null
	stock_lxc "${conf}" storage volume create ours:default mine >/dev/null
	assert_eq "$(stock_lxc "${conf}" storage volume list ours:default -f csv -c tn | grep custom)" "custom,mine" "volumes it sees"
	assert_eq "$(curl -sS -k --cert "${conf}/client.crt" --key "${conf}/client.key" "https://${addr}/1.0/storage-pools/default/volumes/custom?project=p1" \
		-X POST -d '{"name": "stolen", "type": "custom", "source": {"type": "copy", "name": "secret", "project": "default"}}' | jq -r .error_code)" \
		"403" "a copy of default's volume by a restricted client"
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom?project=p1 | jq -c .metadata)" \
		'["/1.0/storage-pools/default/volumes/custom/mine?project=p1"]' "p1's volumes after the refused copy"
	stock_lxc "${conf}" storage volume delete ours:default mine
	lxc_in "${d}" storage volume delete default secret

	# In a project without features.storage.volumes, default's volumes are reached, and their used_by shows only what
	# belongs to the client's projects.
	local fp3
	lxc_in "${d}" project create p3 -c features.storage.volumes=false >/dev/null
	fp3=$(local_curl "${d}" '/1.0/certificates?recursion=1' | jq -r '.metadata[] | select(.name == "r1") | .fingerprint')
	local_curl "${d}" "/1.0/certificates/${fp3}" -X PATCH -d '{"projects": ["p1", "p3"]}' >/dev/null
	lxc_in "${d}" storage volume create default shared >/dev/null
	lxc_in "${d}" storage volume attach default shared c1 /mnt
	assert_eq "$(local_curl "${d}" /1.0/storage-pools/default/volumes/custom/shared | jq -c .metadata.used_by)" \
		'["/1.0/instances/c1"]' "users of the volume"
	assert_eq "$(curl -sS -k --cert "${conf}/client.crt" --key "${conf}/client.key" "https://${addr}/1.0/storage-pools/default/volumes/custom/shared?project=p3" | jq -c .metadata.used_by)" \
		'[]' "users of the volume seen by a restricted client"
	assert_eq "$(curl -sS -k --cert "${conf}/client.crt" --key "${conf}/client.key" "https://${addr}/1.0/storage-pools/default/volumes?project=p3&recursion=1" | jq -c '.metadata[] | select(.name == "shared") | .used_by')" \
		'[]' "users of the volume in a list seen by a restricted client"
	assert_eq "$(curl -sS -k --cert "${conf}/client.crt" --key "${conf}/client.key" "https://${addr}/1.0/storage-pools/default/volumes?all-projects=true" | jq -r .error_code)" \
		"403" "volumes of every project by a restricted client"
	lxc_in "${d}" storage volume detach default shared c1
	lxc_in "${d}" storage volume delete default shared
	lxc_in "${d}" project delete p3

	# Nothing changed: c1 is there, the configuration as it was; a stranger is refused.
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | join(",")')" "/1.0/instances/c1" "instances"
	assert_eq "$(local_curl "${d}" /1.0 | jq -r '.metadata.config["images.auto_update_interval"] // ""')" "" "server configuration"
	assert_eq "$(stranger_curl "https://${addr}/1.0/instances" | jq -r .error_code)" "403" "instances by a stranger"

	# Lifted, the same certificate reaches the default project.
	local fp
	fp=$(local_curl "${d}" '/1.0/certificates?recursion=1' | jq -r '.metadata[] | select(.name == "r1") | .fingerprint')
	local_curl "${d}" "/1.0/certificates/${fp}" -X PATCH -d '{"restricted": false}' >/dev/null
	assert_eq "$(stock_lxc "${conf}" list ours: --project default --format csv -c n)" "c1" "instances once unrestricted"
}

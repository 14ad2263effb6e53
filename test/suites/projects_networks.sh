# Networks of projects: a project with features.networks has networks of its own, which hold none here (bridges
# belong to default, as on LXD 5.0.2); one without it reaches default's. Driven by the stock client and raw HTTP,
# the daemon in a network namespace of the test's own.

test_projects_networks() {
	local d="${TEST_TMP}/d" conf="${TEST_TMP}/conf"
	net_spawn "${d}"
	cli() {
		LXD_DIR="${d}" LXD_CONF="${conf}" nsx /usr/bin/lxc "$@"
	}

	import_busybox "${d}" bb
	cli network create n1 >/dev/null
	cli project create pn -c features.networks=true -c features.images=false -c features.profiles=false >/dev/null
	cli project create po -c features.images=false -c features.profiles=false >/dev/null

	# pn lists and finds no network; a bridge is refused in it as LXD refuses one, and nothing is made.
	assert_eq "$(local_curl "${d}" "/1.0/networks?project=pn" | jq -c .metadata)" "[]" "networks of pn"
	assert_eq "$(local_curl "${d}" "/1.0/networks?project=pn&recursion=1" | jq -c .metadata)" "[]" "networks of pn, recursion 1"
	assert_eq "$(cli network list --project pn -f csv)" "" "networks of pn, stock client"
	assert_eq "$(local_curl "${d}" "/1.0/networks/n1?project=pn" | jq -r .error_code)" "404" "default's network seen from pn"
	assert_eq "$(local_curl "${d}" "/1.0/networks/n1/state?project=pn" | jq -r .error_code)" "404" "state of default's network seen from pn"
	assert_fails cli network create n2 --type=bridge --project pn
	assert_contains "${FAIL_OUTPUT}" "network type does not support non-default projects"
	assert_fails cli network create n2 --project pn
	assert_contains "${FAIL_OUTPUT}" "\"ovn\" is not supported"
	assert_fails cli network delete n1 --project pn
	! nsx ip link show n2 >/dev/null 2>&1 || fail "a bridge was made for a refused network"
	assert_eq "$(local_curl "${d}" /1.0/networks/n2 | jq -r .error_code)" "404" "a refused network"

	# po reaches default's; an instance of pn finds no n1, one of po attaches to it.
	assert_contains "$(cli network list --project po -f csv)" "n1,bridge,YES"
	cli init bb c1 --project po --network n1 >/dev/null
	assert_eq "$(local_curl "${d}" "/1.0/networks/n1?project=po" | jq -c .metadata.used_by)" '["/1.0/instances/c1?project=po"]' \
		"users of n1"
	assert_fails cli init bb c2 --project pn --network n1
	assert_contains "${FAIL_OUTPUT}" 'Failed loading network "n1": network not found'
	cli init bb c2 --project pn >/dev/null
	assert_fails cli config device add c2 eth0 nic network=n1 --project pn
	assert_contains "${FAIL_OUTPUT}" 'failed to load network "n1" for project "pn": network not found'
	assert_eq "$(cli config device list c2 --project pn)" "" "devices of c2 after the refused nic"
	local op
	op=$(local_curl "${d}" "/1.0/instances?project=pn" -X POST \
		-d '{"name": "c3", "source": {"type": "image", "alias": "bb"}, "devices": {"eth0": {"type": "nic", "network": "n1"}}}' | jq -r .operation)
	assert_contains "$(local_curl "${d}" "${op}/wait?project=pn" | jq -r .metadata.err)" \
		'failed to load network "n1" for project "pn": network not found'
	assert_eq "$(cli list --project pn -f csv -c n)" "c2" "instances of pn after the refused nics"

	cli delete c1 --project po
	cli delete c2 --project pn
	cli project delete pn
	cli project delete po
	cli network delete n1
}

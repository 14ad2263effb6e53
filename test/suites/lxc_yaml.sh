# The YAML our client prints for show commands is byte for byte the stock client's, from the same daemon answers
# (lists under a key are not indented, as the stock client's YAML library writes them).

test_lxc_yaml_shows() {
	local d="${TEST_TMP}/d" stock c
	stock="${d}.stock"
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	lxc_in "${d}" init bb c1 >/dev/null
	lxc_in "${d}" config device add c1 data disk source=/tmp path=/mnt/tmp >/dev/null
	lxc_in "${d}" profile create p1 >/dev/null
	lxc_in "${d}" profile add c1 p1 >/dev/null
	for c in "config show c1" "config show c1 --expanded" "profile show default" "profile show p1" \
		"config metadata show c1" "config device show c1" "config show"; do
		# shellcheck disable=SC2086
		assert_eq "$(lxc_in "${d}" ${c})" "$(LXD_DIR="${d}" stock_lxc "${stock}" ${c})" "lxc ${c}"
	done

	assert_contains "$(lxc_in "${d}" config show c1)" $'profiles:\n- default\n- p1'
}

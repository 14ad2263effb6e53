# Hostile image templates: a start template whose rendering would take the daemon's memory or time fails the
# start fast, naming the template, and the daemon's memory stays bounded.

# daemon_hwm DIR: the peak resident memory (VmHWM, in kB) of the daemon of DIR.
daemon_hwm() {
	awk '/^VmHWM:/ {print $2}' "/proc/$(cat "$1/lxd.pid")/status"
}

# hostile_image DIR ALIAS TEMPLATE: imports the busybox image into the daemon of DIR under ALIAS, its start
# template (motd.tpl) replaced by TEMPLATE.
hostile_image() {
	local dir=$1 alias=$2 src=$3
	local fixtures img="${TEST_TMP}/img-${alias}"
	fixtures=$("${TEST_DIR}/deps/busybox-image.sh")
	mkdir -p "${img}"
	cp -a "${fixtures}/meta/." "${img}/"
	cp -a "${fixtures}/rootfs" "${img}/rootfs"
	printf '%s\n' "${src}" >"${img}/templates/motd.tpl"
	(cd "${img}" && tar -cJf "${TEST_TMP}/${alias}.tar.xz" metadata.yaml templates rootfs)
	import_busybox "${dir}" "${alias}" "${TEST_TMP}/${alias}.tar.xz"
}

test_template_hostile_bounded() {
	local d="${TEST_TMP}/d1"
	spawn_instance_lxd "${d}"

	local x10k
	x10k=$(printf '%10000s' '' | tr ' ' x)
	local -A templates=(
		[ljust]='{{ "x"|ljust:200000000|length }}'
		[loops]="{% set s = \"${x10k}\" %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
		[writing]="{% set s = \"${x10k}\" %}{% for a in s %}{% for b in s %}{{ b }}{% endfor %}{% endfor %}"
		[recursion]='{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}'
	)

	local name hwm_before hwm_after start ms
	for name in ljust loops writing recursion; do
		hostile_image "${d}" "${name}" "${templates[${name}]}"
		lxc_in "${d}" init "${name}" "c-${name}"

		hwm_before=$(daemon_hwm "${d}")
		start=$(date +%s%N)
		assert_fails lxc_in "${d}" start "c-${name}"
		ms=$(( ($(date +%s%N) - start) / 1000000 ))
		hwm_after=$(daemon_hwm "${d}")
		echo "${name}: start refused in ${ms} ms, daemon VmHWM ${hwm_before} kB -> ${hwm_after} kB: ${FAIL_OUTPUT}"

		assert_contains "${FAIL_OUTPUT}" 'template "motd.tpl"'
		assert_contains "${FAIL_OUTPUT}" "template budget exceeded"
		[ "${ms}" -lt 5000 ] || fail "${name}: the start took ${ms} ms, want under 5 s"
		[ $((hwm_after - hwm_before)) -lt 65536 ] || fail "${name}: the daemon grew from ${hwm_before} kB to ${hwm_after} kB"
		assert_eq "$(lxc_in "${d}" list "c-${name}" --format csv -c s)" "STOPPED" "status of c-${name} after the refused start"
	done

	# The daemon still serves, and an ordinary image still starts.
	import_busybox "${d}" bb
	lxc_in "${d}" launch bb c1
	assert_eq "$(lxc_in "${d}" exec c1 -- cat /etc/motd)" "hello from c1 (start)" "motd of c1"
	lxc_in "${d}" delete -f c1
}

# Id maps of unprivileged containers, as the daemon chose and recorded them. The host range depends on the machine:
# the daemon uses root's first range of at least 65536 ids in /etc/subuid and /etc/subgid (adding
# root:1000000:1000000000 to a file without one when it starts; see lxd/instance/idmap.go), and Debian's lxd package
# writes root:100000:... there first. Tests take the host ids from here, never from a constant.

# root_subid_range FILE: prints "START COUNT" of root's range in FILE (/etc/subuid or /etc/subgid) as the daemon
# picks it: the first entry for "root" or uid 0 of at least 65536 ids. Prints nothing when there is none.
root_subid_range() {
	awk -F: '
		{ sub(/^[ \t]+/, ""); sub(/[ \t\r]+$/, "") }
		/^$/ || /^#/ { next }
		NF == 3 && ($1 == "root" || $1 == "0") && $3 + 0 >= 65536 { print $2 + 0, $3 + 0; exit }
	' "$1" 2>/dev/null || true
}

# instance_idmap DIR NAME: prints "HOSTUID HOSTGID COUNT", the host ids of the root of the unprivileged container
# NAME and the size of its map, from volatile.last_state.idmap as the daemon of DIR reports it. Fails unless the
# record is a single uid and a single gid range from container id 0, volatile.idmap.base names the same host uid,
# and the ranges are root's in /etc/subuid and /etc/subgid (which the daemon read when it started). Call it as
# "ids=$(instance_idmap ...)": a failure then stops the test.
instance_idmap() {
	local dir=$1 name=$2 config map base uid gid count want_u want_g size_u size_g
	config=$(local_curl "${dir}" "/1.0/instances/${name}" | jq -c '.metadata.config // {}') || return 1
	map=$(jq -r '.["volatile.last_state.idmap"] // ""' <<<"${config}")
	base=$(jq -r '.["volatile.idmap.base"] // ""' <<<"${config}")
	if [ -z "${map}" ] || [ -z "${base}" ]; then
		fail "the daemon recorded no id map for ${name} (volatile.idmap.base '${base}', volatile.last_state.idmap '${map}'): does it run everything privileged? See its log."
		return 1
	fi

	# Exactly one uid and one gid entry, both from container id 0 over the same count.
	local shape
	shape=$(jq -r '[length, ([.[] | select(.Isuid and (.Isgid | not))] | length),
		([.[] | select(.Isgid and (.Isuid | not))] | length), ([.[] | select(.Nsid != 0)] | length)] | @tsv' <<<"${map}")
	assert_eq "${shape}" "$(printf '2\t1\t1\t0')" "entries of volatile.last_state.idmap of ${name} (${map})" || return 1
	read -r uid gid count < <(jq -r '[(.[] | select(.Isuid) | .Hostid), (.[] | select(.Isgid) | .Hostid),
		(.[] | select(.Isuid) | .Maprange)] | @tsv' <<<"${map}")
	assert_eq "$(jq -r '.[] | select(.Isgid) | .Maprange' <<<"${map}")" "${count}" "gid count against uid count in ${map}" || return 1
	assert_eq "${base}" "${uid}" "volatile.idmap.base of ${name} against the uid map" || return 1
	[ "${uid}" -gt 0 ] && [ "${gid}" -gt 0 ] && [ "${count}" -ge 65536 ] || {
		fail "the id map of ${name} is not an unprivileged one of at least 65536 ids: ${map}"
		return 1
	}

	# The ranges are root's on this machine.
	read -r want_u size_u <<<"$(root_subid_range /etc/subuid)"
	read -r want_g size_g <<<"$(root_subid_range /etc/subgid)"
	assert_eq "${uid}" "${want_u:-none}" "host uid of ${name} against root's range in /etc/subuid ($(tr '\n' ' ' </etc/subuid))" || return 1
	assert_eq "${gid}" "${want_g:-none}" "host gid of ${name} against root's range in /etc/subgid ($(tr '\n' ' ' </etc/subgid))" || return 1
	assert_eq "${count}" "$((size_u < size_g ? size_u : size_g))" "id count of ${name} against root's ranges" || return 1
	echo "${uid} ${gid} ${count}"
}

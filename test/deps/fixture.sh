# Sourced by the fixture builders: a fixture is built once per machine into /var/tmp/lxd-go-fixtures/NAME-KEY, KEY
# being a hash of the builder's inputs, and its directory is printed.

# fixture_begin NAME INPUTS: sets $out to the cached directory for these inputs (any text, e.g. hashes) and exits
# printing it when it is already built; otherwise sets $tmp to a fresh directory to build in (removed if the build
# fails).
fixture_begin() {
	key=$(printf '%s' "$2" | sha256sum | cut -c1-16)
	out="/var/tmp/lxd-go-fixtures/$1-${key}"
	mkdir -p /var/tmp/lxd-go-fixtures

	# One builder at a time per fixture; the others wait and then find it built. The lock goes with the process.
	exec 9>"/var/tmp/lxd-go-fixtures/$1.lock"
	flock 9
	if [ -f "${out}/.done" ]; then
		echo "${out}"
		exit 0
	fi

	tmp=$(mktemp -d /var/tmp/lxd-go-fixtures/.build.XXXXXX)
	# sh runs no EXIT trap when a signal kills it: a cancelled run would leave the build (hundreds of MB) behind.
	trap 'rm -rf "${tmp}"' EXIT
	trap 'exit 1' HUP INT TERM
}

# fixture_done moves the finished build into place and prints its directory.
fixture_done() {
	touch "${tmp}/.done"
	rm -rf "${out}"
	mv "${tmp}" "${out}"
	trap - EXIT HUP INT TERM
	echo "${out}"
}

# Load: 100 concurrent API clients for 30 s over the unix socket and HTTPS (test/load), about one action in five a
# write, then the state is checked for consistency.

# check_db_consistent DIR: with the daemon of DIR stopped, the database passes its integrity and foreign key checks,
# every alias points to an image, and instance rows and instance storage match one for one.
check_db_consistent() {
	local d=$1 db="$1/database/local.db" pool="$1/storage-pools/default" rows dirs
	assert_eq "$(sqlite3 "${db}" 'PRAGMA integrity_check')" "ok" "database integrity"
	assert_eq "$(sqlite3 "${db}" 'PRAGMA foreign_key_check')" "" "foreign keys"
	assert_eq "$(sqlite3 "${db}" 'SELECT count(*) FROM images_aliases WHERE image_id NOT IN (SELECT id FROM images)')" "0" \
		"aliases without an image"
	rows=$(sqlite3 "${db}" 'SELECT name FROM instances ORDER BY name' | tr '\n' ' ')
	dirs=$(find "${pool}/containers" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')
	assert_eq "${dirs}" "${rows}" "instance storage against instance rows"
	for name in ${rows}; do
		[ -f "${pool}/containers/${name}/lower" ] || fail "storage of ${name} is incomplete"
	done
}

test_load_100_clients() {
	local d="${TEST_TMP}/d1" fp addr out p99
	spawn_instance_lxd "${d}"
	import_busybox "${d}" bb
	fp=$(local_curl "${d}" /1.0/images/aliases/bb | jq -r .metadata.target)

	# A trusted client certificate for the HTTPS half of the clients.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "${TEST_TMP}/c.key" \
		-out "${TEST_TMP}/c.crt" -days 1 -subj "/CN=load" 2>/dev/null
	local_curl "${d}" /1.0/certificates -X POST -o /dev/null \
		-d "$(jq -nc --rawfile c "${TEST_TMP}/c.crt" '{certificate: $c, name: "load"}')"
	addr=$(enable_https "${d}")

	(cd "${MAIN_DIR}" && go build -o "${TEST_TMP}/load" ./test/load)
	out=$("${TEST_TMP}/load" -socket "${d}/unix.socket" -https "${addr}" -cert "${TEST_TMP}/c.crt" -key "${TEST_TMP}/c.key" \
		-image "${fp}" -clients "${LOAD_CLIENTS:-100}" -duration "${LOAD_DURATION:-30s}") || { echo "${out}"; fail "load run"; }
	echo "${out}"
	p99=$(echo "${out}" | sed -n 's/^p99: //p')
	echo "load p99: ${p99}" | tee -a "${RUN_DIR}/timings"

	# Every kind of request ran, on both transports.
	for kind in get-server list-images list-instances get-image list-profiles patch-image create-alias delete-alias \
		create-profile delete-profile create-instance-wait delete-instance-wait; do
		assert_contains "${out}" "${kind}/unix "
		assert_contains "${out}" "${kind}/https "
	done

	# Nothing the clients made is left, and the API still answers.
	assert_eq "$(local_curl "${d}" /1.0/instances | jq -r '.metadata | length')" "0" "instances left"
	assert_eq "$(local_curl "${d}" /1.0/images/aliases | jq -r '.metadata | length')" "1" "aliases left"
	assert_eq "$(local_curl "${d}" /1.0/profiles | jq -r '.metadata | length')" "1" "profiles left"

	shutdown_lxd "${d}"
	check_db_consistent "${d}"
}

# Listing N images (LIST_SIZES): tiny distinct images, then many GET /1.0/images?recursion=1 from 4 concurrent
# clients.
# shellcheck shell=bash

bench_list() {
	local n made=0 who rps_ours p50_ours p99_ours err_ours rps_stock p50_stock p99_stock err_stock
	mkdir -p "${WORK}/tiny/rootfs"
	{
		echo "| measure | ours | stock LXD 5.0.2 | ours / stock |"
		echo "| --- | --- | --- | --- |"
	} >"${WORK}/list-rows"
	for n in ${LIST_SIZES}; do
		while [ "${made}" -lt "${n}" ]; do
			made=$((made + 1))
			printf 'architecture: x86_64\ncreation_date: %d\nproperties:\n  description: tiny %d\n' \
				"$((1700000000 + made))" "${made}" >"${WORK}/tiny/metadata.yaml"
			tar -C "${WORK}/tiny" -czf "${WORK}/tiny.tar.gz" metadata.yaml rootfs
			for who in ours stock; do
				wait_op "${who}" "$(api "${who}" /1.0/images -X POST --data-binary "@${WORK}/tiny.tar.gz")"
			done
		done

		read -r rps_ours p50_ours p99_ours err_ours < <("${WORK}/apibench" -socket "$(socket ours)" -path '/1.0/images?recursion=1' -n 200 -c 4)
		read -r rps_stock p50_stock p99_stock err_stock < <("${WORK}/apibench" -socket "$(socket stock)" -path '/1.0/images?recursion=1' -n 200 -c 4)
		# A failed request of ours stops the run; the stock daemon's (it times out under this load) are counted.
		[ "${err_ours}" = 0 ] || { echo "list requests failed: ${err_ours} ours" >&2; exit 1; }
		echo "| list ${n} images (requests/s, 4 clients; p99 ms) | ${rps_ours} (p99 ${p99_ours}) | ${rps_stock} (p99 ${p99_stock}, ${err_stock} failed of 200) | $(ratio "${rps_stock}" "${rps_ours}") (time per request) |" >>"${WORK}/list-rows"
	done

	emit list <"${WORK}/list-rows"
}

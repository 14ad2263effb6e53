# Image import and export, launches from cached images (one at a time and 20 at once), the idle daemons' memory and
# the floors of an import (sha256sum of the same files).
# shellcheck shell=bash

# time_import_launch WHO: seconds from the first byte of the Debian image's import to the end of the first launch
# from it; container and image are deleted afterwards. Medians of RUNS runs.
time_import_launch() {
	local who=$1 t0 t1 i
	for i in $(seq "${RUNS}"); do
		t0=$(now)
		wait_op "${who}" "$(api "${who}" /1.0/images -X POST -H 'Content-Type: application/octet-stream' -H 'Expect:' -T "${DEBIAN_UNIFIED}")"
		lxcw "${who}" launch "${DEBIAN_FP}" "bench-il${i}" >/dev/null || { echo "launch failed on ${who}" >&2; exit 1; }
		t1=$(now)
		echo "${t1} - ${t0}" | bc -l
		remove_instance "${who}" "bench-il${i}"
		wait_op "${who}" "$(api "${who}" "/1.0/images/${DEBIAN_FP}" -X DELETE)"
	done | median
}

bench_core() {
	local plain plain_mb floor_u floor_p floor_s who
	plain="${WORK}/unified.tar"
	gzip -dc "${DEBIAN_UNIFIED}" >"${plain}"
	plain_mb=$(du -m "${plain}" | cut -f1)

	# The imports come first: the image must not be in the store yet.
	for who in ours stock; do
		api "${who}" /1.0/images/aliases/bench-debian | jq -e '.error_code == 404' >/dev/null ||
			wait_op "${who}" "$(api "${who}" "/1.0/images/${DEBIAN_FP}" -X DELETE)"
	done

	floor_u=$(time_sha256 "${DEBIAN_UNIFIED}")
	floor_p=$(time_sha256 "${plain}")
	floor_s=$(time_sha256 "${DEBIAN_META}" "${DEBIAN_ROOTFS}")
	local imp_u_ours imp_u_stock imp_p_ours imp_p_stock imp_s_ours imp_s_stock il_ours il_stock
	imp_u_ours=$(time_import ours "${DEBIAN_UNIFIED}")
	imp_u_stock=$(time_import stock "${DEBIAN_UNIFIED}")
	imp_p_ours=$(time_import ours "${plain}")
	imp_p_stock=$(time_import stock "${plain}")
	imp_s_ours=$(time_import ours "${DEBIAN_META}" "${DEBIAN_ROOTFS}")
	imp_s_stock=$(time_import stock "${DEBIAN_META}" "${DEBIAN_ROOTFS}")
	il_ours=$(time_import_launch ours)
	il_stock=$(time_import_launch stock)

	for who in ours stock; do
		ensure_debian "${who}"
	done

	local exp_ours exp_stock lb_ours lb_stock ld_ours ld_stock conc_ours conc_fail_ours conc_stock conc_fail_stock
	exp_ours=$(time_export ours "${DEBIAN_FP}")
	exp_stock=$(time_export stock "${DEBIAN_FP}")
	lb_ours=$(time_launch ours bench-busybox)
	lb_stock=$(time_launch stock bench-busybox)
	ld_ours=$(time_launch ours bench-debian)
	ld_stock=$(time_launch stock bench-debian)
	read -r conc_ours conc_fail_ours < <(concurrent_launch ours 20)
	read -r conc_stock conc_fail_stock < <(concurrent_launch stock 20)

	{
		table_head
		row "import unified ${DEBIAN_MB} MB Debian image (s)" "${imp_u_ours}" "${imp_u_stock}"
		row "import split Debian image (s)" "${imp_s_ours}" "${imp_s_stock}"
		row "import the unified image uncompressed, ${plain_mb} MB (s)" "${imp_p_ours}" "${imp_p_stock}"
		row "import the unified Debian image and launch it (s)" "${il_ours}" "${il_stock}"
		row "export unified image (s)" "${exp_ours}" "${exp_stock}"
		row "launch from a cached busybox image (s)" "${lb_ours}" "${lb_stock}"
		row "launch from a cached Debian image (s)" "${ld_ours}" "${ld_stock}"
		echo "| 20 concurrent busybox launches (s; failed) | ${conc_ours} (${conc_fail_ours} failed) | ${conc_stock} (${conc_fail_stock} failed) | $(ratio "${conc_ours}" "${conc_stock}") |"
		row "idle daemon RSS, before any work (MiB)" "${RSS_IDLE_OURS}" "${RSS_IDLE_STOCK}"
		echo
		echo "| floor | seconds | our import / floor |"
		echo "| --- | --- | --- |"
		echo "| sha256sum of the unified image | ${floor_u} | $(ratio "${imp_u_ours}" "${floor_u}") |"
		echo "| sha256sum of the split image's parts | ${floor_s} | $(ratio "${imp_s_ours}" "${floor_s}") |"
		echo "| sha256sum of the uncompressed image | ${floor_p} | $(ratio "${imp_p_ours}" "${floor_p}") |"
	} | emit core
}

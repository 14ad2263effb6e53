#!/bin/sh
# Builds the busybox test images, offline, from Debian's busybox-static, and prints the directory holding them.
# The result is cached under /var/tmp keyed by this script and the busybox binary, so it is built once per machine.
#
# The directory holds:
#   rootfs/                          the filesystem tree
#   meta/                            metadata.yaml and templates/
#   unified.tar{,.gz,.xz,.bz2,.lzma,.zst}        one-tarball images
#   meta.tar.xz + rootfs.tar{,.gz,.xz,.bz2,.lzma,.zst}, rootfs.squashfs   split images
set -eu

BUSYBOX=/bin/busybox
[ -x "${BUSYBOX}" ] || { echo "busybox-static is not installed" >&2; exit 1; }
# Required, not optional: a fixture built without it would be cached without rootfs.squashfs for good.
command -v mksquashfs >/dev/null || { echo "mksquashfs is not installed (Debian package squashfs-tools)" >&2; exit 1; }

# shellcheck source=test/deps/fixture.sh
. "$(dirname "$0")/fixture.sh"
fixture_begin busybox "$(cat "$0" "${BUSYBOX}" | sha256sum)"
mkdir -p "${tmp}/rootfs" "${tmp}/meta/templates"

root="${tmp}/rootfs"
for d in bin sbin etc dev proc sys tmp root run var/log usr/bin usr/sbin home; do
	mkdir -p "${root}/${d}"
done
chmod 1777 "${root}/tmp"
chmod 0700 "${root}/root"
cp "${BUSYBOX}" "${root}/bin/busybox"
for applet in $("${BUSYBOX}" --list-full); do
	[ "${applet}" = "bin/busybox" ] && continue
	mkdir -p "${root}/$(dirname "${applet}")"
	ln -sf /bin/busybox "${root}/${applet}"
done

cat >"${root}/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"${root}/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
cat >"${root}/etc/inittab" <<'INITTAB'
::sysinit:/bin/mount -t tmpfs tmpfs /run
::sysinit:/bin/hostname -F /etc/hostname
::respawn:/bin/sleep 2147483647
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
INITTAB
echo busybox >"${root}/etc/hostname"

cat >"${tmp}/meta/metadata.yaml" <<'META'
architecture: x86_64
creation_date: 1700000000
properties:
  description: Busybox x86_64
  os: busybox
  release: "1.35"
templates:
  /etc/hostname:
    when:
      - create
      - copy
      - rename
    template: hostname.tpl
  /etc/motd:
    when:
      - start
    template: motd.tpl
    properties:
      greeting: hello
META
printf '{{ container.name }}\n' >"${tmp}/meta/templates/hostname.tpl"
printf '{{ properties.greeting }} from {{ container.name }} ({{ trigger }})\n' >"${tmp}/meta/templates/motd.tpl"

# Deterministic tarballs: same inputs, same bytes, same fingerprints.
dtar() {
	tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner --format=gnu -C "$1" -cf - "$2"
}

mkdir -p "${tmp}/unified"
cp -a "${tmp}/meta/." "${tmp}/unified/"
cp -a "${root}" "${tmp}/unified/rootfs"
(cd "${tmp}/unified" && tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner --format=gnu \
	-cf "${tmp}/unified.tar" metadata.yaml templates rootfs)
(cd "${tmp}/meta" && tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner --format=gnu \
	-cf "${tmp}/meta.tar" metadata.yaml templates)
dtar "${root}" . >"${tmp}/rootfs.tar"
rm -rf "${tmp}/unified"

for base in unified rootfs; do
	gzip -9 -n -c "${tmp}/${base}.tar" >"${tmp}/${base}.tar.gz"
	xz -T1 -c "${tmp}/${base}.tar" >"${tmp}/${base}.tar.xz"
	bzip2 -c "${tmp}/${base}.tar" >"${tmp}/${base}.tar.bz2"
	xz --format=lzma -c "${tmp}/${base}.tar" >"${tmp}/${base}.tar.lzma"
	zstd -q -c "${tmp}/${base}.tar" >"${tmp}/${base}.tar.zst"
done
xz -T1 -c "${tmp}/meta.tar" >"${tmp}/meta.tar.xz"
mksquashfs "${root}" "${tmp}/rootfs.squashfs" -noappend -no-progress -quiet -all-root -mkfs-time 1700000000 \
	-all-time 1700000000 >/dev/null

fixture_done

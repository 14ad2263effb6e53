#!/bin/sh
# Builds a Debian 12 (bookworm) test image with debootstrap and prints the directory holding it. The result is cached
# under /var/tmp keyed by this script and the debootstrap version, so the download happens once per machine.
#
# The directory holds:
#   rootfs/                                  the filesystem tree (minbase, plus systemd-sysv as init)
#   unified.tar.gz, unified.tar.xz           one-tarball images
#   meta.tar.xz + rootfs.tar.gz              a split image
set -eu

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

command -v debootstrap >/dev/null || { echo "debootstrap is not installed" >&2; exit 1; }
# shellcheck source=test/deps/fixture.sh
. "$(dirname "$0")/fixture.sh"
# The key is the script's content, not its path: every checkout on the machine shares the image.
fixture_begin debian "$(sha256sum <"$0") $(dpkg-query -W -f='${Version}' debootstrap)"
debootstrap --variant=minbase --include=systemd-sysv,iproute2 "${SUITE}" "${tmp}/rootfs" "${MIRROR}" >"${tmp}/debootstrap.log" 2>&1 || {
	tail -n 30 "${tmp}/debootstrap.log" >&2
	exit 1
}

rm -rf "${tmp}/rootfs/var/cache/apt/archives/"*.deb "${tmp}/rootfs/var/lib/apt/lists/"*
# Containers get /dev from the runtime.
rm -rf "${tmp}/rootfs/dev/"*

mkdir -p "${tmp}/meta/templates"
cat >"${tmp}/meta/metadata.yaml" <<'META'
architecture: x86_64
creation_date: 1700000000
properties:
  description: Debian bookworm x86_64
  os: debian
  release: bookworm
templates:
  /etc/hostname:
    when:
      - create
      - copy
      - rename
    template: hostname.tpl
META
printf '{{ container.name }}\n' >"${tmp}/meta/templates/hostname.tpl"

mkdir -p "${tmp}/unified"
cp -a "${tmp}/meta/." "${tmp}/unified/"
mv "${tmp}/rootfs" "${tmp}/unified/rootfs"
(cd "${tmp}/unified" && tar --sort=name --numeric-owner --xattrs -cf "${tmp}/unified.tar" metadata.yaml templates rootfs)
(cd "${tmp}/meta" && tar --sort=name --numeric-owner -cf - metadata.yaml templates) | xz -T1 -c >"${tmp}/meta.tar.xz"
(cd "${tmp}/unified/rootfs" && tar --sort=name --numeric-owner --xattrs -cf - .) | gzip -6 -n -c >"${tmp}/rootfs.tar.gz"
gzip -6 -n -c "${tmp}/unified.tar" >"${tmp}/unified.tar.gz"
xz -T2 -c "${tmp}/unified.tar" >"${tmp}/unified.tar.xz"
rm -f "${tmp}/unified.tar"
mv "${tmp}/unified/rootfs" "${tmp}/rootfs"
rm -rf "${tmp}/unified"

fixture_done

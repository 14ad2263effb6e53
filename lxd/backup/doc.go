// Package backup makes, keeps and imports instance backups in LXD 5.0.2's format: a tarball holding
// backup/index.yaml, backup/container/ (rootfs/, metadata.yaml, templates/, backup.yaml) and
// backup/snapshots/<name>/ with the same layout, its files owned as they are on disk. Backups are kept as files
// under the daemon's backups/instances/<instance>/ directory, each with its description in a file beside it, and
// are deleted when they expire or when their instance goes. Imports are unpacked with the same hardening as image
// imports (no path leaving the tree, no link escaping it, no device node but the harmless ones, bounded metadata)
// and recreate the instance through the instance manager, leaving nothing behind when they fail.
package backup

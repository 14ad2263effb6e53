// Package config reads and writes the CLI's configuration directory ($LXD_CONF, default ~/.config/lxc): config.yml
// with the remotes and aliases (in the stock client's format, so that both clients share one directory), the
// client key pair and the pinned server certificates in servercerts/<remote>.crt.
package config

// Package lxc runs containers with liblxc (through go-lxc). It is the only package importing go-lxc.
package lxc

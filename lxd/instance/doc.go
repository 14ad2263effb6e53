// Package instance manages system containers: their configuration rules, their root filesystems on a storage
// pool, the image templates rendered into them, and their lifecycle (create, start, stop, exec, delete). Running
// them is delegated to a Driver; the liblxc driver lives in lxd/instance/lxc, the only package importing go-lxc.
package instance

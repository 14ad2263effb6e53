// Package resources reads the hardware of the host from sysfs and procfs, the way GET /1.0/resources reports it:
// processors, memory, GPUs, network cards, disks, USB and PCI devices and the DMI description of the machine. It runs
// no external program; anything the host does not expose is left out or zero.
package resources

package resources

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EthtoolInfo is what the SIOCETHTOOL ioctl tells about a network interface.
type EthtoolInfo struct {
	// Supported is the ETHTOOL_GSET "supported" bit mask (link modes and connectors).
	Supported uint32

	// Speed is the link speed in Mbit/s (0 when unknown).
	Speed uint64

	// Duplex is "full" or "half", or "" when unknown.
	Duplex string

	// Port is the connector in use (PORT_* value).
	Port uint8

	// Transceiver is XCVR_INTERNAL (0) or XCVR_EXTERNAL (1).
	Transceiver uint8

	// Autoneg tells whether the link is negotiated.
	Autoneg bool

	// HasSettings is false when the driver does not answer ETHTOOL_GSET.
	HasSettings bool

	// FirmwareVersion comes from ETHTOOL_GDRVINFO.
	FirmwareVersion string
}

// ethtoolCmd is struct ethtool_cmd of linux/ethtool.h.
type ethtoolCmd struct {
	cmd           uint32
	supported     uint32
	advertising   uint32
	speed         uint16
	duplex        uint8
	port          uint8
	phyAddress    uint8
	transceiver   uint8
	autoneg       uint8
	mdioSupport   uint8
	maxtxpkt      uint32
	maxrxpkt      uint32
	speedHi       uint16
	ethTpMdix     uint8
	ethTpMdixCtrl uint8
	lpAdvertising uint32
	reserved      [2]uint32
}

// ethtoolDrvinfo is struct ethtool_drvinfo of linux/ethtool.h.
type ethtoolDrvinfo struct {
	cmd         uint32
	driver      [32]byte
	version     [32]byte
	fwVersion   [32]byte
	busInfo     [32]byte
	eromVersion [32]byte
	reserved2   [12]byte
	nPrivFlags  uint32
	nStats      uint32
	testinfoLen uint32
	eedumpLen   uint32
	regdumpLen  uint32
}

// ifreqData is struct ifreq with the ifr_data member of the union.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

const (
	ethtoolGSet     = 0x1
	ethtoolGDrvinfo = 0x3
)

// ethtoolIoctl sends one SIOCETHTOOL request for iface with data as its argument.
func ethtoolIoctl(fd int, iface string, data unsafe.Pointer) error {
	req := ifreqData{data: uintptr(data)}
	copy(req.name[:unix.IFNAMSIZ-1], iface)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req)))
	runtime.KeepAlive(data)
	if errno != 0 {
		return errno
	}

	return nil
}

// HostEthtool asks the kernel for an interface's link settings and firmware version.
func HostEthtool(iface string) (*EthtoolInfo, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening ethtool socket: %w", err)
	}

	defer func() { _ = unix.Close(fd) }()
	out := &EthtoolInfo{}
	drv := ethtoolDrvinfo{cmd: ethtoolGDrvinfo}
	err = ethtoolIoctl(fd, iface, unsafe.Pointer(&drv))
	if err == nil {
		out.FirmwareVersion = unix.ByteSliceToString(drv.fwVersion[:])
	}

	cmd := ethtoolCmd{cmd: ethtoolGSet}
	err = ethtoolIoctl(fd, iface, unsafe.Pointer(&cmd))
	if err != nil {
		return out, nil
	}

	out.HasSettings = true
	out.Supported = cmd.supported
	out.Port = cmd.port
	out.Transceiver = cmd.transceiver
	out.Autoneg = cmd.autoneg == 1
	speed := uint64(cmd.speedHi)<<16 | uint64(cmd.speed)
	if speed != 0xffff && speed != 0xffffffff {
		out.Speed = speed
	}

	switch cmd.duplex {
	case 0:
		out.Duplex = "half"
	case 1:
		out.Duplex = "full"
	}

	return out, nil
}

package client

import "github.com/lxd-go/lxd/shared/api"

// NewOperationForTest wraps an operation object the way queries do, for the tests that drive a daemon.
func (c *ProtocolLXD) NewOperationForTest(op api.Operation) Operation {
	return c.newOperation(op)
}

// NewHTTPSForTest is newHTTPS, for the tests that drive a daemon.
var NewHTTPSForTest = newHTTPS

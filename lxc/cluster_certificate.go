package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

// updateCertificateCommand is "lxc cluster update-certificate": the cluster certificate and key are replaced with
// the PEM files given, and the client's pinned certificate of the remote follows.
func (c *cmdCluster) updateCertificateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update-certificate [<remote>:] <cert.crt> <cert.key>",
		Short: "Update cluster certificate",
		Long:  "Update cluster certificate with PEM certificate and key read from input files.",
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, 2, 3)
		if exit {
			return err
		}

		remoteArg := ""
		if len(args) == 3 {
			remoteArg, args = args[0], args[1:]
		}

		d, remote, err := c.server(remoteArg)
		if err != nil {
			return err
		}

		certPEM, err := os.ReadFile(args[0])
		if err != nil {
			//lint:ignore ST1005 the message of LXD 5.0.2, capitalised as it is
			return fmt.Errorf("Could not read certificate file: %s with error: %v", args[0], err)
		}

		keyPEM, err := os.ReadFile(args[1])
		if err != nil {
			//lint:ignore ST1005 the message of LXD 5.0.2, capitalised as it is
			return fmt.Errorf("Could not read certificate key file: %s with error: %v", args[1], err)
		}

		err = d.UpdateClusterCertificate(api.ClusterCertificatePut{
			ClusterCertificate:    string(certPEM),
			ClusterCertificateKey: string(keyPEM),
		}, "")
		if err != nil {
			return err
		}

		// A remote whose certificate is pinned is pinned to the new one; the local socket has none.
		pinned := c.global.conf.ServerCertPath(remote)
		_, err = os.Stat(pinned)
		if err == nil {
			err = c.global.conf.SaveServerCert(remote, certPEM)
			if err != nil {
				return fmt.Errorf("updating the pinned certificate of %s: %w", remote, err)
			}
		}

		if !c.global.flagQuiet {
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Successfully updated cluster certificates for remote %s\n", remote)
		}

		return err
	}

	return cmd
}

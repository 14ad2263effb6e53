package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdExport struct {
	global *cmdGlobal

	flagInstanceOnly     bool
	flagOptimizedStorage bool
	flagCompression      string
}

func (c *cmdExport) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export [<remote>:]<instance> [target] [--instance-only] [--optimized-storage]",
		Short: "Export instances as backup tarballs",
		Long: `Export instances as backup tarballs

The server makes a backup of the instance (with its snapshots unless --instance-only), which is downloaded to
target (backup.tar.gz when not given) and then deleted from the server.
    lxc export u1 backup0.tar.gz`,
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagInstanceOnly, "instance-only", false, "Whether or not to only backup the instance (without snapshots)")
	cmd.Flags().BoolVar(&c.flagOptimizedStorage, "optimized-storage", false, "Use storage driver optimized format (can only be restored on a similar pool)")
	cmd.Flags().StringVar(&c.flagCompression, "compression", "", "Compression algorithm to use (none for uncompressed)")
	return cmd
}

func (c *cmdExport) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	remote, name, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("invalid instance name %q", args[0])
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	req := api.InstanceBackupsPost{
		ExpiresAt:            time.Now().Add(24 * time.Hour),
		InstanceOnly:         c.flagInstanceOnly,
		OptimizedStorage:     c.flagOptimizedStorage,
		CompressionAlgorithm: c.flagCompression,
	}

	op, err := d.CreateInstanceBackup(name, req)
	if err != nil {
		return fmt.Errorf("create instance backup: %w", err)
	}

	progress := newProgress(cmd.OutOrStdout(), "Backing up instance: %s", c.global.flagQuiet)
	err = progress.follow(op)
	if err != nil {
		progress.done("")
		return err
	}

	progress.done("")
	backupName := ""
	for _, u := range op.Get().Resources["backups"] {
		backupName = u[strings.LastIndex(u, "/")+1:]
	}

	if backupName == "" {
		return fmt.Errorf("the server named no backup")
	}

	// The backup is deleted from the server whatever happens to the download, as the stock client does.
	defer func() {
		op, err := d.DeleteInstanceBackup(name, backupName)
		if err == nil {
			_ = op.Wait()
		}
	}()

	target := "backup.tar.gz"
	if len(args) > 1 {
		target = args[1]
	}

	return c.download(cmd, d, name, backupName, target)
}

// download writes the backup to target, removing a partial file on failure.
func (c *cmdExport) download(cmd *cobra.Command, d client.InstanceServer, name string, backupName string, target string) error {
	f, err := os.Create(target)
	if err != nil {
		return err
	}

	progress := newProgress(cmd.OutOrStdout(), "Exporting the backup: %s", c.global.flagQuiet)
	_, err = d.GetInstanceBackupFile(name, backupName, &client.InstanceBackupArgs{BackupFile: f,
		ProgressHandler: progress.transferHandler()})
	if err == nil {
		err = f.Close()
	} else {
		_ = f.Close()
	}

	if err != nil {
		progress.done("")
		_ = os.Remove(target)
		return fmt.Errorf("fetch instance backup file: %w", err)
	}

	progress.done("Backup exported successfully!")
	return nil
}

// follow is wait for operations a server may finish before the events connection of the wait is listened to: the
// progress comes from the events, the end from them or from reading the operation again.
func (p *progressRenderer) follow(op client.Operation) error {
	if p.active() {
		_, _ = op.AddHandler(func(o api.Operation) {
			for key, value := range o.Metadata {
				s, ok := value.(string)
				if ok && strings.HasSuffix(key, "_progress") {
					p.update(s)
				}
			}
		})
	}

	return op.Wait()
}

// printBackups lists an instance's backups in lxc info, as the stock client does.
func printBackups(w io.Writer, backups []api.InstanceBackup) {
	if len(backups) == 0 {
		return
	}

	const layout = "2006/01/02 15:04 MST"
	yesNo := map[bool]string{true: "YES", false: "NO"}
	rows := make([][]string, 0, len(backups))
	for _, b := range backups {
		expires := ""
		if !b.ExpiresAt.IsZero() {
			expires = b.ExpiresAt.UTC().Format(layout)
		}

		rows = append(rows, []string{b.Name, b.CreatedAt.UTC().Format(layout), expires, yesNo[b.InstanceOnly],
			yesNo[b.OptimizedStorage]})
	}

	_, _ = fmt.Fprintf(w, "\nBackups:\n%s", drawTable([]string{"NAME", "TAKEN AT", "EXPIRES AT", "INSTANCE ONLY",
		"OPTIMIZED STORAGE"}, rows, true))
}

package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

type cmdRemote struct {
	global *cmdGlobal
}

func (c *cmdRemote) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remote",
		Short: "Manage the list of remote servers",
		Long:  "Manage the list of remote servers",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	cmd.AddCommand((&cmdRemoteAdd{global: c.global}).command())
	cmd.AddCommand((&cmdRemoteGetDefault{global: c.global}).command())
	cmd.AddCommand((&cmdRemoteList{global: c.global}).command())
	cmd.AddCommand((&cmdRemoteRemove{global: c.global}).command())
	cmd.AddCommand((&cmdRemoteRename{global: c.global}).command())
	cmd.AddCommand((&cmdRemoteSetURL{global: c.global}).command())
	cmd.AddCommand((&cmdRemoteSwitch{global: c.global}).command())
	return cmd
}

// existingRemote returns the named remote, failing when it is unknown or, with modify set, static.
func existingRemote(conf *config.Config, name string, modify bool) (config.Remote, error) {
	r, ok := conf.Remotes[name]
	if !ok {
		return r, fmt.Errorf("remote %s doesn't exist", name)
	}

	if modify && r.Static {
		return r, fmt.Errorf("remote %s is static and cannot be modified", name)
	}

	return r, nil
}

type cmdRemoteAdd struct {
	global *cmdGlobal

	flagAcceptCert bool
	flagPassword   string
	flagPublic     bool
	flagProtocol   string
	flagAuthType   string
	flagProject    string
}

func (c *cmdRemoteAdd) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add [<remote>] <IP|FQDN|URL|token>",
		Short: "Add new remote servers",
		Long: `Add new remote servers

URL for remote resources must be HTTPS (https://).

A host name or address without a scheme means https://<host>:8443. A certificate add token (from
"lxc config trust add" on the server) can be given instead of an address: the server is then reached on the
addresses the token lists, its certificate is checked against the token and the token authenticates the client.`,
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagAcceptCert, "accept-certificate", false, "Accept certificate")
	cmd.Flags().StringVar(&c.flagPassword, "password", "", "Remote admin password")
	cmd.Flags().StringVar(&c.flagProtocol, "protocol", "", "Server protocol (lxd, simplestreams or oci)")
	cmd.Flags().StringVar(&c.flagAuthType, "auth-type", "", "Server authentication type (tls)")
	cmd.Flags().BoolVar(&c.flagPublic, "public", false, "Public image server")
	cmd.Flags().StringVar(&c.flagProject, "project", "", "Project to use for the remote")
	return cmd
}

func (c *cmdRemoteAdd) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	conf := c.global.conf
	name, addr := args[0], args[0]
	if len(args) == 2 {
		addr = args[1]
	}

	err = config.ValidateRemoteName(name)
	if err != nil {
		return err
	}

	existing, ok := conf.Remotes[name]
	if ok {
		return fmt.Errorf("remote %s exists as <%s>", name, existing.Addr)
	}

	protocol := c.flagProtocol
	if protocol == "" {
		protocol = config.ProtocolLXD
	}

	switch protocol {
	case config.ProtocolLXD, config.ProtocolSimpleStreams, config.ProtocolOCI:
	default:
		return fmt.Errorf("invalid protocol: %s", protocol)
	}

	switch c.flagAuthType {
	case "", "tls":
	case "candid":
		return errors.New("candid authentication is not supported, use tls")
	default:
		return fmt.Errorf("invalid authentication type %q", c.flagAuthType)
	}

	if protocol == config.ProtocolSimpleStreams {
		return c.addSimpleStreams(name, addr)
	}

	if protocol == config.ProtocolOCI {
		return c.addOCI(name, addr)
	}

	if !strings.Contains(addr, "://") {
		token, err := api.CertificateAddTokenDecode(addr)
		if err == nil {
			if len(args) == 1 {
				return errors.New("a remote name is required with a certificate add token: lxc remote add <remote> <token>")
			}

			return c.addWithToken(cmd, name, strings.TrimSpace(addr), token)
		}
	}

	addr, err = config.NormalizeRemoteAddr(addr)
	if err != nil {
		return err
	}

	if strings.HasPrefix(addr, "unix:") {
		return c.addUnix(name, addr)
	}

	return c.addHTTPS(cmd, name, addr)
}

// addSimpleStreams stores an image server; nothing is fetched until it is used.
func (c *cmdRemoteAdd) addSimpleStreams(name string, addr string) error {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "https" {
		return errors.New("only https URLs are supported for simplestreams")
	}

	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: no host", addr)
	}

	conf := c.global.conf
	conf.Remotes[name] = config.Remote{Addr: addr, Protocol: config.ProtocolSimpleStreams, Public: true}
	return conf.Save()
}

// addOCI stores an OCI registry as a public image server; nothing is sent to it until an image is looked up.
func (c *cmdRemoteAdd) addOCI(name string, addr string) error {
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}

	_, err := client.ConnectOCI(addr, nil)
	if err != nil {
		return err
	}

	conf := c.global.conf
	conf.Remotes[name] = config.Remote{Addr: strings.TrimSuffix(addr, "/"), Protocol: config.ProtocolOCI, Public: true}
	return conf.Save()
}

// addUnix stores a remote reached through a local unix socket, once it answers.
func (c *cmdRemoteAdd) addUnix(name string, addr string) error {
	conf := c.global.conf
	conf.Remotes[name] = config.Remote{Addr: addr}
	d, err := conf.GetInstanceServer(name)
	if err != nil {
		delete(conf.Remotes, name)
		return err
	}

	d.Disconnect()
	return conf.Save()
}

// acceptCertificate asks the user to accept a server certificate unless --accept-certificate was given.
func (c *cmdRemoteAdd) acceptCertificate(cmd *cobra.Command, ask *asker, cert *x509.Certificate) error {
	if c.flagAcceptCert {
		return nil
	}

	fp := tlsutil.FingerprintDER(cert.Raw)
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "Certificate fingerprint: %s\n", fp)
	if err != nil {
		return err
	}

	answer, err := ask.askString("ok (y/n/[fingerprint])? ")
	if err != nil {
		return err
	}

	answer = strings.TrimSpace(answer)
	if slices.Contains([]string{"y", "yes"}, strings.ToLower(answer)) || answer == fp {
		return nil
	}

	return errors.New("server certificate NACKed by user")
}

// connect pins the saved server certificate and connects, presenting the client certificate unless public.
func (c *cmdRemoteAdd) connect(cmd *cobra.Command, name string, addr string, public bool) (client.InstanceServer, error) {
	conf := c.global.conf
	if public {
		certPEM, err := os.ReadFile(conf.ServerCertPath(name))
		if err != nil {
			return nil, err
		}

		return client.ConnectLXD(addr, &client.ConnectionArgs{TLSServerCert: string(certPEM), UserAgent: config.UserAgent})
	}

	err := ensureClientCertificate(cmd, conf)
	if err != nil {
		return nil, err
	}

	args, err := conf.ConnectionArgs(name)
	if err != nil {
		return nil, err
	}

	return client.ConnectLXD(addr, args)
}

// addHTTPS adds an LXD server reached over HTTPS: pin its certificate, then authenticate unless it is public.
func (c *cmdRemoteAdd) addHTTPS(cmd *cobra.Command, name string, addr string) (err error) {
	conf := c.global.conf
	ask := newAsker(cmd)
	cert, err := client.GetServerCertificate(addr, config.UserAgent)
	if err != nil {
		return err
	}

	err = c.acceptCertificate(cmd, ask, cert)
	if err != nil {
		return err
	}

	err = conf.SaveServerCert(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	if err != nil {
		return err
	}

	defer func() {
		if err != nil {
			_ = conf.RemoveServerCert(name)
		}
	}()

	d, err := c.connect(cmd, name, addr, c.flagPublic)
	if err != nil {
		return err
	}

	defer d.Disconnect()
	srv, _, err := d.GetServer()
	if err != nil {
		return err
	}

	if c.flagPublic || srv.Public {
		conf.Remotes[name] = config.Remote{Addr: addr, Public: true}
		return conf.Save()
	}

	if srv.Auth != "trusted" {
		if len(srv.AuthMethods) > 0 && !slices.Contains(srv.AuthMethods, "tls") {
			return errors.New(`the server doesn't support the "tls" authentication type`)
		}

		password := c.flagPassword
		if password == "" {
			password, err = ask.askPassword(fmt.Sprintf("Admin password (or token) for %s: ", name))
			if err != nil {
				return err
			}
		}

		err = c.authenticate(d, password)
		if err != nil {
			return err
		}

		_, err = fmt.Fprintf(cmd.OutOrStdout(), "Client certificate now trusted by server: %s\n", name)
		if err != nil {
			return err
		}
	}

	return c.saveTrusted(d, name, addr)
}

// authenticate asks the server to trust the connection's client certificate, with a trust password or a token.
func (c *cmdRemoteAdd) authenticate(d client.InstanceServer, password string) error {
	req := api.CertificatesPost{CertificatePut: api.CertificatePut{Type: api.CertificateTypeClient}, Password: password}
	err := d.CreateCertificate(req)
	if err != nil {
		return err
	}

	srv, _, err := d.GetServer()
	if err != nil {
		return err
	}

	if srv.Auth != "trusted" {
		return errors.New("server doesn't trust us after authentication")
	}

	return nil
}

// saveTrusted stores a remote that trusts us, with the project to use on it.
func (c *cmdRemoteAdd) saveTrusted(d client.InstanceServer, name string, addr string) error {
	project := c.flagProject
	if project == "" {
		project = soleProject(d)
	}

	conf := c.global.conf
	conf.Remotes[name] = config.Remote{
		Addr: addr, AuthType: "tls", Project: project, Protocol: config.ProtocolLXD, Public: false,
	}

	return conf.Save()
}

// soleProject returns the only project the server lets us see, or "" when there are several or none (or the
// server has no projects endpoint); the default project is then used.
func soleProject(d client.InstanceServer) string {
	resp, _, err := d.RawQuery(http.MethodGet, "/1.0/projects", nil, "")
	if err != nil {
		return ""
	}

	var urls []string
	err = resp.MetadataAsStruct(&urls)
	if err != nil || len(urls) != 1 {
		return ""
	}

	name, ok := strings.CutPrefix(urls[0], "/1.0/projects/")
	if !ok {
		return ""
	}

	unescaped, err := url.PathUnescape(name)
	if err != nil {
		return ""
	}

	return unescaped
}

// addWithToken adds the server a certificate add token points to: the first of its addresses that answers must
// present the certificate the token names, and the token then authenticates us.
func (c *cmdRemoteAdd) addWithToken(cmd *cobra.Command, name string, rawToken string, token *api.CertificateAddToken) (err error) {
	conf := c.global.conf
	var cert *x509.Certificate
	var addr string
	var errs []error
	for _, a := range token.Addresses {
		u := "https://" + a
		got, err := client.GetServerCertificate(u, config.UserAgent)
		if err != nil {
			errs = append(errs, err)
			continue
		}

		if tlsutil.FingerprintDER(got.Raw) != strings.ToLower(token.Fingerprint) {
			return fmt.Errorf("certificate fingerprint mismatch between certificate token and server %q", u)
		}

		cert, addr = got, u
		break
	}

	if cert == nil {
		return fmt.Errorf("unable to connect to any of the addresses in the token: %w", errors.Join(errs...))
	}

	err = conf.SaveServerCert(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	if err != nil {
		return err
	}

	defer func() {
		if err != nil {
			_ = conf.RemoveServerCert(name)
		}
	}()

	d, err := c.connect(cmd, name, addr, false)
	if err != nil {
		return err
	}

	defer d.Disconnect()
	srv, _, err := d.GetServer()
	if err != nil {
		return err
	}

	if srv.Auth != "trusted" {
		err = c.authenticate(d, rawToken)
		if err != nil {
			return err
		}
	}

	return c.saveTrusted(d, name, addr)
}

type cmdRemoteList struct {
	global *cmdGlobal

	flagFormat string
}

func (c *cmdRemoteList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the available remotes",
		RunE:    c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

// remoteRow is the list row of one remote.
func remoteRow(conf *config.Config, name string, r config.Remote) []string {
	display := name
	if name == conf.DefaultRemote {
		display += " (current)"
	}

	protocol := r.Protocol
	if protocol == "" {
		protocol = config.ProtocolLXD
	}

	authType := r.AuthType
	switch {
	case strings.HasPrefix(r.Addr, "unix:"):
		authType = "file access"
	case protocol == config.ProtocolSimpleStreams || protocol == config.ProtocolOCI:
		authType = "none"
	case authType == "":
		authType = "tls"
	}

	return []string{display, r.Addr, protocol, authType, yesNo(r.Public), yesNo(r.Static), yesNo(r.Global)}
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}

	return "NO"
}

func (c *cmdRemoteList) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 0)
	if exit {
		return err
	}

	conf := c.global.conf
	data := [][]string{}
	for name, r := range conf.Remotes {
		data = append(data, remoteRow(conf, name, r))
	}

	sortRows(data)
	header := []string{"NAME", "URL", "PROTOCOL", "AUTH TYPE", "PUBLIC", "STATIC", "GLOBAL"}
	return renderTable(cmd.OutOrStdout(), c.flagFormat, header, data, conf.Remotes)
}

type cmdRemoteRemove struct {
	global *cmdGlobal
}

func (c *cmdRemoteRemove) command() *cobra.Command {
	return &cobra.Command{
		Use:     "remove <remote>",
		Aliases: []string{"rm"},
		Short:   "Remove remotes",
		RunE:    c.run,
	}
}

func (c *cmdRemoteRemove) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	conf := c.global.conf
	name := args[0]
	_, err = existingRemote(conf, name, true)
	if err != nil {
		return err
	}

	if name == conf.DefaultRemote {
		return errors.New("can't remove the default remote")
	}

	delete(conf.Remotes, name)
	err = conf.RemoveServerCert(name)
	if err != nil {
		return err
	}

	return conf.Save()
}

type cmdRemoteRename struct {
	global *cmdGlobal
}

func (c *cmdRemoteRename) command() *cobra.Command {
	return &cobra.Command{
		Use:     "rename <remote> <new-name>",
		Aliases: []string{"mv"},
		Short:   "Rename remotes",
		RunE:    c.run,
	}
}

func (c *cmdRemoteRename) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	conf := c.global.conf
	oldName, newName := args[0], args[1]
	r, err := existingRemote(conf, oldName, true)
	if err != nil {
		return err
	}

	_, ok := conf.Remotes[newName]
	if ok {
		return fmt.Errorf("remote %s already exists", newName)
	}

	err = config.ValidateRemoteName(newName)
	if err != nil {
		return err
	}

	err = conf.RenameServerCert(oldName, newName)
	if err != nil {
		return err
	}

	delete(conf.Remotes, oldName)
	conf.Remotes[newName] = r
	if conf.DefaultRemote == oldName {
		conf.DefaultRemote = newName
	}

	return conf.Save()
}

type cmdRemoteSetURL struct {
	global *cmdGlobal
}

func (c *cmdRemoteSetURL) command() *cobra.Command {
	return &cobra.Command{
		Use:   "set-url <remote> <URL>",
		Short: "Set the URL for the remote",
		RunE:  c.run,
	}
}

func (c *cmdRemoteSetURL) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	conf := c.global.conf
	name, addr := args[0], args[1]
	r, err := existingRemote(conf, name, true)
	if err != nil {
		return err
	}

	if r.Protocol == config.ProtocolSimpleStreams {
		u, err := url.Parse(addr)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return errors.New("only https URLs are supported for simplestreams")
		}
	} else if r.Protocol == config.ProtocolOCI {
		_, err = client.ConnectOCI(addr, nil)
		if err != nil {
			return err
		}
	} else {
		addr, err = config.NormalizeRemoteAddr(addr)
		if err != nil {
			return err
		}
	}

	r.Addr = addr
	conf.Remotes[name] = r
	return conf.Save()
}

type cmdRemoteSwitch struct {
	global *cmdGlobal
}

func (c *cmdRemoteSwitch) command() *cobra.Command {
	return &cobra.Command{
		Use:   "switch <remote>",
		Short: "Switch the default remote",
		RunE:  c.run,
	}
}

func (c *cmdRemoteSwitch) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	conf := c.global.conf
	_, err = existingRemote(conf, args[0], false)
	if err != nil {
		return err
	}

	conf.DefaultRemote = args[0]
	return conf.Save()
}

type cmdRemoteGetDefault struct {
	global *cmdGlobal
}

func (c *cmdRemoteGetDefault) command() *cobra.Command {
	return &cobra.Command{
		Use:   "get-default",
		Short: "Show the default remote",
		RunE:  c.run,
	}
}

func (c *cmdRemoteGetDefault) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 0)
	if exit {
		return err
	}

	_, err = fmt.Fprintln(cmd.OutOrStdout(), c.global.conf.DefaultRemote)
	return err
}

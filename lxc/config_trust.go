package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdConfigTrust struct {
	global *cmdGlobal
}

func (c *cmdConfigTrust) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Manage trusted clients",
		Long:  "Manage trusted clients",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	cmd.AddCommand((&cmdConfigTrustAdd{trust: c}).command())
	cmd.AddCommand((&cmdConfigTrustEdit{trust: c}).command())
	cmd.AddCommand((&cmdConfigTrustList{trust: c}).command())
	cmd.AddCommand((&cmdConfigTrustListTokens{trust: c}).command())
	cmd.AddCommand((&cmdConfigTrustRemove{trust: c}).command())
	cmd.AddCommand((&cmdConfigTrustRevokeToken{trust: c}).command())
	cmd.AddCommand((&cmdConfigTrustShow{trust: c}).command())
	return cmd
}

// server connects to the remote of "[<remote>:]..." (the default remote for "") and returns the rest of it.
func (c *cmdConfigTrust) server(arg string) (client.InstanceServer, string, string, error) {
	conf := c.global.conf
	remote, name := conf.DefaultRemote, ""
	if arg != "" {
		var err error
		remote, name, err = conf.ParseRemote(arg)
		if err != nil {
			return nil, "", "", err
		}
	}

	d, err := conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", "", err
	}

	return d, remote, name, nil
}

// remoteAndName reads "[<remote>:]<name>" or the older "[<remote>:] <name>" form.
func (c *cmdConfigTrust) remoteAndName(args []string, what string) (client.InstanceServer, string, string, error) {
	d, remote, name, err := c.server(args[0])
	if err != nil {
		return nil, "", "", err
	}

	if len(args) == 2 {
		if name != "" {
			return nil, "", "", errors.New("invalid number of arguments")
		}

		name = args[1]
	}

	if name == "" {
		return nil, "", "", fmt.Errorf("missing %s", what)
	}

	return d, remote, name, nil
}

// parseCertificate reads a certificate given as PEM or as base64 DER, as servers may send either.
func parseCertificate(s string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(s))
	if block != nil {
		return x509.ParseCertificate(block.Bytes)
	}

	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("invalid certificate")
	}

	return x509.ParseCertificate(der)
}

// readCertificateFile reads a PEM or DER certificate file ("-" is standard input).
func readCertificateFile(path string, stdin io.Reader) (*x509.Certificate, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}

	if err != nil {
		return nil, err
	}

	block, _ := pem.Decode(data)
	if block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: expected a CERTIFICATE PEM block, found %s", path, block.Type)
		}

		data = block.Bytes
	}

	cert, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid certificate: %w", path, err)
	}

	return cert, nil
}

type cmdConfigTrustAdd struct {
	trust *cmdConfigTrust

	flagName       string
	flagProjects   string
	flagRestricted bool
	flagType       string
}

func (c *cmdConfigTrustAdd) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add [<remote>:] [<cert>]",
		Short: "Add new trusted client",
		Long: `Add new trusted client

The following certificate types are supported:
- client (default)
- metrics

If the certificate is omitted, a token will be generated and returned. A client
providing a valid token will have its client certificate added to the trusted list
and the consumed token will be invalidated. Similar to certificates, tokens can be
restricted to one or more projects.`,
		RunE: c.run,
	}

	cmd.Flags().StringVar(&c.flagName, "name", "", "Alternative certificate name")
	cmd.Flags().StringVar(&c.flagProjects, "projects", "", "List of projects to restrict the certificate to")
	cmd.Flags().BoolVar(&c.flagRestricted, "restricted", false, "Restrict the certificate to one or more projects")
	cmd.Flags().StringVar(&c.flagType, "type", api.CertificateTypeClient, "Type of certificate")
	return cmd
}

// splitArgs returns the remote argument ("" for the default remote) and the certificate file ("" for a token).
func (c *cmdConfigTrustAdd) splitArgs(args []string) (string, string, error) {
	switch len(args) {
	case 0:
		return "", "", nil
	case 2:
		return args[0], args[1], nil
	}

	// One argument: an existing file, "<remote>:" for a token, or "<remote>:<file>".
	_, err := os.Stat(args[0])
	if err == nil || args[0] == "-" {
		return "", args[0], nil
	}

	remote, name, found := strings.Cut(args[0], ":")
	_, known := c.trust.global.conf.Remotes[remote]
	if !found || !known {
		return "", args[0], nil
	}

	return remote + ":", name, nil
}

func (c *cmdConfigTrustAdd) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 2)
	if exit {
		return err
	}

	switch c.flagType {
	case api.CertificateTypeClient, api.CertificateTypeMetrics:
	default:
		return fmt.Errorf("unknown certificate type %q", c.flagType)
	}

	remoteArg, certPath, err := c.splitArgs(args)
	if err != nil {
		return err
	}

	d, _, name, err := c.trust.server(remoteArg)
	if err != nil {
		return err
	}

	if name != "" {
		return fmt.Errorf("%q is not a remote (expected \"<remote>:\")", remoteArg)
	}

	req := api.CertificatesPost{CertificatePut: api.CertificatePut{Type: c.flagType, Restricted: c.flagRestricted}}
	if c.flagProjects != "" {
		req.Projects = strings.Split(c.flagProjects, ",")
	}

	if certPath == "" {
		return c.addToken(cmd, d, req)
	}

	cert, err := readCertificateFile(certPath, cmd.InOrStdin())
	if err != nil {
		return err
	}

	req.Name = c.flagName
	if req.Name == "" {
		req.Name = filepath.Base(certPath)
	}

	req.Certificate = base64.StdEncoding.EncodeToString(cert.Raw)
	return d.CreateCertificate(req)
}

// addToken asks the server for a certificate add token and prints it. The token is taken from the operation in the
// 202 response itself: a token operation stays running until it is used.
func (c *cmdConfigTrustAdd) addToken(cmd *cobra.Command, d client.InstanceServer, req api.CertificatesPost) error {
	if req.Type == api.CertificateTypeMetrics {
		return errors.New("cannot use metrics type certificate when using a token")
	}

	req.Token = true
	req.Name = c.flagName
	if req.Name == "" {
		var err error
		req.Name, err = newAsker(cmd).askString("Please provide client name: ")
		if err != nil {
			return err
		}
	}

	resp, _, err := d.RawQuery(http.MethodPost, "/1.0/certificates", req, "")
	if err != nil {
		return err
	}

	if resp.Type != api.AsyncResponse {
		return fmt.Errorf("the server answered a token request with a %s response instead of an operation", resp.Type)
	}

	var op api.Operation
	err = resp.MetadataAsStruct(&op)
	if err != nil {
		return fmt.Errorf("decode token operation: %w", err)
	}

	token, err := op.ToCertificateAddToken()
	if err != nil {
		return fmt.Errorf("failed converting token operation to certificate add token: %w", err)
	}

	out := cmd.OutOrStdout()
	if !c.trust.global.flagQuiet {
		_, err = fmt.Fprintf(out, "Client %s certificate add token:\n", req.Name)
		if err != nil {
			return err
		}
	}

	_, err = fmt.Fprintln(out, token.String())
	return err
}

type cmdConfigTrustList struct {
	trust *cmdConfigTrust

	flagFormat string
}

func (c *cmdConfigTrustList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:]",
		Aliases: []string{"ls"},
		Short:   "List trusted clients",
		RunE:    c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

// certificateDateLayout is how the stock client prints certificate dates.
const certificateDateLayout = "Jan 2, 2006 at 3:04pm (MST)"

// trustRow is the list row of one trusted certificate.
func trustRow(cert api.Certificate) ([]string, error) {
	parsed, err := parseCertificate(cert.Certificate)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", cert.Fingerprint, err)
	}

	fp := cert.Fingerprint
	if len(fp) > 12 {
		fp = fp[:12]
	}

	return []string{
		cert.Type, cert.Name, parsed.Subject.CommonName, fp,
		parsed.NotBefore.Format(certificateDateLayout), parsed.NotAfter.Format(certificateDateLayout),
	}, nil
}

func (c *cmdConfigTrustList) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 1)
	if exit {
		return err
	}

	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}

	d, _, _, err := c.trust.server(arg)
	if err != nil {
		return err
	}

	certs, err := d.GetCertificates()
	if err != nil {
		return err
	}

	data := [][]string{}
	for _, cert := range certs {
		row, err := trustRow(cert)
		if err != nil {
			return err
		}

		data = append(data, row)
	}

	sortRows(data)
	header := []string{"TYPE", "NAME", "COMMON NAME", "FINGERPRINT", "ISSUE DATE", "EXPIRY DATE"}
	return renderTable(cmd.OutOrStdout(), c.flagFormat, header, data, certs)
}

// tokenOperation is a pending certificate add token and the operation holding it.
type tokenOperation struct {
	id    string
	token *api.CertificateAddToken
}

// certificateTokens returns the pending certificate add tokens of a server, from its running token operations.
func certificateTokens(d client.InstanceServer) ([]tokenOperation, error) {
	resp, _, err := d.RawQuery(http.MethodGet, "/1.0/operations?recursion=1", nil, "")
	if err != nil {
		return nil, err
	}

	byStatus := map[string][]api.Operation{}
	err = resp.MetadataAsStruct(&byStatus)
	if err != nil {
		return nil, fmt.Errorf("decode operations: %w", err)
	}

	var tokens []tokenOperation
	for _, ops := range byStatus {
		for _, op := range ops {
			if op.Class != string(api.OperationClassToken) || op.StatusCode != api.Running {
				continue
			}

			token, err := op.ToCertificateAddToken()
			if err != nil {
				// Other token operations (image secrets) have no certificate request.
				continue
			}

			tokens = append(tokens, tokenOperation{id: op.ID, token: token})
		}
	}

	sort.Slice(tokens, func(i, j int) bool {
		return tokens[i].token.ClientName < tokens[j].token.ClientName
	})

	return tokens, nil
}

type cmdConfigTrustListTokens struct {
	trust *cmdConfigTrust

	flagFormat string
}

func (c *cmdConfigTrustListTokens) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list-tokens [<remote>:]",
		Short: "List all active certificate add tokens",
		RunE:  c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

// displayToken is one token as json and yaml print it (field names as the stock client prints them).
type displayToken struct {
	ClientName string
	Token      string
	ExpiresAt  string
}

func (c *cmdConfigTrustListTokens) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 1)
	if exit {
		return err
	}

	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}

	d, _, _, err := c.trust.server(arg)
	if err != nil {
		return err
	}

	tokens, err := certificateTokens(d)
	if err != nil {
		return err
	}

	display := []displayToken{}
	data := [][]string{}
	for _, t := range tokens {
		expires := ""
		if t.token.ExpiresAt.Unix() > 0 {
			expires = t.token.ExpiresAt.Format("2006/01/02 15:04 MST")
		}

		row := displayToken{ClientName: t.token.ClientName, Token: t.token.String(), ExpiresAt: expires}
		display = append(display, row)
		data = append(data, []string{row.ClientName, row.Token, row.ExpiresAt})
	}

	sortRows(data)
	return renderTable(cmd.OutOrStdout(), c.flagFormat, []string{"NAME", "TOKEN", "EXPIRES AT"}, data, display)
}

type cmdConfigTrustRevokeToken struct {
	trust *cmdConfigTrust
}

func (c *cmdConfigTrustRevokeToken) command() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-token [<remote>:] <name>",
		Short: "Revoke certificate add token",
		RunE:  c.run,
	}
}

func (c *cmdConfigTrustRevokeToken) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	d, remote, name, err := c.trust.remoteAndName(args, "token name")
	if err != nil {
		return err
	}

	tokens, err := certificateTokens(d)
	if err != nil {
		return err
	}

	for _, t := range tokens {
		if t.token.ClientName != name {
			continue
		}

		_, _, err = d.RawQuery(http.MethodDelete, "/1.0/operations/"+url.PathEscape(t.id), nil, "")
		if err != nil {
			return err
		}

		if !c.trust.global.flagQuiet {
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Certificate add token for %s deleted\n", name)
		}

		return err
	}

	return fmt.Errorf("no certificate add token for member %s on remote: %s", name, remote)
}

type cmdConfigTrustRemove struct {
	trust *cmdConfigTrust
}

func (c *cmdConfigTrustRemove) command() *cobra.Command {
	return &cobra.Command{
		Use:     "remove [<remote>:]<fingerprint>",
		Aliases: []string{"rm"},
		Short:   "Remove trusted client",
		RunE:    c.run,
	}
}

func (c *cmdConfigTrustRemove) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	d, _, fp, err := c.trust.remoteAndName(args, "certificate fingerprint")
	if err != nil {
		return err
	}

	return d.DeleteCertificate(fp)
}

type cmdConfigTrustShow struct {
	trust *cmdConfigTrust
}

func (c *cmdConfigTrustShow) command() *cobra.Command {
	return &cobra.Command{
		Use:   "show [<remote>:]<fingerprint>",
		Short: "Show trust configurations",
		RunE:  c.run,
	}
}

func (c *cmdConfigTrustShow) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, _, fp, err := c.trust.remoteAndName(args, "certificate fingerprint")
	if err != nil {
		return err
	}

	cert, _, err := d.GetCertificate(fp)
	if err != nil {
		return err
	}

	out, err := yamlMarshalStock(cert)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

type cmdConfigTrustEdit struct {
	trust *cmdConfigTrust
}

func (c *cmdConfigTrustEdit) command() *cobra.Command {
	return &cobra.Command{
		Use:   "edit [<remote>:]<fingerprint>",
		Short: "Edit trust configurations as YAML",
		RunE:  c.run,
	}
}

const trustEditHeader = `### This is a YAML representation of the certificate.
### Any line starting with a '#' will be ignored.
###
### Note that the fingerprint is shown but cannot be changed

`

func (c *cmdConfigTrustEdit) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, _, fp, err := c.trust.remoteAndName(args, "certificate fingerprint")
	if err != nil {
		return err
	}

	// The fingerprint given may be a prefix: updates name the certificate read.
	target := fp
	load := func() ([]byte, string, error) {
		cert, etag, err := d.GetCertificate(fp)
		if err != nil {
			return nil, "", err
		}

		target = cert.Fingerprint
		data, err := yamlMarshalStock(cert)
		return data, etag, err
	}

	return editYAML(cmd, trustEditHeader, load, func(put api.CertificatePut, etag string) error {
		return d.UpdateCertificate(target, put, etag)
	})
}

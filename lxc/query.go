package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdQuery struct {
	global *cmdGlobal

	flagRespWait bool
	flagRespRaw  bool
	flagAction   string
	flagData     string
}

func (c *cmdQuery) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query [<remote>:]<API path>",
		Short: "Send a raw query to LXD",
		Long: `Send a raw query to LXD

The metadata of the answer is printed as indented JSON; --raw prints the whole answer. Data given with -d is sent
as it is when it is JSON, and as a JSON string otherwise. An answer that is not JSON (a file, an image export) is
fetched again and printed as it comes.`,
		Example: `  lxc query -X DELETE --wait /1.0/instances/c1
      Delete local instance "c1".`,
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagRespWait, "wait", false, "Wait for the operation to complete")
	cmd.Flags().BoolVar(&c.flagRespRaw, "raw", false, "Print the raw response")
	cmd.Flags().StringVarP(&c.flagAction, "request", "X", http.MethodGet, "Action (defaults to GET)")
	cmd.Flags().StringVarP(&c.flagData, "data", "d", "", "Input data")
	return cmd
}

// queryPretty is how the stock client prints JSON: tab-indented, HTML characters left alone, with the encoder's
// newline (the caller adds another, as the stock client prints it with Println).
func queryPretty(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	err := enc.Encode(v)
	if err != nil {
		return nil, err
	}

	return buf.Bytes(), nil
}

// queryData is what -d sends: JSON as it was written, anything else (the empty string too) as a JSON string, as
// the stock client does.
func queryData(data string) any {
	if json.Valid([]byte(data)) {
		return json.RawMessage(data)
	}

	return data
}

// isJSONDecodeError reports whether a query failed because the answer was not JSON.
func isJSONDecodeError(err error) bool {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	return errors.As(err, &syntaxErr) || errors.As(err, &typeErr) || errors.Is(err, io.EOF)
}

func (c *cmdQuery) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	if c.global.flagProject != "" {
		return errors.New("--project cannot be used with the query command")
	}

	remote, path, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	if !strings.HasPrefix(path, "/") {
		return errors.New("query path must start with /")
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	resp, _, err := d.RawQuery(c.flagAction, path, queryData(c.flagData), "")
	if err != nil {
		if !isJSONDecodeError(err) {
			return err
		}

		return c.plainQuery(d, path, out, err)
	}

	if c.flagRespWait && resp.Operation != "" {
		resp, err = waitQuery(d, resp.Operation)
		if err != nil {
			return err
		}
	}

	if c.flagRespRaw {
		return printPretty(out, resp)
	}

	if resp.Metadata == nil || string(resp.Metadata) == "{}" {
		return nil
	}

	// Decoded so that objects are printed with sorted keys, as the stock client does; numbers are kept as they came
	// (the stock client turns them into floats, which changes integers above 2^53).
	dec := json.NewDecoder(bytes.NewReader(resp.Metadata))
	dec.UseNumber()
	var content any
	err = dec.Decode(&content)
	if err != nil {
		return err
	}

	if content == nil {
		return nil
	}

	return printPretty(out, content)
}

// waitQuery waits for the operation at opURL and returns the answer of its /wait, failing with the operation's
// error when it failed.
func waitQuery(d client.InstanceServer, opURL string) (*api.ResponseRaw, error) {
	uri, err := url.ParseRequestURI(opURL)
	if err != nil {
		return nil, err
	}

	resp, _, err := d.RawQuery(http.MethodGet, uri.Path+"/wait?"+uri.RawQuery, nil, "")
	if err != nil {
		return nil, err
	}

	var op api.Operation
	err = json.Unmarshal(resp.Metadata, &op)
	if err == nil && op.Err != "" {
		return nil, errors.New(op.Err)
	}

	return resp, nil
}

// plainQuery sends the query again as plain HTTP when the answer was not JSON, and prints the body as it comes. When
// that answer is not a 200 either, the JSON error of the first attempt is returned.
func (c *cmdQuery) plainQuery(d client.InstanceServer, path string, out io.Writer, jsonErr error) error {
	info, err := d.GetConnectionInfo()
	if err != nil {
		return err
	}

	httpClient, err := d.GetHTTPClient()
	if err != nil {
		return err
	}

	var body io.Reader
	if c.flagData != "" {
		body = strings.NewReader(c.flagData)
	}

	req, err := http.NewRequest(c.flagAction, strings.TrimSuffix(info.URL, "/")+path, body)
	if err != nil {
		return err
	}

	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", config.UserAgent)
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}

	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return jsonErr
	}

	_, err = io.Copy(out, resp.Body)
	return err
}

// printPretty writes v as the stock client prints query answers.
func printPretty(w io.Writer, v any) error {
	pretty, err := queryPretty(v)
	if err != nil {
		return err
	}

	_, err = fmt.Fprintln(w, string(pretty))
	return err
}

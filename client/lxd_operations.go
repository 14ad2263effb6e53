package client

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
)

// GetOperationUUIDs returns the ids of the server's operations.
func (c *ProtocolLXD) GetOperationUUIDs() ([]string, error) {
	urls := map[string][]string{}
	_, err := c.queryStruct(http.MethodGet, "/operations", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	ids := []string{}
	for _, list := range urls {
		for _, u := range list {
			ids = append(ids, path.Base(u))
		}
	}

	sort.Strings(ids)
	return ids, nil
}

// GetOperations returns the server's operations, oldest first.
func (c *ProtocolLXD) GetOperations() ([]api.Operation, error) {
	byStatus := map[string][]api.Operation{}
	_, err := c.queryStruct(http.MethodGet, "/operations?recursion=1", nil, "", &byStatus)
	if err != nil {
		return nil, err
	}

	ops := []api.Operation{}
	for _, list := range byStatus {
		ops = append(ops, list...)
	}

	sort.Slice(ops, func(i, j int) bool {
		if ops[i].CreatedAt.Equal(ops[j].CreatedAt) {
			return ops[i].ID < ops[j].ID
		}

		return ops[i].CreatedAt.Before(ops[j].CreatedAt)
	})

	return ops, nil
}

// GetOperation returns one operation and its ETag.
func (c *ProtocolLXD) GetOperation(uuid string) (*api.Operation, string, error) {
	op := api.Operation{}
	etag, err := c.queryStruct(http.MethodGet, "/operations/"+url.PathEscape(uuid), nil, "", &op)
	if err != nil {
		return nil, "", err
	}

	return &op, etag, nil
}

// GetOperationWait waits up to timeout seconds (-1: no limit) for an operation to be final and returns it.
func (c *ProtocolLXD) GetOperationWait(uuid string, timeout int) (*api.Operation, string, error) {
	op := api.Operation{}
	p := fmt.Sprintf("/operations/%s/wait?timeout=%d", url.PathEscape(uuid), timeout)
	etag, err := c.queryStruct(http.MethodGet, p, nil, "", &op)
	if err != nil {
		return nil, "", err
	}

	return &op, etag, nil
}

// GetOperationWaitSecret is GetOperationWait for an untrusted caller holding the operation's secret.
func (c *ProtocolLXD) GetOperationWaitSecret(uuid string, secret string, timeout int) (*api.Operation, string, error) {
	op := api.Operation{}
	p := fmt.Sprintf("/operations/%s/wait?secret=%s&timeout=%d", url.PathEscape(uuid), url.QueryEscape(secret), timeout)
	etag, err := c.queryStruct(http.MethodGet, p, nil, "", &op)
	if err != nil {
		return nil, "", err
	}

	return &op, etag, nil
}

// DeleteOperation cancels an operation.
func (c *ProtocolLXD) DeleteOperation(uuid string) error {
	_, _, err := c.query(http.MethodDelete, "/operations/"+url.PathEscape(uuid), nil, "")
	return err
}

// GetOperationWebsocket connects to a websocket of an operation, identified by its secret.
func (c *ProtocolLXD) GetOperationWebsocket(uuid string, secret string) (*websocket.Conn, error) {
	p := "/1.0/operations/" + url.PathEscape(uuid) + "/websocket"
	if secret != "" {
		p += "?secret=" + url.QueryEscape(secret)
	}

	conn, err := c.websocket(p)
	if err != nil {
		return nil, err
	}

	// The server may finish and hang up before a ping is read: a pong that cannot be sent back then must not end
	// the reading of what the server sent before it.
	conn.SetPingHandler(func(data string) error {
		_ = conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		return nil
	})

	return conn, nil
}

// queryOperation sends a request that starts an operation and returns it; the answer must be async.
func (c *ProtocolLXD) queryOperation(method string, p string, data any, etag string) (Operation, string, error) {
	resp, etag, err := c.query(method, p, data, etag)
	if err != nil {
		return nil, "", err
	}

	if resp.Type != api.AsyncResponse {
		return nil, "", fmt.Errorf("expected an async response to %s %s, got %q", method, p, resp.Type)
	}

	var op api.Operation
	err = resp.MetadataAsStruct(&op)
	if err != nil {
		return nil, "", fmt.Errorf("decode operation: %w", err)
	}

	return c.newOperation(op), etag, nil
}

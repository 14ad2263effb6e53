package client

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/ws"
)

// instancePath is the API path of an instance under /1.0.
func instancePath(name string) string {
	return "/instances/" + url.PathEscape(name)
}

// GetInstanceNames returns the names of the instances.
func (c *ProtocolLXD) GetInstanceNames() ([]string, error) {
	var urls []string
	_, err := c.queryStruct(http.MethodGet, "/instances", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		name, err := lastPathElement(u, "/1.0/instances/")
		if err != nil {
			return nil, err
		}

		names = append(names, name)
	}

	return names, nil
}

// GetInstances returns the instances.
func (c *ProtocolLXD) GetInstances() ([]api.Instance, error) {
	out := []api.Instance{}
	_, err := c.queryStruct(http.MethodGet, "/instances?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetInstancesFull returns the instances with their state, keeping those matching every filter ("key=value",
// applied by the server as "key eq value").
func (c *ProtocolLXD) GetInstancesFull(filters []string) ([]api.InstanceFull, error) {
	out := []api.InstanceFull{}
	v := url.Values{}
	v.Set("recursion", "2")
	v.Set("filter", filterExpr(filters))
	_, err := c.queryStruct(http.MethodGet, "/instances?"+v.Encode(), nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// filterExpr turns key=value filters into the API's filter expression.
func filterExpr(filters []string) string {
	parts := make([]string, 0, len(filters))
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}

		if strings.ContainsAny(v, " \t") {
			v = fmt.Sprintf("%q", v)
		}

		parts = append(parts, k+" eq "+v)
	}

	return strings.Join(parts, " and ")
}

// GetInstance returns an instance and its ETag.
func (c *ProtocolLXD) GetInstance(name string) (*api.Instance, string, error) {
	out := api.Instance{}
	etag, err := c.queryStruct(http.MethodGet, instancePath(name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// GetInstanceFull returns an instance with its state and snapshots, and its ETag.
func (c *ProtocolLXD) GetInstanceFull(name string) (*api.InstanceFull, string, error) {
	out := api.InstanceFull{}
	etag, err := c.queryStruct(http.MethodGet, instancePath(name)+"?recursion=1", nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// CreateInstance creates an instance.
func (c *ProtocolLXD) CreateInstance(req api.InstancesPost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, "/instances", req, "")
	return op, err
}

// UpdateInstance replaces the writable fields of an instance.
func (c *ProtocolLXD) UpdateInstance(name string, put api.InstancePut, etag string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPut, instancePath(name), put, etag)
	return op, err
}

// RenameInstance renames an instance.
func (c *ProtocolLXD) RenameInstance(name string, post api.InstancePost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, instancePath(name), post, "")
	return op, err
}

// DeleteInstance deletes a stopped instance.
func (c *ProtocolLXD) DeleteInstance(name string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodDelete, instancePath(name), nil, "")
	return op, err
}

// GetInstanceState returns the runtime state of an instance.
func (c *ProtocolLXD) GetInstanceState(name string) (*api.InstanceState, string, error) {
	out := api.InstanceState{}
	etag, err := c.queryStruct(http.MethodGet, instancePath(name)+"/state", nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// UpdateInstanceState starts, stops, restarts, freezes or unfreezes an instance.
func (c *ProtocolLXD) UpdateInstanceState(name string, state api.InstanceStatePut, etag string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPut, instancePath(name)+"/state", state, etag)
	return op, err
}

// InstanceExecArgs are the local ends of an exec.
type InstanceExecArgs struct {
	// Stdin is sent to the command; nil sends nothing. At its EOF the command's input is closed.
	Stdin io.Reader

	// Stdout and Stderr receive the command's output; in interactive mode all of it goes to Stdout.
	Stdout io.Writer
	Stderr io.Writer

	// Control, when set, receives the control websocket (window-resize and signal messages).
	Control func(conn *websocket.Conn)

	// DataDone is closed once all output has been received.
	DataDone chan bool
}

// ExecInstance runs a command in an instance with its streams on websockets; the exit status is the operation
// metadata's "return" once it is final.
func (c *ProtocolLXD) ExecInstance(name string, req api.InstanceExecPost, args *InstanceExecArgs) (Operation, error) {
	if args != nil {
		req.WaitForWS = true
	}

	op, _, err := c.queryOperation(http.MethodPost, instancePath(name)+"/exec", req, "")
	if err != nil {
		return nil, err
	}

	if args == nil {
		return op, nil
	}

	fds := map[string]string{}
	raw, ok := op.Get().Metadata["fds"].(map[string]any)
	if ok {
		for k, v := range raw {
			s, _ := v.(string)
			fds[k] = s
		}
	}

	if fds["control"] == "" || fds["0"] == "" {
		return nil, fmt.Errorf("the exec operation has no websockets")
	}

	control, err := op.GetWebsocket(fds["control"])
	if err != nil {
		return nil, err
	}

	if args.Control != nil {
		go args.Control(control)
	} else {
		go ws.Drain(control)
	}

	conns := map[string]*websocket.Conn{}
	for _, fd := range []string{"0", "1", "2"} {
		if fds[fd] == "" {
			continue
		}

		conns[fd], err = op.GetWebsocket(fds[fd])
		if err != nil {
			return nil, err
		}
	}

	var wg sync.WaitGroup
	go func() { _ = ws.Send(conns["0"], args.Stdin) }()
	outputs := map[string]io.Writer{"0": args.Stdout, "1": args.Stdout, "2": args.Stderr}
	if req.Interactive {
		delete(outputs, "1")
		delete(outputs, "2")
	} else {
		delete(outputs, "0")
	}

	for fd, w := range outputs {
		conn := conns[fd]
		if conn == nil {
			continue
		}

		if w == nil {
			w = io.Discard
		}

		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = ws.Receive(conn, w)
		}()
	}

	go func() {
		wg.Wait()
		for _, conn := range conns {
			_ = conn.Close()
		}

		if args.DataDone != nil {
			close(args.DataDone)
		}
	}()

	return op, nil
}

// InstanceFileArgs describe a file to write into an instance.
type InstanceFileArgs struct {
	// Content is the file content (for a symlink, its target).
	Content io.Reader

	// UID, GID and Mode in the instance; a negative Mode keeps the server's default.
	UID  int64
	GID  int64
	Mode int

	// Type is file, directory or symlink.
	Type string

	// WriteMode is overwrite (the default) or append.
	WriteMode string
}

// InstanceFileResponse describes a file read from an instance.
type InstanceFileResponse struct {
	UID     int64
	GID     int64
	Mode    int
	Type    string
	Entries []string
}

// filesPath is the files endpoint of an instance for path.
func filesPath(name string, p string) string {
	return instancePath(name) + "/files?path=" + url.QueryEscape(p)
}

// GetInstanceFile reads a file, directory listing or symlink from an instance. The caller closes the content.
func (c *ProtocolLXD) GetInstanceFile(name string, p string) (io.ReadCloser, *InstanceFileResponse, error) {
	req, err := http.NewRequest(http.MethodGet, c.url("/1.0"+filesPath(name, p)), nil)
	if err != nil {
		return nil, nil, err
	}

	resp, err := c.do(req)
	if err != nil {
		return nil, nil, err
	}

	info := &InstanceFileResponse{Type: resp.Header.Get("X-LXD-type")}
	info.UID, _ = strconv.ParseInt(resp.Header.Get("X-LXD-uid"), 10, 64)
	info.GID, _ = strconv.ParseInt(resp.Header.Get("X-LXD-gid"), 10, 64)
	mode, _ := strconv.ParseInt(resp.Header.Get("X-LXD-mode"), 8, 32)
	info.Mode = int(mode)
	if resp.StatusCode != http.StatusOK || info.Type == "directory" {
		defer func() { _ = resp.Body.Close() }()
		raw, _, err := parseResponse(resp)
		if err != nil {
			return nil, nil, err
		}

		err = raw.MetadataAsStruct(&info.Entries)
		if err != nil {
			return nil, nil, err
		}

		return io.NopCloser(strings.NewReader("")), info, nil
	}

	return resp.Body, info, nil
}

// CreateInstanceFile writes a file, directory or symlink into an instance.
func (c *ProtocolLXD) CreateInstanceFile(name string, p string, args InstanceFileArgs) error {
	body := args.Content
	if body == nil {
		body = strings.NewReader("")
	}

	req, err := http.NewRequest(http.MethodPost, c.url("/1.0"+filesPath(name, p)), body)
	if err != nil {
		return err
	}

	req.Header.Set("X-LXD-uid", strconv.FormatInt(args.UID, 10))
	req.Header.Set("X-LXD-gid", strconv.FormatInt(args.GID, 10))
	if args.Mode >= 0 {
		req.Header.Set("X-LXD-mode", fmt.Sprintf("%04o", args.Mode))
	}

	if args.Type != "" {
		req.Header.Set("X-LXD-type", args.Type)
	}

	if args.WriteMode != "" {
		req.Header.Set("X-LXD-write", args.WriteMode)
	}

	_, _, err = c.doParse(req)
	return err
}

// DeleteInstanceFile removes a file or an empty directory from an instance.
func (c *ProtocolLXD) DeleteInstanceFile(name string, p string) error {
	_, _, err := c.rawQuery(http.MethodDelete, c.url("/1.0"+filesPath(name, p)), nil, "")
	return err
}

// snapshotPath is the API path of an instance's snapshot under /1.0.
func snapshotPath(name string, snap string) string {
	return instancePath(name) + "/snapshots/" + url.PathEscape(snap)
}

// GetInstanceSnapshots returns the snapshots of an instance.
func (c *ProtocolLXD) GetInstanceSnapshots(name string) ([]api.InstanceSnapshot, error) {
	var out []api.InstanceSnapshot
	_, err := c.queryStruct(http.MethodGet, instancePath(name)+"/snapshots?recursion=1", nil, "", &out)
	return out, err
}

// GetInstanceSnapshot returns one snapshot of an instance.
func (c *ProtocolLXD) GetInstanceSnapshot(name string, snap string) (*api.InstanceSnapshot, string, error) {
	out := api.InstanceSnapshot{}
	etag, err := c.queryStruct(http.MethodGet, snapshotPath(name, snap), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// CreateInstanceSnapshot takes a snapshot of an instance.
func (c *ProtocolLXD) CreateInstanceSnapshot(name string, req api.InstanceSnapshotsPost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, instancePath(name)+"/snapshots", req, "")
	return op, err
}

// RenameInstanceSnapshot renames a snapshot of an instance.
func (c *ProtocolLXD) RenameInstanceSnapshot(name string, snap string, req api.InstanceSnapshotPost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, snapshotPath(name, snap), req, "")
	return op, err
}

// DeleteInstanceSnapshot deletes a snapshot of an instance.
func (c *ProtocolLXD) DeleteInstanceSnapshot(name string, snap string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodDelete, snapshotPath(name, snap), nil, "")
	return op, err
}

// getRaw sends a GET under /1.0 and returns the body of a 200 answer; any other answer is decoded as an error.
func (c *ProtocolLXD) getRaw(p string) (io.ReadCloser, error) {
	resp, err := c.getRawResponse(p)
	if err != nil {
		return nil, err
	}

	return resp.Body, nil
}

// GetInstanceLogfiles lists the names of an instance's log files.
func (c *ProtocolLXD) GetInstanceLogfiles(name string) ([]string, error) {
	urls := []string{}
	_, err := c.queryStruct(http.MethodGet, instancePath(name)+"/logs", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		names = append(names, path.Base(u))
	}

	return names, nil
}

// GetInstanceLogfile reads one log file of an instance. The caller closes it.
func (c *ProtocolLXD) GetInstanceLogfile(name string, filename string) (io.ReadCloser, error) {
	return c.getRaw(instancePath(name) + "/logs/" + url.PathEscape(filename))
}

// DeleteInstanceLogfile removes one log file of an instance.
func (c *ProtocolLXD) DeleteInstanceLogfile(name string, filename string) error {
	_, _, err := c.query(http.MethodDelete, instancePath(name)+"/logs/"+url.PathEscape(filename), nil, "")
	return err
}

// InstanceConsoleArgs connects a terminal to an instance's console.
type InstanceConsoleArgs struct {
	// Terminal receives the console output and feeds its input.
	Terminal io.ReadWriteCloser

	// Control, when set, receives the control websocket (window-resize messages). Closing it detaches.
	Control func(conn *websocket.Conn)

	// ConsoleDisconnect, when it receives or is closed, detaches from the console.
	ConsoleDisconnect chan bool
}

// ConsoleInstance attaches to the console of a running instance; the operation ends once detached.
func (c *ProtocolLXD) ConsoleInstance(name string, req api.InstanceConsolePost, args *InstanceConsoleArgs) (Operation, error) {
	if !c.HasExtension("console") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "console")
	}

	if args == nil || args.Terminal == nil {
		return nil, fmt.Errorf("a console needs a terminal")
	}

	if req.Type == "" {
		req.Type = "console"
	}

	op, _, err := c.queryOperation(http.MethodPost, instancePath(name)+"/console", req, "")
	if err != nil {
		return nil, err
	}

	fds := map[string]string{}
	raw, _ := op.Get().Metadata["fds"].(map[string]any)
	for k, v := range raw {
		s, _ := v.(string)
		fds[k] = s
	}

	if fds["control"] == "" || fds["0"] == "" {
		return nil, fmt.Errorf("the console operation has no websockets")
	}

	control, err := op.GetWebsocket(fds["control"])
	if err != nil {
		return nil, err
	}

	conn, err := op.GetWebsocket(fds["0"])
	if err != nil {
		_ = control.Close()
		return nil, err
	}

	if args.Control != nil {
		go args.Control(control)
	}

	go func() {
		_ = ws.Receive(conn, args.Terminal)
		_ = conn.Close()
	}()

	go func() { _ = ws.Send(conn, args.Terminal) }()
	if args.ConsoleDisconnect != nil {
		go func() {
			<-args.ConsoleDisconnect
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "detaching from the console")
			_ = control.WriteControl(websocket.CloseMessage, msg, time.Now().Add(5*time.Second))
			_ = control.Close()
		}()
	}

	return op, nil
}

// GetInstanceConsoleLog reads the console log of an instance. The caller closes it.
func (c *ProtocolLXD) GetInstanceConsoleLog(name string) (io.ReadCloser, error) {
	if !c.HasExtension("console") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "console")
	}

	return c.getRaw(instancePath(name) + "/console")
}

// DeleteInstanceConsoleLog empties the console log of an instance.
func (c *ProtocolLXD) DeleteInstanceConsoleLog(name string) error {
	if !c.HasExtension("console") {
		return fmt.Errorf("the server is missing the required %q API extension", "console")
	}

	_, _, err := c.query(http.MethodDelete, instancePath(name)+"/console", nil, "")
	return err
}

// GetInstanceMetadata returns an instance's metadata.yaml and its ETag.
func (c *ProtocolLXD) GetInstanceMetadata(name string) (*api.ImageMetadata, string, error) {
	out := api.ImageMetadata{}
	etag, err := c.queryStruct(http.MethodGet, instancePath(name)+"/metadata", nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// UpdateInstanceMetadata replaces an instance's metadata.yaml.
func (c *ProtocolLXD) UpdateInstanceMetadata(name string, metadata api.ImageMetadata, etag string) error {
	_, _, err := c.query(http.MethodPut, instancePath(name)+"/metadata", metadata, etag)
	return err
}

// templatesPath is the metadata templates endpoint of an instance, for one file when file is not empty.
func templatesPath(name string, file string) string {
	p := instancePath(name) + "/metadata/templates"
	if file != "" {
		p += "?path=" + url.QueryEscape(file)
	}

	return p
}

// GetInstanceTemplateFiles lists the template files of an instance.
func (c *ProtocolLXD) GetInstanceTemplateFiles(name string) ([]string, error) {
	var out []string
	_, err := c.queryStruct(http.MethodGet, templatesPath(name, ""), nil, "", &out)
	return out, err
}

// GetInstanceTemplateFile returns the content of one template file of an instance. The caller closes it.
func (c *ProtocolLXD) GetInstanceTemplateFile(name string, file string) (io.ReadCloser, error) {
	return c.getRaw(templatesPath(name, file))
}

// CreateInstanceTemplateFile creates (or replaces) one template file of an instance.
func (c *ProtocolLXD) CreateInstanceTemplateFile(name string, file string, content io.ReadSeeker) error {
	return c.sendTemplateFile(http.MethodPost, name, file, content)
}

// UpdateInstanceTemplateFile replaces one template file of an instance.
func (c *ProtocolLXD) UpdateInstanceTemplateFile(name string, file string, content io.ReadSeeker) error {
	return c.sendTemplateFile(http.MethodPut, name, file, content)
}

func (c *ProtocolLXD) sendTemplateFile(method string, name string, file string, content io.ReadSeeker) error {
	var body io.Reader = strings.NewReader("")
	if content != nil {
		body = content
	}

	req, err := http.NewRequest(method, c.url("/1.0"+templatesPath(name, file)), body)
	if err != nil {
		return err
	}

	req.Header.Set("Content-Type", "application/octet-stream")
	_, _, err = c.doParse(req)
	return err
}

// DeleteInstanceTemplateFile removes one template file of an instance.
func (c *ProtocolLXD) DeleteInstanceTemplateFile(name string, file string) error {
	_, _, err := c.query(http.MethodDelete, templatesPath(name, file), nil, "")
	return err
}

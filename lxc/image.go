package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdImage struct {
	global *cmdGlobal
}

func (c *cmdImage) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Long: `Manage images

Instances are created from images. Images are either imported from files or copied from an image server; a copy
used to create an instance is cached and removed when it expires.

The image identifier is the sha256 of its tarball (or, for split images, of the metadata tarball followed by the
rootfs). Images can be referenced by their full fingerprint, a unique fingerprint prefix or an alias.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	cmd.AddCommand((&cmdImageAlias{global: c.global}).command())
	cmd.AddCommand((&cmdImageCopy{global: c.global}).command())
	cmd.AddCommand((&cmdImageRefresh{global: c.global}).command())
	cmd.AddCommand((&cmdImageDelete{global: c.global}).command())
	cmd.AddCommand((&cmdImageEdit{global: c.global}).command())
	cmd.AddCommand((&cmdImageExport{global: c.global}).command())
	cmd.AddCommand((&cmdImageGetProp{global: c.global}).command())
	cmd.AddCommand((&cmdImageImport{global: c.global}).command())
	cmd.AddCommand((&cmdImageInfo{global: c.global}).command())
	cmd.AddCommand((&cmdImageList{global: c.global}).command())
	cmd.AddCommand((&cmdImageSetProp{global: c.global}).command())
	cmd.AddCommand((&cmdImageShow{global: c.global}).command())
	cmd.AddCommand((&cmdImageUnsetProp{global: c.global}).command())
	return cmd
}

// imageTarget parses "[<remote>:]<image>" and connects to the remote.
func (g *cmdGlobal) imageTarget(arg string) (client.InstanceServer, string, error) {
	remote, name, err := g.remoteName(arg, "image identifier")
	if err != nil {
		return nil, "", err
	}

	d, err := g.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", err
	}

	return d, name, nil
}

// imageSource parses "[<remote>:]<image>" and connects to the remote to read images from, which may be a
// simplestreams server.
func (g *cmdGlobal) imageSource(arg string) (client.ImageServer, string, error) {
	remote, name, err := g.remoteName(arg, "image identifier")
	if err != nil {
		return nil, "", err
	}

	d, err := g.conf.GetImageServer(remote)
	if err != nil {
		return nil, "", err
	}

	return d, name, nil
}

// dereferenceAlias returns the fingerprint the alias name points to, or name itself (a fingerprint or prefix) when
// no alias of the image type has that name. As the stock client, it does not report lookup errors: the request made
// with the name then fails with the server's answer.
func dereferenceAlias(d client.ImageServer, imageType string, name string) string {
	alias, _, err := d.GetImageAliasType(imageType, name)
	if err != nil {
		return name
	}

	return alias.Target
}

// imageTypeFlag returns the image type --vm selects ("" for any).
func imageTypeFlag(vm bool) string {
	if vm {
		return "virtual-machine"
	}

	return ""
}

// imageColumn is one column of "lxc image list".
type imageColumn struct {
	header string
	data   func(img api.Image) string
}

// imageListDateLayout is how the stock client prints the upload date.
const imageListDateLayout = "Jan 2, 2006 at 3:04pm (MST)"

// imageColumns are the columns of "lxc image list", by shorthand.
var imageColumns = map[rune]imageColumn{
	'l': {"ALIAS", imageShortestAlias},
	'L': {"ALIASES", func(img api.Image) string {
		names := make([]string, 0, len(img.Aliases))
		for _, a := range img.Aliases {
			names = append(names, a.Name)
		}

		sort.Strings(names)
		return strings.Join(names, "\n")
	}},
	'f': {"FINGERPRINT", func(img api.Image) string { return shortFingerprint(img.Fingerprint) }},
	'F': {"FINGERPRINT", func(img api.Image) string { return img.Fingerprint }},
	'p': {"PUBLIC", func(img api.Image) string { return lowerYesNo(img.Public) }},
	'd': {"DESCRIPTION", func(img api.Image) string { return img.Properties["description"] }},
	'a': {"ARCHITECTURE", func(img api.Image) string { return img.Architecture }},
	't': {"TYPE", func(img api.Image) string { return strings.ToUpper(imageType(img.Type)) }},
	's': {"SIZE", func(img api.Image) string { return imageSize(img.Size) }},
	'u': {"UPLOAD DATE", func(img api.Image) string { return img.UploadedAt.UTC().Format(imageListDateLayout) }},
}

// imageShortestAlias is the ALIAS column: the shortest alias, and how many others there are.
func imageShortestAlias(img api.Image) string {
	shortest := ""
	for i, a := range img.Aliases {
		if i == 0 || len(a.Name) < len(shortest) {
			shortest = a.Name
		}
	}

	if len(img.Aliases) > 1 {
		return fmt.Sprintf("%s (%d more)", shortest, len(img.Aliases)-1)
	}

	return shortest
}

// imageType is the type of an image, container when the server gives none.
func imageType(t string) string {
	if t == "" {
		return "container"
	}

	return t
}

// parseImageColumns reads the -c flag: shorthand letters, optionally in comma-separated groups.
func parseImageColumns(flag string) ([]imageColumn, error) {
	var columns []imageColumn
	for _, group := range strings.Split(flag, ",") {
		if group == "" {
			return nil, fmt.Errorf("empty column entry (redundant, leading or trailing comma) in '%s'", flag)
		}

		for _, r := range group {
			col, ok := imageColumns[r]
			if !ok {
				return nil, fmt.Errorf("unknown column shorthand char '%c' in '%s'", r, group)
			}

			columns = append(columns, col)
		}
	}

	return columns, nil
}

// imageServerFilterKeys are the fields of the image object the stock client lets the server filter on.
var imageServerFilterKeys = map[string]bool{
	"auto_update": true, "properties": true, "public": true, "expires_at": true, "profiles": true, "aliases": true,
	"architecture": true, "cached": true, "filename": true, "fingerprint": true, "size": true, "type": true,
	"created_at": true, "last_used_at": true, "uploaded_at": true,
}

// splitImageFilters separates the filters the server can apply ("key=value" on a field of the image object, with a
// single value) from those applied here.
func splitImageFilters(filters []string) ([]string, []string) {
	server, local := []string{}, []string{}
	for _, f := range filters {
		key, value, found := strings.Cut(f, "=")
		if found && imageServerFilterKeys[key] && !strings.Contains(value, ",") {
			server = append(server, f)
			continue
		}

		local = append(local, f)
	}

	return server, local
}

// dotPrefixMatch reports whether each dot-separated part of short is a prefix of the same part of full
// ("u.f" matches "user.foo").
func dotPrefixMatch(short string, full string) bool {
	shortParts, fullParts := strings.Split(short, "."), strings.Split(full, ".")
	if len(shortParts) != len(fullParts) {
		return false
	}

	for i := range fullParts {
		if !strings.HasPrefix(fullParts[i], shortParts[i]) {
			return false
		}
	}

	return true
}

// imageMatches applies the client-side filters, all of which must match. "key=value" matches a property whose key
// matches by dotted prefixes and whose value matches value as an anchored regular expression, or a field of the
// image object printed as value; any other filter matches part of an alias or of the fingerprint.
func imageMatches(img api.Image, filters []string) bool {
	var fields map[string]any
	for _, filter := range filters {
		key, value, isKV := strings.Cut(filter, "=")
		found := false
		if !isKV {
			found = strings.Contains(img.Fingerprint, filter)
			for _, a := range img.Aliases {
				found = found || strings.Contains(a.Name, filter)
			}
		} else {
			pattern := value
			if !strings.ContainsAny(value, "^$") {
				pattern = "^" + value + "$"
			}

			re, reErr := regexp.Compile(pattern)
			for propKey, propValue := range img.Properties {
				if !dotPrefixMatch(key, propKey) {
					continue
				}

				if (reErr == nil && re.MatchString(propValue)) || (reErr != nil && propValue == value) {
					found = true
					break
				}
			}

			if fields == nil {
				fields = map[string]any{}
				raw, _ := json.Marshal(img)
				_ = json.Unmarshal(raw, &fields)
			}

			v, ok := fields[key]
			if ok && fmt.Sprintf("%v", v) == value {
				found = true
			}
		}

		if !found {
			return false
		}
	}

	return true
}

type cmdImageList struct {
	global      *cmdGlobal
	flagColumns string
	flagFormat  string
}

func (c *cmdImageList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:] [<filter>...]",
		Aliases: []string{"ls"},
		Short:   "List images",
		Long: `List images

Filters may be of the <key>=<value> form for property based filtering,
or part of the image hash or part of the image alias name.

The -c option takes a (optionally comma-separated) list of arguments
that control which image attributes to output when displaying in table
or csv format.

Default column layout is: lfpdasu

Column shorthand chars:

    l - Shortest image alias (and optionally number of other aliases)
    L - Newline-separated list of all image aliases
    f - Fingerprint (short)
    F - Fingerprint (long)
    p - Whether image is public
    d - Description
    a - Architecture
    s - Size
    u - Upload date
    t - Type`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagColumns, "columns", "c", "lfpdatsu", "Columns")
	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

func (c *cmdImageList) run(cmd *cobra.Command, args []string) error {
	columns, err := parseImageColumns(c.flagColumns)
	if err != nil {
		return err
	}

	remote, filters, err := c.global.remoteAndFilters(args)
	if err != nil {
		return err
	}

	d, err := c.global.conf.GetImageServer(remote)
	if err != nil {
		return err
	}

	serverFilters, localFilters := splitImageFilters(filters)
	var images []api.Image
	filtered := false
	full, ok := d.(client.InstanceServer)
	if ok && full.HasExtension("api_filtering") {
		images, err = full.GetImagesWithFilter(serverFilters)
		filtered = err == nil
	}

	if !filtered {
		// Without server-side filtering, or when the server refused the filter, everything is filtered here.
		images, err = d.GetImages()
		if err != nil {
			return err
		}

		localFilters = filters
	}

	shown := []api.Image{}
	data := [][]string{}
	for _, img := range images {
		if !imageMatches(img, localFilters) {
			continue
		}

		shown = append(shown, img)
		row := make([]string, 0, len(columns))
		for _, col := range columns {
			row = append(row, col.data(img))
		}

		data = append(data, row)
	}

	sortRows(data)
	header := make([]string, 0, len(columns))
	for _, col := range columns {
		header = append(header, col.header)
	}

	return renderList(cmd.OutOrStdout(), c.flagFormat, header, data, shown)
}

type cmdImageInfo struct {
	global *cmdGlobal
	flagVM bool
}

func (c *cmdImageInfo) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info [<remote>:]<image>",
		Short: "Show useful information about images",
		RunE:  c.run,
	}

	cmd.Flags().BoolVar(&c.flagVM, "vm", false, "Query virtual machine images")
	return cmd
}

// imageInfoDateLayout is how "lxc image info" prints dates.
const imageInfoDateLayout = "2006/01/02 15:04 UTC"

func (c *cmdImageInfo) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, name, err := c.global.imageSource(args[0])
	if err != nil {
		return err
	}

	img, _, err := d.GetImage(dereferenceAlias(d, imageTypeFlag(c.flagVM), name))
	if err != nil {
		return err
	}

	_, err = io.WriteString(cmd.OutOrStdout(), imageInfoText(img))
	return err
}

// imageInfoText is the text of "lxc image info".
func imageInfoText(img *api.Image) string {
	var b strings.Builder
	p := func(format string, a ...any) {
		_, _ = fmt.Fprintf(&b, format+"\n", a...)
	}

	dateOrNever := func(t time.Time) string {
		if timeIsSet(t) {
			return t.UTC().Format(imageInfoDateLayout)
		}

		return "never"
	}

	p("Fingerprint: %s", img.Fingerprint)
	p("Size: %s", imageSize(img.Size))
	p("Architecture: %s", img.Architecture)
	p("Type: %s", imageType(img.Type))
	p("Public: %s", lowerYesNo(img.Public))
	p("Timestamps:")
	if timeIsSet(img.CreatedAt) {
		p("    Created: %s", img.CreatedAt.UTC().Format(imageInfoDateLayout))
	}

	p("    Uploaded: %s", img.UploadedAt.UTC().Format(imageInfoDateLayout))
	p("    Expires: %s", dateOrNever(img.ExpiresAt))
	p("    Last used: %s", dateOrNever(img.LastUsedAt))
	p("Properties:")
	keys := make([]string, 0, len(img.Properties))
	for k := range img.Properties {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	for _, k := range keys {
		p("    %s: %s", k, img.Properties[k])
	}

	p("Aliases:")
	for _, a := range img.Aliases {
		if a.Description != "" {
			p("    - %s (%s)", a.Name, a.Description)
		} else {
			p("    - %s", a.Name)
		}
	}

	p("Cached: %s", lowerYesNo(img.Cached))
	autoUpdate := "disabled"
	if img.AutoUpdate {
		autoUpdate = "enabled"
	}

	p("Auto update: %s", autoUpdate)
	if img.UpdateSource != nil {
		p("Source:")
		p("    Server: %s", img.UpdateSource.Server)
		p("    Protocol: %s", img.UpdateSource.Protocol)
		p("    Alias: %s", img.UpdateSource.Alias)
	}

	if len(img.Profiles) == 0 {
		p("Profiles: []")
	} else {
		p("Profiles:")
		for _, name := range img.Profiles {
			p("    - %s", name)
		}
	}

	return b.String()
}

type cmdImageShow struct {
	global *cmdGlobal
	flagVM bool
}

func (c *cmdImageShow) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show [<remote>:]<image>",
		Short: "Show image properties",
		RunE:  c.run,
	}

	cmd.Flags().BoolVar(&c.flagVM, "vm", false, "Query virtual machine images")
	return cmd
}

func (c *cmdImageShow) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, name, err := c.global.imageSource(args[0])
	if err != nil {
		return err
	}

	img, _, err := d.GetImage(dereferenceAlias(d, imageTypeFlag(c.flagVM), name))
	if err != nil {
		return err
	}

	out, err := yamlMarshalStock(img.Writable())
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

type cmdImageEdit struct {
	global *cmdGlobal
}

func (c *cmdImageEdit) command() *cobra.Command {
	return &cobra.Command{
		Use:   "edit [<remote>:]<image>",
		Short: "Edit image properties",
		Example: `  lxc image edit <image>
      Launch a text editor to edit the properties

  lxc image edit <image> < image.yaml
      Load the image properties from a YAML file`,
		RunE: c.run,
	}
}

// imageEditHeader precedes the YAML in the editor.
const imageEditHeader = `### This is a YAML representation of the image properties.
### Any line starting with a '# will be ignored.
###
### Each property is represented by a single line:
### An example would be:
###  description: My custom image

`

func (c *cmdImageEdit) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, name, err := c.global.imageTarget(args[0])
	if err != nil {
		return err
	}

	fp := dereferenceAlias(d, "", name)
	load := func() ([]byte, string, error) {
		img, etag, err := d.GetImage(fp)
		if err != nil {
			return nil, "", err
		}

		fp = img.Fingerprint
		data, err := yamlMarshalStock(img.Writable())
		return data, etag, err
	}

	return editYAML(cmd, imageEditHeader, load, func(put api.ImagePut, etag string) error {
		return d.UpdateImage(fp, put, etag)
	})
}

type cmdImageDelete struct {
	global *cmdGlobal
}

func (c *cmdImageDelete) command() *cobra.Command {
	return &cobra.Command{
		Use:     "delete [<remote>:]<image> [[<remote>:]<image>...]",
		Aliases: []string{"rm"},
		Short:   "Delete images",
		RunE:    c.run,
	}
}

func (c *cmdImageDelete) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	servers := map[string]client.InstanceServer{}
	for _, arg := range args {
		remote, name, err := c.global.conf.ParseRemote(arg)
		if err != nil {
			return err
		}

		if name == "" {
			return errors.New("image identifier missing")
		}

		d, ok := servers[remote]
		if !ok {
			d, err = c.global.conf.GetInstanceServer(remote)
			if err != nil {
				return err
			}

			servers[remote] = d
		}

		op, err := d.DeleteImage(dereferenceAlias(d, "", name))
		if err != nil {
			return err
		}

		err = op.Wait()
		if err != nil {
			return err
		}
	}

	return nil
}

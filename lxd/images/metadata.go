package images

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/shared/osarch"
)

// MaxMetadataSize is the largest metadata.yaml accepted.
const MaxMetadataSize = 1 << 20

// Template triggers allowed in a template's when list.
const (
	TriggerCreate = "create"
	TriggerCopy   = "copy"
	TriggerStart  = "start"
	TriggerRename = "rename"
)

var triggers = []string{TriggerCreate, TriggerCopy, TriggerStart, TriggerRename}

// Metadata is the content of an image's metadata.yaml.
type Metadata struct {
	// Architecture is the canonical architecture name (aliases such as amd64 are converted).
	Architecture string `yaml:"architecture"`

	// CreationDate is the image creation time in Unix seconds.
	CreationDate int64 `yaml:"creation_date"`

	// ExpiryDate is the image expiry time in Unix seconds, or 0.
	ExpiryDate int64 `yaml:"expiry_date,omitempty"`

	// Properties are free-form image properties (os, release, description...).
	Properties map[string]string `yaml:"properties,omitempty"`

	// Templates maps an absolute path inside the container to the template rendered there.
	Templates map[string]*Template `yaml:"templates,omitempty"`
}

// Template describes one file rendered from templates/ into the container.
type Template struct {
	// When lists the triggers (create, copy, start, rename) on which the file is rendered.
	When []string `yaml:"when"`

	// CreateOnly renders the file only if it does not exist yet.
	CreateOnly bool `yaml:"create_only,omitempty"`

	// Template is the template file name under templates/.
	Template string `yaml:"template"`

	// Properties are extra values handed to the template.
	Properties map[string]string `yaml:"properties,omitempty"`
}

// ParseMetadata reads and validates metadata.yaml, reading at most MaxMetadataSize bytes of r.
// Unknown top-level keys are ignored. The architecture is returned in its canonical form.
func ParseMetadata(r io.Reader) (*Metadata, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading metadata.yaml: %w", err)
	}

	if len(data) > MaxMetadataSize {
		return nil, errors.New("metadata.yaml is larger than 1 MiB")
	}

	var m Metadata
	err = yaml.Unmarshal(data, &m)
	if err != nil {
		return nil, fmt.Errorf("parsing metadata.yaml: %w", err)
	}

	err = m.Validate()
	if err != nil {
		return nil, err
	}

	return &m, nil
}

// Validate checks the required fields and the templates, and canonicalises the architecture.
func (m *Metadata) Validate() error {
	if m.Architecture == "" {
		return errors.New("metadata.yaml has no architecture")
	}

	arch, err := osarch.Canonical(m.Architecture)
	if err != nil {
		return fmt.Errorf("metadata.yaml: %w", err)
	}

	m.Architecture = arch
	if m.CreationDate <= 0 {
		return errors.New("metadata.yaml has no valid creation_date")
	}

	if m.ExpiryDate < 0 {
		return errors.New("metadata.yaml has a negative expiry_date")
	}

	for _, target := range sortedKeys(m.Templates) {
		tpl := m.Templates[target]
		if tpl == nil {
			return fmt.Errorf("metadata.yaml: template for %q is empty", target)
		}

		err = validateTemplate(target, tpl)
		if err != nil {
			return fmt.Errorf("metadata.yaml: template for %q: %w", target, err)
		}
	}

	return nil
}

func validateTemplate(target string, tpl *Template) error {
	if !path.IsAbs(target) {
		return errors.New("target path is not absolute")
	}

	if hasDotDot(target) {
		return errors.New(`target path contains ".."`)
	}

	if strings.ContainsRune(target, 0) {
		return errors.New("target path contains a NUL byte")
	}

	if tpl.Template == "" {
		return errors.New("no template file")
	}

	_, err := templateEntry(tpl.Template)
	if err != nil {
		return err
	}

	for _, when := range tpl.When {
		if !slices.Contains(triggers, when) {
			return fmt.Errorf("unknown trigger %q in when (want create, copy, start or rename)", when)
		}
	}

	return nil
}

// templateEntry returns the archive path (templates/NAME) of a template file name.
func templateEntry(name string) (string, error) {
	if strings.HasPrefix(name, "/") || hasDotDot(name) || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("template file name %q is not a plain relative name", name)
	}

	clean := path.Clean(name)
	if clean == "." {
		return "", fmt.Errorf("template file name %q is empty", name)
	}

	return "templates/" + clean, nil
}

// hasDotDot reports whether a slash-separated path has a ".." element.
func hasDotDot(p string) bool {
	return slices.Contains(strings.Split(p, "/"), "..")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}

	slices.Sort(keys)
	return keys
}

// Marshal renders the metadata as YAML.
func (m *Metadata) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	err := enc.Encode(m)
	if err != nil {
		return nil, err
	}

	return buf.Bytes(), nil
}

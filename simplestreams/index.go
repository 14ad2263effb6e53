package simplestreams

import (
	"encoding/json"
	"fmt"
)

// Stream is one entry of the index.
type Stream struct {
	DataType string   `json:"datatype"`
	Path     string   `json:"path"`
	Format   string   `json:"format,omitempty"`
	Updated  string   `json:"updated,omitempty"`
	Products []string `json:"products"`
}

// Index is streams/v1/index.json.
type Index struct {
	Format  string            `json:"format"`
	Updated string            `json:"updated,omitempty"`
	Index   map[string]Stream `json:"index"`
}

// MaxDocument is the largest index or products file read.
const MaxDocument = 64 << 20

// ParseIndex decodes an index file.
func ParseIndex(data []byte) (*Index, error) {
	var idx Index
	err := json.Unmarshal(data, &idx)
	if err != nil {
		return nil, fmt.Errorf("invalid simplestreams index: %w", err)
	}

	return &idx, nil
}

// ImageStreams returns the paths of the products files holding image downloads, in a stable order.
func (idx *Index) ImageStreams() []string {
	var paths []string
	seen := map[string]bool{}
	for _, name := range sortedKeys(idx.Index) {
		s := idx.Index[name]
		if s.DataType != "image-downloads" || len(s.Products) == 0 || s.Path == "" || seen[s.Path] {
			continue
		}

		seen[s.Path] = true
		paths = append(paths, s.Path)
	}

	return paths
}

package resources

import (
	"bufio"
	"os"
	"strings"
)

// pciIDPaths are where distributions install the PCI ID database (hwdata, pciutils).
var pciIDPaths = []string{"usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids", "usr/local/share/pci.ids",
	"usr/share/pci.ids"}

// idNames maps a vendor ID to its name and its devices' names, as an ID database (pci.ids) lists them.
type idNames struct {
	vendors  map[string]string
	products map[string]map[string]string
}

// lookup returns the vendor and product names of an ID pair ("" for what the database does not name).
func (n *idNames) lookup(vendorID string, productID string) (string, string) {
	if n == nil {
		return "", ""
	}

	vendorID, productID = strings.ToLower(vendorID), strings.ToLower(productID)
	return n.vendors[vendorID], n.products[vendorID][productID]
}

// pciNames loads the first PCI ID database found below Root, once per Reader; nil when there is none.
func (r *Reader) pciNames() *idNames {
	r.pciOnce.Do(func() {
		for _, p := range pciIDPaths {
			names, err := parseIDs(r.path(p))
			if err == nil {
				r.pciIDs = names
				return
			}
		}
	})

	return r.pciIDs
}

// parseIDs reads the vendor and device lines of a pci.ids-format file: "vvvv  Vendor" at the start of a line,
// "\tdddd  Device" below it; subsystems (two tabs) and the class section ("C ...") are skipped.
func parseIDs(path string) (*idNames, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}

	defer func() { _ = f.Close() }()
	out := &idNames{vendors: map[string]string{}, products: map[string]map[string]string{}}
	vendor := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}

		if strings.HasPrefix(line, "\t\t") {
			continue
		}

		if line[0] == '\t' {
			id, name, ok := splitIDLine(line[1:])
			if ok && vendor != "" {
				out.products[vendor][id] = name
			}

			continue
		}

		id, name, ok := splitIDLine(line)
		if !ok || len(id) != 4 {
			// The class section ("C 02  Network controller") ends the vendor list.
			vendor = ""
			continue
		}

		vendor = id
		out.vendors[id] = name
		out.products[id] = map[string]string{}
	}

	return out, sc.Err()
}

// splitIDLine splits "1af4  Red Hat, Inc." into its lower-case ID and name.
func splitIDLine(line string) (string, string, bool) {
	id, name, ok := strings.Cut(line, "  ")
	if !ok {
		return "", "", false
	}

	for _, c := range id {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return "", "", false
		}
	}

	return strings.ToLower(id), strings.TrimSpace(name), true
}

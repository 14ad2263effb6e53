package db

import (
	"context"
	"sort"
)

// DeviceUse is one device of an instance or a profile (its own, not one inherited from a profile) that uses a
// network or a storage pool.
type DeviceUse struct {
	// Owner is "instance" or "profile".
	Owner string
	// Name is the instance's or profile's name.
	Name string
	// Device is the device's name.
	Device string
}

// deviceUseQuery selects, for one kind of owner, the names of the owners and devices that use what its single
// argument names.
type deviceUseQuery struct {
	owner string
	query string
}

// deviceUses runs each query with name and returns the devices found, sorted by owner, name and device.
func (t *Tx) deviceUses(ctx context.Context, queries []deviceUseQuery, name string) ([]DeviceUse, error) {
	var out []DeviceUse
	for _, q := range queries {
		err := func() error {
			rows, err := t.query(ctx, q.query, name)
			if err != nil {
				return err
			}

			defer func() { _ = rows.Close() }()
			for rows.Next() {
				u := DeviceUse{Owner: q.owner}
				err = rows.Scan(&u.Name, &u.Device)
				if err != nil {
					return err
				}

				out = append(out, u)
			}

			return mapError(rows.Err())
		}()
		if err != nil {
			return nil, err
		}
	}

	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}

		if a.Name != b.Name {
			return a.Name < b.Name
		}

		return a.Device < b.Device
	})

	return out, nil
}

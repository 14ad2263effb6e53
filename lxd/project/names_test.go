package project

import "testing"

func TestKeys(t *testing.T) {
	for _, c := range []struct{ p, name, key, dns string }{
		{"default", "c1", "c1", "c1"},
		{"", "c1", "c1", "c1"},
		{"p1", "c1", "p1_c1", "c1.p1"},
		{"p1", "c1/snap0", "p1_c1/snap0", "c1/snap0.p1"},
	} {
		key := InstanceKey(c.p, c.name)
		p, name := SplitInstanceKey(key)
		want := c.p
		if want == "" {
			want = Default
		}

		if key != c.key || p != want || name != c.name {
			t.Errorf("%q of %q: key %q split into %q %q", c.name, c.p, key, p, name)
		}

		if c.name == "c1" && DNSName(key) != c.dns {
			t.Errorf("DNS name of %q: got %q, want %q", key, DNSName(key), c.dns)
		}
	}

	if ProfileKey("p1", "my_profile") != "p1/my_profile" || ProfileName("p1/my_profile") != "my_profile" ||
		ProfileKey("default", "x_y") != "x_y" || ProfileName("x_y") != "x_y" {
		t.Fatal("profile keys")
	}

	if WithProject("/1.0/instances/c1", "p1") != "/1.0/instances/c1?project=p1" || WithProject("/1.0/x", "default") != "/1.0/x" ||
		OfPath("/1.0/instances/c1?project=p1") != "p1" || OfPath("/1.0/instances/c1") != "default" {
		t.Fatal("paths")
	}
}

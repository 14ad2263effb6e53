package main

import (
	"bytes"
	"slices"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// TestProjectListStockGolden renders testdata/projects.json (GET /1.0/projects?recursion=1 of the stock daemon, with
// web the remote's current project) as the stock client printed it.
func TestProjectListStockGolden(t *testing.T) {
	var projects []api.Project
	loadTestJSON(t, "projects.json", &projects)
	for _, format := range []string{formatTable, formatCompact, formatCSV, formatJSON, formatYAML} {
		t.Run(format, func(t *testing.T) {
			header, rows := projectTable(projects, "web")
			var out bytes.Buffer
			err := renderList(&out, format, header, rows, projects)
			if err != nil {
				t.Fatal(err)
			}

			assertGolden(t, "stock-project-list."+format, out.String())
		})
	}
}

// TestProjectInfoStockGolden renders testdata/project-state-web.json (GET /1.0/projects/web/state of the stock
// daemon: limits of containers, memory and disk) as "lxc project info" of the stock client printed it.
func TestProjectInfoStockGolden(t *testing.T) {
	var st api.ProjectState
	loadTestJSON(t, "project-state-web.json", &st)
	if st.Resources["memory"].Limit != 2<<30 {
		t.Fatalf("got %+v, want the capitalised fields of the stock daemon decoded", st.Resources["memory"])
	}

	for _, format := range []string{formatTable, formatCompact, formatCSV, formatJSON, formatYAML} {
		t.Run(format, func(t *testing.T) {
			header, rows := projectStateTable(&st)
			var out bytes.Buffer
			err := renderList(&out, format, header, rows, &st)
			if err != nil {
				t.Fatal(err)
			}

			assertGolden(t, "stock-project-info-web."+format, out.String())
		})
	}
}

func TestProjectShowStockGolden(t *testing.T) {
	var projects []api.Project
	loadTestJSON(t, "projects.json", &projects)
	for _, name := range []string{"default", "web"} {
		t.Run(name, func(t *testing.T) {
			i := slices.IndexFunc(projects, func(p api.Project) bool { return p.Name == name })
			if i < 0 {
				t.Fatalf("no %s in projects.json", name)
			}

			out, err := yamlMarshalStock(&projects[i])
			if err != nil {
				t.Fatal(err)
			}

			assertGolden(t, "stock-project-show-"+name+".yaml", string(out))
		})
	}
}

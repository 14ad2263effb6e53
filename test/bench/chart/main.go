// Command chart draws the scale benchmark's figures as an SVG: one panel per measure, seconds (log scale) against the
// number of running containers, a line for our daemon and one for the stock LXD. It reads a whitespace-separated
// table whose first line names the columns (one of them "containers") and writes the SVG to standard output.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// series is one line of a panel: a column of the table.
type series struct {
	column string
	label  string
	color  string
	dash   string
}

// panel is one chart: some lines against the number of containers.
type panel struct {
	title  string
	unit   string
	series []series
}

var panels = []panel{
	{title: "lxc list, each daemon with its own client", unit: "s", series: []series{
		{column: "list_ours", label: "ours", color: "#1f77b4"},
		{column: "list_stock", label: "stock LXD 5.0.2", color: "#d62728", dash: "6,4"},
	}},
	{title: "GET /1.0/instances?recursion=2", unit: "s", series: []series{
		{column: "rec2_ours", label: "ours", color: "#1f77b4"},
		{column: "rec2_stock", label: "stock LXD 5.0.2", color: "#d62728", dash: "6,4"},
	}},
	{title: "recursion=2 per container", unit: "ms", series: []series{
		{column: "rec2_ms_per_ours", label: "ours", color: "#1f77b4"},
		{column: "rec2_ms_per_stock", label: "stock LXD 5.0.2", color: "#d62728", dash: "6,4"},
	}},
	{title: "launch, 4 at a time, per launch", unit: "s", series: []series{
		{column: "launch_ours", label: "ours", color: "#1f77b4"},
		{column: "launch_stock", label: "stock LXD 5.0.2", color: "#d62728", dash: "6,4"},
	}},
}

const (
	panelW  = 400.0
	panelH  = 250.0
	marginL = 58.0
	marginR = 14.0
	marginT = 34.0
	marginB = 44.0
	columns = 2
)

func main() {
	in := flag.String("in", "", "the table of figures")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "usage: chart -in FILE > chart.svg")
		os.Exit(2)
	}

	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	defer func() { _ = f.Close() }()
	table, err := readTable(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	err = draw(os.Stdout, table)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// readTable reads the columns of a table whose first line names them; a value that is not a number is NaN.
func readTable(r io.Reader) (map[string][]float64, error) {
	sc := bufio.NewScanner(r)
	var header []string
	out := map[string][]float64{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}

		if header == nil {
			header = fields
			continue
		}

		if len(fields) != len(header) {
			return nil, fmt.Errorf("a row of %d fields under a header of %d", len(fields), len(header))
		}

		for i, v := range fields {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				x = math.NaN()
			}

			out[header[i]] = append(out[header[i]], x)
		}
	}

	if sc.Err() != nil {
		return nil, sc.Err()
	}

	if len(out["containers"]) == 0 {
		return nil, fmt.Errorf("no rows, or no containers column")
	}

	return out, nil
}

// niceTicks returns the powers of ten, with 2 and 5 times them when the range is narrow, within [lo, hi].
func niceTicks(lo, hi float64) []float64 {
	var out []float64
	steps := []float64{1}
	if math.Log10(hi/lo) < 3 {
		steps = []float64{1, 2, 5}
	}

	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, s := range steps {
			v := s * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				out = append(out, v)
			}
		}
	}

	return out
}

func label(v float64) string {
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func draw(w io.Writer, table map[string][]float64) error {
	xs := table["containers"]
	rows := (len(panels) + columns - 1) / columns
	width, height := panelW*columns, panelH*float64(rows)+22
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n",
		width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for i, p := range panels {
		err := drawPanel(w, float64(i%columns)*panelW, float64(i/columns)*panelH, p, xs, table)
		if err != nil {
			return err
		}
	}

	// One legend for all panels.
	y := height - 10
	for i, s := range panels[0].series {
		x := 20 + float64(i)*170
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n",
			x, y, x+28, y, s.color, s.dash)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x+34, y+4, s.label)
	}

	fmt.Fprintln(w, "</svg>")
	return nil
}

func drawPanel(w io.Writer, x0 float64, y0 float64, p panel, xs []float64, table map[string][]float64) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range p.series {
		ys, ok := table[s.column]
		if !ok {
			return fmt.Errorf("no column %q", s.column)
		}

		for _, y := range ys {
			if y > 0 && !math.IsNaN(y) {
				lo, hi = math.Min(lo, y), math.Max(hi, y)
			}
		}
	}

	if math.IsInf(lo, 1) {
		lo, hi = 0.01, 1
	}

	// The y axis is logarithmic, from the power of ten below the least value to the one above the greatest.
	ylo, yhi := math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if ylo == yhi {
		yhi *= 10
	}

	xmax := 0.0
	for _, x := range xs {
		xmax = math.Max(xmax, x)
	}

	plotW, plotH := panelW-marginL-marginR, panelH-marginT-marginB
	px := func(x float64) float64 { return x0 + marginL + x/xmax*plotW }
	py := func(y float64) float64 {
		return y0 + marginT + plotH - (math.Log10(y)-math.Log10(ylo))/(math.Log10(yhi)-math.Log10(ylo))*plotH
	}

	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`+"\n", x0+marginL-40, y0+16, p.title)
	fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n",
		x0+marginL, y0+marginT, plotW, plotH)
	for _, t := range niceTicks(ylo, yhi) {
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0+marginL, py(t), x0+marginL+plotW, py(t))
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0+marginL-4, py(t)+4, label(t))
	}

	for _, x := range xs {
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", px(x), y0+marginT, px(x), y0+marginT+plotH)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(x), y0+marginT+plotH+14, label(x))
	}

	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">running containers</text>`+"\n", x0+marginL+plotW/2, y0+marginT+plotH+32)
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s (log)</text>`+"\n",
		x0+14, y0+marginT+plotH/2, x0+14, y0+marginT+plotH/2, p.unit)
	for _, s := range p.series {
		var pts []string
		for i, y := range table[s.column] {
			if y > 0 && !math.IsNaN(y) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xs[i]), py(y)))
			}
		}

		fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n",
			strings.Join(pts, " "), s.color, s.dash)
		for _, pt := range pts {
			xy := strings.Split(pt, ",")
			fmt.Fprintf(w, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], s.color)
		}
	}

	return nil
}

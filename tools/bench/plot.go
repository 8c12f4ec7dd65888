package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The figures of part 6: one SVG per measure, a panel per number of kicks in
// flight, occupants per room on a log x axis, a line per kicker.

// kickerStyle gives each kicker the same colour and marker in every figure.
var kickerStyle = map[string]struct {
	color color.Color
	shape draw.GlyphDrawer
}{
	"muc-kick": {color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, draw.CircleGlyph{}},
	"direct":   {color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, draw.SquareGlyph{}},
	"module":   {color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, draw.TriangleGlyph{}},
}

// measure is one figure: what it shows of a run, and for latency a second,
// dashed series (p99 beside p50).
type measure struct {
	file, title, unit string // file: the name without its extension
	logY              bool
	legendRight       bool // where the lines are not: throughput falls with the room's size
	series            []series
}

type series struct {
	suffix string // added to the kicker's name in the legend
	dashed bool
	value  func(c scaleCell) (float64, bool)
}

func figures() []measure {
	kicker := func(f func(r *burstResult) float64) func(c scaleCell) (float64, bool) {
		return func(c scaleCell) (float64, bool) { return f(c.res), c.res.n > 0 }
	}
	return []measure{
		{file: "scaling-throughput", title: "Kicks per second", unit: "kicks/s", logY: true, legendRight: true,
			series: []series{{value: kicker(func(r *burstResult) float64 { return r.rate() })}}},
		{file: "scaling-latency", title: "Latency, request to answer", unit: "ms", logY: true,
			series: []series{
				{suffix: " p50", value: kicker(func(r *burstResult) float64 { return msOf(r.pct(.5)) })},
				{suffix: " p99", dashed: true, value: kicker(func(r *burstResult) float64 { return msOf(r.pct(.99)) })},
			}},
		{file: "scaling-cpu", title: "CPU per kick", unit: "ms", logY: true,
			series: []series{
				{suffix: ": server", value: kicker(func(r *burstResult) float64 { return r.serverPerKick() })},
				{suffix: ": muc-kick process", dashed: true, value: func(c scaleCell) (float64, bool) {
					return c.res.mkPerKick(), c.res.n > 0 && strings.HasPrefix(c.kicker, "muc-kick")
				}},
			}},
	}
}

// writePlots writes the figures into dir as format ("svg" or "png") and
// returns their paths.
func writePlots(dir, format, server string, cells []scaleCell) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var inFlight []int
	var kickers []string
	for _, c := range cells {
		if !slices.Contains(inFlight, c.inFlight) {
			inFlight = append(inFlight, c.inFlight)
		}
		if !slices.Contains(kickers, c.kicker) {
			kickers = append(kickers, c.kicker)
		}
	}
	slices.Sort(inFlight)
	var files []string
	for _, m := range figures() {
		row := make([]*plot.Plot, len(inFlight))
		for i, n := range inFlight {
			p, err := panel(m, server, n, kickers, cells, i == 0)
			if err != nil {
				return files, err
			}
			row[i] = p
		}
		path := filepath.Join(dir, m.file+"."+format)
		if err := save(path, row); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}

// panel is one measure at one number of kicks in flight.
func panel(m measure, server string, inFlight int, kickers []string, cells []scaleCell, legend bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %d in flight (%s)", m.title, inFlight, server)
	p.X.Label.Text = "occupants per room"
	p.Y.Label.Text = m.unit
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, ticks125{}
	if m.logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, ticks125{}
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, !m.legendRight
	for _, k := range kickers {
		for _, s := range m.series {
			var xys plotter.XYs
			for _, c := range cells {
				if c.kicker != k || c.inFlight != inFlight {
					continue
				}
				if v, ok := s.value(c); ok && v > 0 {
					xys = append(xys, plotter.XY{X: float64(c.size), Y: v})
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, err
			}
			st, ok := kickerStyle[k]
			if !ok { // muc-kick@REV
				st.color, st.shape = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, draw.CrossGlyph{}
			}
			line.Color, points.Color, points.Shape = st.color, st.color, st.shape
			line.Width = vg.Points(1.5)
			if s.dashed {
				line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(line, points)
			if legend {
				p.Legend.Add(k+s.suffix, line, points)
			}
		}
	}
	return p, nil
}

// save draws a row of panels into one SVG file, or PNG if path ends in .png.
func save(path string, row []*plot.Plot) error {
	const w, h = 5.5 * vg.Inch, 4 * vg.Inch
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if strings.HasSuffix(path, ".png") {
		c = vgimg.PngCanvas{Canvas: vgimg.New(w*vg.Length(len(row)), h)}
	} else {
		c = vgsvg.New(w*vg.Length(len(row)), h)
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, draw.New(c))
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ticks125 marks a log axis at 1, 2 and 5 times each power of ten, with a
// label, and at the other whole multiples without: plot.LogTicks labels the
// powers of ten only, which leaves a panel spanning less than a decade
// with one label or none.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			switch {
			case m != 1 && m != 2 && m != 5:
			case v >= 1:
				t.Label = strconv.FormatFloat(v, 'f', 0, 64)
			default:
				t.Label = strconv.FormatFloat(v, 'g', 1, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

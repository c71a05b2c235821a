package doctor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Column widths of the text table: cells wrap at word boundaries.
const (
	assumptionWidth = 40
	observedWidth   = 46
	serviceWidth    = 46
)

// WriteText writes the report as an aligned plain-text table, then what to
// fix.
func (r *Report) WriteText(w io.Writer) error {
	header := []string{"", "assumption", "observed", "what the service does about it"}
	widths := []int{4, assumptionWidth, observedWidth, serviceWidth}
	rows := [][]string{header}
	for _, c := range r.Checks {
		rows = append(rows, []string{string(c.Status), c.Assumption, c.Observed, c.Service})
	}
	// Shrink each column to its widest content.
	used := make([]int, len(widths))
	for _, row := range rows {
		for i, cell := range row {
			for _, line := range wrap(cell, widths[i]) {
				used[i] = max(used[i], utf8.RuneCountInString(line))
			}
		}
	}
	var b strings.Builder
	for n, row := range rows {
		cells := make([][]string, len(row))
		height := 0
		for i, cell := range row {
			cells[i] = wrap(cell, widths[i])
			height = max(height, len(cells[i]))
		}
		for l := range height {
			var line strings.Builder
			for i := range row {
				s := ""
				if l < len(cells[i]) {
					s = cells[i][l]
				}
				if i < len(row)-1 {
					s += strings.Repeat(" ", used[i]-utf8.RuneCountInString(s)) + " | "
				}
				line.WriteString(s)
			}
			b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		}
		if n == 0 {
			for i := range row {
				b.WriteString(strings.Repeat("-", used[i]))
				if i < len(row)-1 {
					b.WriteString("-+-")
				}
			}
			b.WriteString("\n")
		}
	}
	var fails, warns []Check
	for _, c := range r.Checks {
		switch c.Status {
		case Fail:
			fails = append(fails, c)
		case Warn:
			warns = append(warns, c)
		}
	}
	list := func(title string, cs []Check) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, c := range cs {
			fmt.Fprintf(&b, "  - %s: %s\n", c.ID, c.Fix)
		}
	}
	list("To fix before the first sync", fails)
	list("Worth a look", warns)
	if !r.Write {
		b.WriteString("\nRead-only run. `intercom-sync doctor --write` also creates two throwaway contacts (deleted again) " +
			"to check leads' external_id, search lag and IN searches.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as JSON, with "ok" false when a check failed.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		OK bool `json:"ok"`
		*Report
	}{len(r.Failed()) == 0, r})
}

// Err is nil when no check failed; otherwise it names each failed check
// and its fix, settings first.
func (r *Report) Err() error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	var parts []string
	for _, c := range failed {
		parts = append(parts, c.Fix)
	}
	return errors.New(fmt.Sprintf("%d assumption(s) the sync needs are false: ", len(failed)) + strings.Join(parts, "; "))
}

// wrap breaks s into lines of at most width runes, at spaces where it can.
func wrap(s string, width int) []string {
	if s == "" {
		return []string{""}
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for utf8.RuneCountInString(word) > width {
			if line != "" {
				lines, line = append(lines, line), ""
			}
			r := []rune(word)
			lines, word = append(lines, string(r[:width])), string(r[width:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines, line = append(lines, line), word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

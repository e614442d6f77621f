package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/docker/go-units"
)

// Template helpers offered to every --format, named as in the Docker CLI so
// users' templates carry over.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return strings.TrimSpace(buf.String())
	},
	"split": strings.Split,
	"join":  strings.Join,
	"title": titleCase,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, prefix, suffix int) string {
		return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
	},
	"truncate": truncateRunes,
	"println":  fmt.Sprintln,
}

func titleCase(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		words[i] = strings.ToUpper(string(r)) + w[size:]
	}
	return strings.Join(words, " ")
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ellipsis shortens s to at most n runes, ending in "…" when cut, as
// Docker's table columns do.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return string([]rune(s)[:n])
	}
	return string([]rune(s)[:n-1]) + "…"
}

func parseTemplate(format string) (*template.Template, error) {
	tmpl, err := template.New("").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return tmpl, nil
}

// listFormat renders rows of a list command (ps, images) with a table
// header or a bare template, following Docker's rules: "table" prefixes get
// a header and tab-aligned columns, "json" means one JSON object per line,
// anything else is a template executed once per row.
type listFormat struct {
	format string
	header map[string]string
}

func (lf listFormat) isTable() bool { return strings.HasPrefix(lf.format, "table") }

func (lf listFormat) body() string {
	f := lf.format
	switch {
	case f == "json":
		f = "{{json .}}"
	case lf.isTable():
		f = strings.TrimPrefix(f, "table")
	}
	f = strings.Trim(f, " ")
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(f)
}

func (lf listFormat) write(w io.Writer, rows []any) error {
	tmpl, err := parseTemplate(lf.body())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, row := range rows {
		if err := tmpl.Execute(&buf, row); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		buf.WriteString("\n")
	}
	if !lf.isTable() {
		_, err := w.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	var head bytes.Buffer
	// A header template that cannot render (a method taking arguments such as
	// .Label "x") just leaves its column header empty, like Docker.
	if err := tmpl.Execute(&head, lf.header); err == nil {
		head.WriteString("\n")
		_, _ = tw.Write(head.Bytes())
	} else {
		_, _ = tw.Write([]byte("\n"))
	}
	_, _ = tw.Write(buf.Bytes())
	return tw.Flush()
}

// humanDuration is Docker's "About a minute" style, used with " ago".
func humanDuration(d time.Duration) string { return units.HumanDuration(d) }

func timeAgo(now time.Time, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return humanDuration(now.Sub(t)) + " ago"
}

func humanSize(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

// shortID is the 12-character form Docker prints, without any algorithm
// prefix.
func shortID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// writeJSONArray prints raw JSON documents as one indented array, the way
// docker inspect does.
func writeJSONArray(w io.Writer, items []json.RawMessage) error {
	if len(items) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	// Re-decoding keeps the daemon's key order while letting the encoder
	// re-indent nested objects consistently.
	docs := make([]any, 0, len(items))
	for _, raw := range items {
		docs = append(docs, rawJSON(raw))
	}
	if err := enc.Encode(docs); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// rawJSON marshals as its own bytes; json.Encoder indents it.
type rawJSON json.RawMessage

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// marshalNoEscape is json.Marshal without HTML escaping, so "->" in port
// lists stays readable as in Docker's output.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// listTemplate is the template a list command uses: quietTmpl with -q,
// def when no --format (or "table") is given, the user's format otherwise.
func listTemplate(format string, quiet bool, quietTmpl, def string) string {
	switch {
	case format != "" && format != "table":
		return format
	case quiet:
		return quietTmpl
	}
	return def
}

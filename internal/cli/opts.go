package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/pflag"
)

// memBytes is a size flag ("512m", "1g") validated when parsed, so a bad
// value is a flag error (exit 125) like Docker's.
type memBytes int64

func (m *memBytes) Set(s string) error {
	v, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	*m = memBytes(v)
	return nil
}

func (m *memBytes) String() string {
	if *m == 0 {
		return "0"
	}
	return units.BytesSize(float64(*m))
}

func (m *memBytes) Type() string { return "bytes" }

// memSwapBytes also accepts -1, meaning unlimited swap.
type memSwapBytes int64

func (m *memSwapBytes) Set(s string) error {
	if s == "-1" {
		*m = -1
		return nil
	}
	v, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	*m = memSwapBytes(v)
	return nil
}

func (m *memSwapBytes) String() string { return strconv.FormatInt(int64(*m), 10) }
func (m *memSwapBytes) Type() string   { return "bytes" }

// nanoCPUs parses --cpus as an exact decimal and stores billionths of a CPU.
type nanoCPUs int64

func (n *nanoCPUs) Set(s string) error {
	v, err := parseNanoCPUs(s)
	if err != nil {
		return err
	}
	*n = nanoCPUs(v)
	return nil
}

func (n *nanoCPUs) String() string {
	if *n == 0 {
		return ""
	}
	return big.NewRat(int64(*n), 1e9).FloatString(3)
}

func (n *nanoCPUs) Type() string { return "decimal" }

func parseNanoCPUs(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("failed to parse %v as a rational number", s)
	}
	r.Mul(r, big.NewRat(1e9, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("value is too precise")
	}
	return r.Num().Int64(), nil
}

// attachStreams validates -a values case-insensitively.
type attachStreams struct{ streams []string }

func (a *attachStreams) Set(s string) error {
	v := strings.ToLower(s)
	switch v {
	case "stdin", "stdout", "stderr":
		a.streams = append(a.streams, v)
		return nil
	}
	return fmt.Errorf("valid streams are STDIN, STDOUT and STDERR")
}

func (a *attachStreams) String() string { return "[" + strings.Join(a.streams, " ") + "]" }
func (a *attachStreams) Type() string   { return "list" }

func (a *attachStreams) has(s string) bool {
	for _, v := range a.streams {
		if v == s {
			return true
		}
	}
	return false
}

// parseEnvLine applies Docker's rule for -e: "KEY" alone takes the value
// from the client's environment when it is set there.
func parseEnvLine(s string) string {
	if strings.Contains(s, "=") {
		return s
	}
	if v, ok := os.LookupEnv(s); ok {
		return s + "=" + v
	}
	return s
}

// readKVFile reads an env or label file: blank lines and '#' comments are
// skipped, "KEY=VALUE" is kept verbatim after trimming leading space on the
// key, and a bare "KEY" is resolved through lookup (nil keeps it bare).
func readKVFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKVData(path, data, lookup)
}

func parseKVData(path string, data []byte, lookup func(string) (string, bool)) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		raw := sc.Bytes()
		if n == 0 {
			raw = bytes.TrimPrefix(raw, []byte{0xEF, 0xBB, 0xBF})
		}
		n++
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("env file %s contains invalid utf8 bytes at line %d: %v", path, n, raw)
		}
		line := strings.TrimLeftFunc(string(raw), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		if key == "" {
			return nil, fmt.Errorf("no variable name on line '%s'", line)
		}
		if strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("variable '%s' contains whitespaces", key)
		}
		switch {
		case hasValue:
			lines = append(lines, key+"="+value)
		case lookup == nil:
			lines = append(lines, key)
		default:
			if v, ok := lookup(key); ok {
				lines = append(lines, key+"="+v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return lines, nil
}

// parseEnv merges --env-file entries (first) and -e entries (after), the
// order Docker sends them in.
func parseEnv(files, envs []string) ([]string, error) {
	var out []string
	for _, f := range files {
		lines, err := readKVFile(f, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	for _, e := range envs {
		out = append(out, parseEnvLine(e))
	}
	return out, nil
}

// parseLabels merges --label-file and -l values into a map; "key" alone
// means an empty value.
func parseLabels(files, labels []string) (map[string]string, error) {
	var all []string
	for _, f := range files {
		lines, err := readKVFile(f, nil)
		if err != nil {
			return nil, err
		}
		all = append(all, lines...)
	}
	all = append(all, labels...)
	m := make(map[string]string, len(all))
	for _, l := range all {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m, nil
}

// parseRestartPolicy understands "no", "always", "unless-stopped" and
// "on-failure[:max-retries]".
func parseRestartPolicy(s string) (container.RestartPolicy, error) {
	var p container.RestartPolicy
	if s == "" {
		return p, nil
	}
	name, count, hasCount := strings.Cut(s, ":")
	if name == "" {
		return p, fmt.Errorf("invalid restart policy format: no policy provided before colon")
	}
	p.Name = container.RestartPolicyMode(name)
	switch p.Name {
	case container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		if hasCount {
			return container.RestartPolicy{}, fmt.Errorf("invalid restart policy format: maximum retry count cannot be used with restart policy '%s'", name)
		}
	case container.RestartPolicyOnFailure:
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil {
				return container.RestartPolicy{}, fmt.Errorf("invalid restart policy format: maximum retry count must be an integer")
			}
			if n < 0 {
				return container.RestartPolicy{}, fmt.Errorf("invalid restart policy format: maximum retry count must be a positive integer")
			}
			p.MaximumRetryCount = n
		}
	default:
		return container.RestartPolicy{}, fmt.Errorf("invalid restart policy format: unknown policy '%s'", name)
	}
	return p, nil
}

// parseKeyValueMap turns "k=v" pairs into a map; used for --sysctl,
// --storage-opt and --log-opt.
func parseKeyValueMap(flag string, values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("invalid %s format '%s'", flag, v)
		}
		m[k] = val
	}
	return m, nil
}

// listValue is a repeatable string flag shown as "list" in help, as in
// Docker's option tables.
type listValue struct{ p *[]string }

func (l listValue) Set(s string) error { *l.p = append(*l.p, s); return nil }
func (l listValue) String() string {
	if l.p == nil || len(*l.p) == 0 {
		return ""
	}
	return "[" + strings.Join(*l.p, " ") + "]"
}
func (l listValue) Type() string { return "list" }

func listVar(f *pflag.FlagSet, p *[]string, name, usage string) {
	f.Var(listValue{p}, name, usage)
}

func listVarP(f *pflag.FlagSet, p *[]string, name, short, usage string) {
	f.VarP(listValue{p}, name, short, usage)
}

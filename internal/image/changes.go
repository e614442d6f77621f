package image

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"berth/internal/errdefs"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// ApplyChanges applies Dockerfile-style instructions (the --change of
// import and commit) to cfg. The instructions Docker accepts there are CMD,
// ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER,
// VOLUME and WORKDIR; any other is an errdefs.InvalidParameter error worded
// as Docker words it.
func ApplyChanges(cfg *dockerspec.DockerOCIImageConfig, changes []string) error {
	cmdSet := false
	for _, change := range changes {
		for _, line := range strings.Split(change, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			var instr, rest string
			if i := strings.IndexAny(line, " \t"); i >= 0 {
				instr, rest = line[:i], strings.TrimSpace(line[i+1:])
			} else {
				instr, rest = line, ""
			}
			if err := applyChange(cfg, strings.ToLower(instr), rest, &cmdSet); err != nil {
				return errdefs.InvalidParameter(err)
			}
		}
	}
	return nil
}

func applyChange(cfg *dockerspec.DockerOCIImageConfig, instr, rest string, cmdSet *bool) error {
	switch instr {
	case "cmd":
		cfg.Cmd = commandForm(cfg, rest)
		*cmdSet = true
	case "entrypoint":
		cfg.Entrypoint = commandForm(cfg, rest)
		if !*cmdSet {
			cfg.Cmd = nil
		}
	case "env":
		pairs, err := nameValues("ENV", rest, cfg.Env)
		if err != nil {
			return err
		}
		for _, kv := range pairs {
			cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
		}
	case "label":
		pairs, err := nameValues("LABEL", rest, cfg.Env)
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range pairs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "expose":
		words, err := splitWords(rest, cfg.Env)
		if err != nil {
			return err
		}
		if len(words) == 0 {
			return fmt.Errorf("EXPOSE requires at least one argument")
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, w := range words {
			ports, err := parsePorts(w)
			if err != nil {
				return err
			}
			for _, p := range ports {
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	case "onbuild":
		trigger := strings.ToUpper(strings.Fields(rest + " x")[0])
		switch trigger {
		case "ONBUILD":
			return fmt.Errorf("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
		case "FROM", "MAINTAINER":
			return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", trigger)
		}
		if strings.TrimSpace(rest) == "" {
			return fmt.Errorf("ONBUILD requires at least one argument")
		}
		cfg.OnBuild = append(cfg.OnBuild, rest)
	case "stopsignal":
		words, err := splitWords(rest, cfg.Env)
		if err != nil {
			return err
		}
		if len(words) != 1 {
			return fmt.Errorf("STOPSIGNAL requires exactly one argument")
		}
		if !validSignal(words[0]) {
			return fmt.Errorf("Invalid signal: %s", words[0])
		}
		cfg.StopSignal = words[0]
	case "user":
		words, err := splitWords(rest, cfg.Env)
		if err != nil {
			return err
		}
		if len(words) != 1 {
			return fmt.Errorf("USER requires exactly one argument")
		}
		cfg.User = words[0]
	case "volume":
		vols, err := jsonOrWords(rest, cfg.Env)
		if err != nil {
			return err
		}
		if len(vols) == 0 {
			return fmt.Errorf("VOLUME requires at least one argument")
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[strings.TrimSpace(v)] = struct{}{}
		}
	case "workdir":
		words, err := splitWords(rest, cfg.Env)
		if err != nil {
			return err
		}
		if len(words) != 1 {
			return fmt.Errorf("WORKDIR requires exactly one argument")
		}
		w := words[0]
		if !path.IsAbs(w) {
			w = path.Join("/", cfg.WorkingDir, w)
		}
		cfg.WorkingDir = path.Clean(w)
	case "healthcheck":
		hc, err := parseHealthcheck(cfg, rest)
		if err != nil {
			return err
		}
		cfg.Healthcheck = hc
	default:
		return fmt.Errorf("%s is not a valid change command", instr)
	}
	return nil
}

// commandForm is the exec form if rest is a JSON string array, else the
// shell form run by the image's shell.
func commandForm(cfg *dockerspec.DockerOCIImageConfig, rest string) []string {
	var args []string
	if strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &args) == nil {
		return args
	}
	shell := cfg.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, shell...), rest)
}

func jsonOrWords(rest string, env []string) ([]string, error) {
	var args []string
	if strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &args) == nil {
		return args, nil
	}
	return splitWords(rest, env)
}

// nameValues parses "k=v k2=v2" or the legacy "k v with spaces".
func nameValues(instr, rest string, env []string) ([][2]string, error) {
	words, err := splitWords(rest, env)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s requires at least one argument", instr)
	}
	first := strings.Fields(rest)[0]
	if !strings.Contains(first, "=") {
		// Legacy form: one name, the rest of the line is its value.
		name := words[0]
		if len(words) < 2 {
			return nil, fmt.Errorf("%s must have two arguments", instr)
		}
		raw := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), first))
		val, err := splitWords(raw, env)
		if err != nil {
			return nil, err
		}
		return [][2]string{{name, strings.Join(val, " ")}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("Syntax error - can't find = in %q. Must be of the form: name=value", w)
		}
		if k == "" {
			return nil, fmt.Errorf("%s names can not be blank", instr)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func lookupEnv(env []string, k string) string {
	for _, e := range env {
		if name, v, _ := strings.Cut(e, "="); name == k {
			return v
		}
	}
	return ""
}

// splitWords splits like the Dockerfile shell lexer: whitespace separates,
// quotes group, backslash escapes, $VAR and ${VAR} expand from env except
// inside single quotes.
func splitWords(s string, env []string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unexpected end of statement while looking for matching single-quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$", s[i+1]) >= 0 {
					i++
					cur.WriteByte(s[i])
				} else if s[i] == '$' {
					n := expand(s[i:], env, &cur)
					i += n - 1
				} else {
					cur.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unexpected end of statement while looking for matching double-quote")
			}
			inWord = true
		case c == '$':
			n := expand(s[i:], env, &cur)
			i += n - 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// expand writes the expansion of the variable reference at the start of s
// and returns how many bytes it used.
func expand(s string, env []string, w *strings.Builder) int {
	if len(s) > 1 && s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			w.WriteString(s)
			return len(s)
		}
		inner := s[2:end]
		name, def, hasDef := strings.Cut(inner, ":-")
		v := lookupEnv(env, name)
		if v == "" && hasDef {
			v = def
		}
		if alt, ok := strings.CutPrefix(inner, name+":+"); ok && !hasDef {
			v = ""
			if lookupEnv(env, name) != "" {
				v = alt
			}
		}
		w.WriteString(v)
		return end + 1
	}
	n := 1
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || n > 1 && s[n] >= '0' && s[n] <= '9') {
		n++
	}
	if n == 1 {
		w.WriteByte('$')
		return 1
	}
	w.WriteString(lookupEnv(env, s[1:n]))
	return n
}

// parsePorts expands "80", "80/udp", "8000-8002/tcp" to "port/proto" keys.
func parsePorts(spec string) ([]string, error) {
	p, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(p, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid containerPort: %s", p)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, fmt.Errorf("invalid containerPort: %s", p)
		}
	}
	var out []string
	for i := start; i <= end; i++ {
		out = append(out, fmt.Sprintf("%d/%s", i, proto))
	}
	return out, nil
}

var signalNames = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CONT": true, "FPE": true, "HUP": true, "ILL": true,
	"INT": true, "IO": true, "IOT": true, "KILL": true, "PIPE": true, "POLL": true, "PROF": true, "PWR": true,
	"QUIT": true, "SEGV": true, "STKFLT": true, "STOP": true, "SYS": true, "TERM": true, "TRAP": true, "TSTP": true,
	"TTIN": true, "TTOU": true, "URG": true, "USR1": true, "USR2": true, "VTALRM": true, "WINCH": true, "XCPU": true, "XFSZ": true,
}

func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n > 0 && n <= 64
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if signalNames[name] {
		return true
	}
	if r, ok := strings.CutPrefix(name, "RTMIN"); ok {
		n, err := strconv.Atoi(strings.TrimPrefix(r, "+"))
		return r == "" || err == nil && n >= 0 && n <= 15
	}
	if r, ok := strings.CutPrefix(name, "RTMAX"); ok {
		n, err := strconv.Atoi(strings.TrimPrefix(r, "-"))
		return r == "" || err == nil && n >= 0 && n <= 15
	}
	return false
}

func parseHealthcheck(cfg *dockerspec.DockerOCIImageConfig, rest string) (*dockerspec.HealthcheckConfig, error) {
	hc := &dockerspec.HealthcheckConfig{}
	for strings.HasPrefix(rest, "--") {
		flag, tail, _ := strings.Cut(rest, " ")
		rest = strings.TrimSpace(tail)
		k, v, ok := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
		if !ok {
			return nil, fmt.Errorf("missing a value on flag: %s", flag)
		}
		var d time.Duration
		var err error
		if k != "retries" {
			if d, err = time.ParseDuration(v); err != nil {
				return nil, fmt.Errorf("Error parsing %s: %w", k, err)
			}
		}
		switch k {
		case "interval":
			hc.Interval = d
		case "timeout":
			hc.Timeout = d
		case "start-period":
			hc.StartPeriod = d
		case "start-interval":
			hc.StartInterval = d
		case "retries":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("--retries must be at least 0")
			}
			hc.Retries = n
		default:
			return nil, fmt.Errorf("unknown flag: %s", k)
		}
	}
	kind, args, _ := strings.Cut(rest, " ")
	switch strings.ToUpper(kind) {
	case "NONE":
		if strings.TrimSpace(args) != "" {
			return nil, fmt.Errorf("HEALTHCHECK NONE takes no arguments")
		}
		return &dockerspec.HealthcheckConfig{Test: []string{"NONE"}}, nil
	case "CMD":
		args = strings.TrimSpace(args)
		var argv []string
		if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &argv) == nil {
			hc.Test = append([]string{"CMD"}, argv...)
		} else {
			hc.Test = []string{"CMD-SHELL", args}
		}
		return hc, nil
	}
	return nil, fmt.Errorf("Unknown type %q in HEALTHCHECK (try CMD)", kind)
}

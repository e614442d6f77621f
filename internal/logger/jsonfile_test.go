package logger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newLog(t *testing.T, maxSize int64, maxFiles int) (*JSONFile, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := NewJSONFile(path, maxSize, maxFiles)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

type rawEntry struct {
	Log    string `json:"log"`
	Stream string `json:"stream"`
	Time   string `json:"time"`
}

func readRaw(t *testing.T, path string) []rawEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []rawEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e rawEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad entry %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestCopySplitsLines(t *testing.T) {
	long := strings.Repeat("x", 2*maxLine+100)
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"empty", "", nil},
		{"one line", "hello\n", []string{"hello\n"}},
		{"no final newline", "a\nb", []string{"a\n", "b"}},
		{"empty lines", "\n\n", []string{"\n", "\n"}},
		{"long line split", long + "\n", []string{long[:maxLine], long[maxLine : 2*maxLine], long[2*maxLine:] + "\n"}},
		{"exactly max", strings.Repeat("y", maxLine) + "\n", []string{strings.Repeat("y", maxLine) + "\n"}},
		{"escapes", "q\"b\\t\tc\r\x01<>&\n", []string{"q\"b\\t\tc\r\x01<>&\n"}},
		{"utf8", "héllo 世界 \u2028\n", []string{"héllo 世界 \u2028\n"}},
		{"invalid utf8", "a\xffb\n", []string{"a\ufffdb\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, path := newLog(t, 0, 1)
			// A reader that hands out tiny pieces exercises reassembly.
			if err := l.Copy("stdout", &trickle{r: strings.NewReader(tc.input), n: 7}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range readRaw(t, path) {
				if e.Stream != "stdout" {
					t.Errorf("stream %q", e.Stream)
				}
				if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || len(e.Time) != len("2006-01-02T15:04:05.000000000Z") {
					t.Errorf("time %q: %v", e.Time, err)
				}
				got = append(got, e.Log)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFormatIsDockers(t *testing.T) {
	l, path := newLog(t, 0, 1)
	if err := l.Copy("stderr", strings.NewReader("hello\n")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	s := string(b)
	if !strings.HasPrefix(s, `{"log":"hello\n","stream":"stderr","time":"`) || !strings.HasSuffix(s, "Z\"}\n") {
		t.Fatalf("unexpected entry %q", s)
	}
}

type trickle struct {
	r io.Reader
	n int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(p) > t.n {
		p = p[:t.n]
	}
	return t.r.Read(p)
}

func TestAppendJSONStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "\x00\x1f\x7f", "\"\\/", "ünï", "\xc3", "\xed\xa0\x80", "a\u2029b", "\t\n\r\b\f"} {
		b := appendJSONString(nil, []byte(s))
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if s == "\xed\xa0\x80" { // a surrogate: each byte is invalid
			want = "\ufffd\ufffd\ufffd"
		}
		if got != want {
			t.Errorf("%q -> %s -> %q, want %q", s, b, got, want)
		}
	}
}

func TestConcurrentCopy(t *testing.T) {
	l, path := newLog(t, 0, 1)
	const n = 2000
	var wg sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, pw := io.Pipe()
			go func() {
				for i := range n {
					fmt.Fprintf(pw, "%s %d %s\n", stream, i, strings.Repeat("z", i%300))
				}
				pw.Close()
			}()
			if err := l.Copy(stream, pr); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	next := map[string]int{}
	var last string
	for _, e := range readRaw(t, path) {
		want := fmt.Sprintf("%s %d %s\n", e.Stream, next[e.Stream], strings.Repeat("z", next[e.Stream]%300))
		if e.Log != want {
			t.Fatalf("got %q want %q", e.Log, want)
		}
		next[e.Stream]++
		if e.Time < last {
			t.Fatalf("time went backwards: %s < %s", e.Time, last)
		}
		last = e.Time
	}
	if next["stdout"] != n || next["stderr"] != n {
		t.Fatalf("counts %v", next)
	}
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name     string
		maxFiles int
		wantFile []string
	}{
		{"one file", 1, []string{""}},
		{"three files", 3, []string{"", ".1", ".2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, path := newLog(t, 500, tc.maxFiles)
			var in bytes.Buffer
			for i := range 100 {
				fmt.Fprintf(&in, "line %03d\n", i)
			}
			if err := l.Copy("stdout", &in); err != nil {
				t.Fatal(err)
			}
			matches, _ := filepath.Glob(path + "*")
			if len(matches) != len(tc.wantFile) {
				t.Fatalf("files %v", matches)
			}
			for _, suffix := range tc.wantFile {
				st, err := os.Stat(path + suffix)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() > 500 {
					t.Errorf("%s is %d bytes", suffix, st.Size())
				}
			}
			// Everything kept reads back in order and ends with the last line.
			msgs := readAll(t, path, ReadConfig{Tail: -1})
			if got := string(msgs[len(msgs)-1].Line); got != "line 099\n" {
				t.Fatalf("last %q", got)
			}
			for i := 1; i < len(msgs); i++ {
				if string(msgs[i].Line) <= string(msgs[i-1].Line) {
					t.Fatalf("out of order: %q after %q", msgs[i].Line, msgs[i-1].Line)
				}
			}
		})
	}
}

func TestCopyKeepsDrainingAfterClose(t *testing.T) {
	l, _ := newLog(t, 0, 1)
	l.Close()
	r := strings.NewReader(strings.Repeat("data\n", 10000))
	if err := l.Copy("stdout", r); err == nil {
		t.Fatal("want error writing to closed log")
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes left unread", r.Len())
	}
}

func TestCopyReadError(t *testing.T) {
	l, path := newLog(t, 0, 1)
	boom := errors.New("boom")
	err := l.Copy("stdout", io.MultiReader(strings.NewReader("partial"), &errReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if e := readRaw(t, path); len(e) != 1 || e[0].Log != "partial" {
		t.Fatalf("entries %v", e)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func TestReopenAppends(t *testing.T) {
	l, path := newLog(t, 0, 1)
	l.Copy("stdout", strings.NewReader("one\n"))
	l.Close()
	l2, err := NewJSONFile(path, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	l2.Copy("stdout", strings.NewReader("two\n"))
	l2.Close()
	if e := readRaw(t, path); len(e) != 2 || e[1].Log != "two\n" {
		t.Fatalf("entries %v", e)
	}
}

func BenchmarkCopy(b *testing.B) {
	path := filepath.Join(b.TempDir(), "log")
	l, err := NewJSONFile(path, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	line := []byte(strings.Repeat("benchmark output ", 5) + "\n")
	data := bytes.Repeat(line, 1000)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if err := l.Copy("stdout", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

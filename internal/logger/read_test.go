package logger

import (
	"context"
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

func readAll(t testing.TB, path string, cfg ReadConfig) []Message {
	t.Helper()
	var out []Message
	err := Read(context.Background(), path, cfg, nil, func(m Message) error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func lines(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.Write(m.Line)
	}
	return b.String()
}

var base = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// writeEntries writes entries with known times: "line i" at base+i seconds,
// spread over rotated files as given (oldest file first).
func writeEntries(t *testing.T, path string, perFile ...int) {
	t.Helper()
	i := 0
	for f := range perFile {
		name := rotatedName(path, len(perFile)-1-f)
		var b []byte
		for range perFile[f] {
			b = append(b, `{"log":`...)
			b = appendJSONString(b, fmt.Appendf(nil, "line %d\n", i))
			b = append(b, `,"stream":"stdout","time":"`...)
			b = base.Add(time.Duration(i)*time.Second).AppendFormat(b, timeLayout)
			b = append(b, "\"}\n"...)
			i++
		}
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func want(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestReadBacklog(t *testing.T) {
	tests := []struct {
		name    string
		perFile []int // oldest file first; the last is the live file
		cfg     ReadConfig
		want    string
	}{
		{"all", []int{10}, ReadConfig{Tail: -1}, want(0, 10)},
		{"tail 0", []int{10}, ReadConfig{Tail: 0}, ""},
		{"tail 1", []int{10}, ReadConfig{Tail: 1}, want(9, 10)},
		{"tail 3", []int{10}, ReadConfig{Tail: 3}, want(7, 10)},
		{"tail all exact", []int{10}, ReadConfig{Tail: 10}, want(0, 10)},
		{"tail more than there is", []int{10}, ReadConfig{Tail: 100}, want(0, 10)},
		{"empty file", []int{0}, ReadConfig{Tail: 5}, ""},
		{"rotated all", []int{4, 3, 5}, ReadConfig{Tail: -1}, want(0, 12)},
		{"rotated tail within live", []int{4, 3, 5}, ReadConfig{Tail: 5}, want(7, 12)},
		{"rotated tail crosses files", []int{4, 3, 5}, ReadConfig{Tail: 9}, want(3, 12)},
		{"rotated tail everything", []int{4, 3, 5}, ReadConfig{Tail: 50}, want(0, 12)},
		{"rotated empty live", []int{4, 3, 0}, ReadConfig{Tail: 2}, want(5, 7)},
		{"since", []int{10}, ReadConfig{Tail: -1, Since: base.Add(6 * time.Second)}, want(6, 10)},
		{"until", []int{10}, ReadConfig{Tail: -1, Until: base.Add(3 * time.Second)}, want(0, 4)},
		{"since and until", []int{4, 6}, ReadConfig{Tail: -1, Since: base.Add(2 * time.Second), Until: base.Add(5*time.Second + time.Millisecond)}, want(2, 6)},
		{"tail then since", []int{10}, ReadConfig{Tail: 3, Since: base.Add(8 * time.Second)}, want(8, 10)},
		{"since after everything", []int{10}, ReadConfig{Tail: -1, Since: base.Add(time.Hour)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			writeEntries(t, path, tc.perFile...)
			if got := lines(readAll(t, path, tc.cfg)); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReadMissingIsEmpty(t *testing.T) {
	if got := readAll(t, filepath.Join(t.TempDir(), "nope"), ReadConfig{Tail: -1}); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
}

func TestReadSkipsTornAndKeepsPartial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	content := `{"log":"a\n","stream":"stdout","time":"2026-11-23T12:00:00.000000000Z"}` + "\n" +
		`{"log":"torn` + "\n" +
		`{"log":"part","stream":"stderr","time":"2026-11-23T12:00:01.000000000Z"}` + "\n" +
		`{"log":"incomplete at end`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	msgs := readAll(t, path, ReadConfig{Tail: -1})
	if len(msgs) != 2 || string(msgs[0].Line) != "a\n" || string(msgs[1].Line) != "part" || msgs[1].Stream != "stderr" {
		t.Fatalf("got %+v", msgs)
	}
	if !msgs[1].Time.Equal(base.Add(time.Second)) {
		t.Fatalf("time %v", msgs[1].Time)
	}
	// The incomplete last line does not count for tail either.
	if got := lines(readAll(t, path, ReadConfig{Tail: 1})); got != "part" {
		t.Fatalf("tail 1: %q", got)
	}
}

func TestReadLongLines(t *testing.T) {
	l, path := newLog(t, 0, 1)
	long := strings.Repeat("é", 3*maxLine) + "\n"
	if err := l.Copy("stdout", strings.NewReader(long+"short\n")); err != nil {
		t.Fatal(err)
	}
	msgs := readAll(t, path, ReadConfig{Tail: -1})
	if lines(msgs) != long+"short\n" {
		t.Fatal("long line did not round-trip")
	}
	if len(msgs) < 3 || strings.HasSuffix(string(msgs[0].Line), "\n") {
		t.Fatalf("want partial messages, got %d", len(msgs))
	}
}

func TestReadFnErrorStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeEntries(t, path, 10)
	boom := errors.New("boom")
	n := 0
	err := Read(context.Background(), path, ReadConfig{Tail: -1, Follow: true}, make(chan struct{}), func(Message) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 3 {
		t.Fatalf("err %v after %d", err, n)
	}
}

func TestFollowCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeEntries(t, path, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, path, ReadConfig{Tail: -1, Follow: true}, make(chan struct{}), func(Message) error { return nil })
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return after cancel")
	}
}

func TestFollowStoppedAlreadyClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeEntries(t, path, 3)
	stopped := make(chan struct{})
	close(stopped)
	var got []Message
	err := Read(context.Background(), path, ReadConfig{Tail: -1, Follow: true}, stopped, func(m Message) error {
		got = append(got, m)
		return nil
	})
	if err != nil || lines(got) != want(0, 3) {
		t.Fatalf("err %v got %q", err, lines(got))
	}
}

func TestFollowUntilInFuture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeEntries(t, path, 1)
	start := time.Now()
	err := Read(context.Background(), path, ReadConfig{Tail: -1, Follow: true, Until: start.Add(100 * time.Millisecond)}, make(chan struct{}), func(Message) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

// TestFollowDrainsEverything runs a writer that rotates often while a
// follower reads; once the writer is done and stopped is closed, the
// follower must have seen every line exactly once, in order.
func TestFollowDrainsEverything(t *testing.T) {
	tests := []struct {
		name     string
		maxSize  int64
		maxFiles int
		tail     int
		missing  bool // the follower starts before the log exists
	}{
		{"no rotation", 0, 1, -1, false},
		{"rotation", 4096, 1000, -1, false},
		{"rotation unlink", 0, 1, 0, false},
		{"log appears later", 2048, 1000, -1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			var l *JSONFile
			open := func() {
				var err error
				if l, err = NewJSONFile(path, tc.maxSize, tc.maxFiles); err != nil {
					t.Error(err)
				}
			}
			if !tc.missing {
				open()
			}
			const n = 3000
			stopped := make(chan struct{})
			var got strings.Builder
			var count int
			done := make(chan error, 1)
			go func() {
				done <- Read(context.Background(), path, ReadConfig{Tail: tc.tail, Follow: true}, stopped, func(m Message) error {
					got.Write(m.Line)
					count++
					return nil
				})
			}()
			time.Sleep(10 * time.Millisecond)
			if tc.missing {
				open()
			}
			var wg sync.WaitGroup
			var expect [2]strings.Builder
			for s, stream := range []string{"stdout", "stderr"} {
				wg.Add(1)
				pr, pw := io.Pipe()
				go func() {
					for i := range n {
						fmt.Fprintf(pw, "%s %d\n", stream, i)
						fmt.Fprintf(&expect[s], "%s %d\n", stream, i)
						if i%500 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
					pw.Close()
				}()
				go func() {
					defer wg.Done()
					if err := l.Copy(stream, pr); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			l.Close()
			close(stopped)
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("follower did not return after stop")
			}
			if tc.maxFiles == 1 && tc.maxSize == 0 || tc.maxFiles > 1 {
				if count != 2*n {
					t.Fatalf("got %d lines, want %d", count, 2*n)
				}
			}
			// Each stream's lines arrive in order.
			var per [2]strings.Builder
			for _, line := range strings.SplitAfter(got.String(), "\n") {
				if strings.HasPrefix(line, "stdout") {
					per[0].WriteString(line)
				} else if line != "" {
					per[1].WriteString(line)
				}
			}
			for s := range per {
				if per[s].String() != expect[s].String() {
					t.Fatalf("stream %d mismatch (%d vs %d bytes)", s, per[s].Len(), expect[s].Len())
				}
			}
		})
	}
}

// TestFollowRotationSmallRetention: with max-file 1 and a tiny size every
// write may unlink the file under the follower; it must keep up with the
// lines that are still readable and never hang or duplicate.
func TestFollowRotationSmallRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l, err := NewJSONFile(path, 300, 1)
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	seen := map[string]bool{}
	done := make(chan error, 1)
	go func() {
		done <- Read(context.Background(), path, ReadConfig{Tail: -1, Follow: true}, stopped, func(m Message) error {
			if seen[string(m.Line)] {
				return fmt.Errorf("duplicate %q", m.Line)
			}
			seen[string(m.Line)] = true
			return nil
		})
	}()
	for i := range 500 {
		l.Copy("stdout", strings.NewReader(fmt.Sprintf("line %d\n", i)))
	}
	l.Close()
	close(stopped)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !seen["line 499\n"] {
		t.Fatal("last line not seen")
	}
}

func TestFollowLatency(t *testing.T) {
	l, path := newLog(t, 0, 1)
	stopped := make(chan struct{})
	got := make(chan time.Time, 100)
	done := make(chan error, 1)
	go func() {
		done <- Read(context.Background(), path, ReadConfig{Tail: 0, Follow: true}, stopped, func(m Message) error {
			got <- time.Now()
			return nil
		})
	}()
	time.Sleep(20 * time.Millisecond)
	var worst time.Duration
	for range 20 {
		start := time.Now()
		l.Copy("stdout", strings.NewReader("ping\n"))
		select {
		case at := <-got:
			worst = max(worst, at.Sub(start))
		case <-time.After(2 * time.Second):
			t.Fatal("line never arrived")
		}
	}
	close(stopped)
	<-done
	t.Logf("worst follow latency %v", worst)
	if worst > 100*time.Millisecond {
		t.Fatalf("follow latency %v", worst)
	}
}

func BenchmarkRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "log")
	l, _ := NewJSONFile(path, 0, 1)
	l.Copy("stdout", strings.NewReader(strings.Repeat("some output line of moderate length\n", 10000)))
	l.Close()
	b.ResetTimer()
	for range b.N {
		n := 0
		Read(context.Background(), path, ReadConfig{Tail: -1}, nil, func(Message) error { n++; return nil })
		if n != 10000 {
			b.Fatal(n)
		}
	}
}

func BenchmarkFollowLatency(b *testing.B) {
	path := filepath.Join(b.TempDir(), "log")
	l, _ := NewJSONFile(path, 0, 1)
	defer l.Close()
	stopped := make(chan struct{})
	got := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- Read(context.Background(), path, ReadConfig{Tail: 0, Follow: true}, stopped, func(Message) error {
			got <- struct{}{}
			return nil
		})
	}()
	time.Sleep(20 * time.Millisecond)
	b.ResetTimer()
	for range b.N {
		l.Copy("stdout", strings.NewReader("ping\n"))
		<-got
	}
	b.StopTimer()
	close(stopped)
	<-done
}

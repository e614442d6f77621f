// Command netload measures a published port: C workers send N HTTP/1.0
// GETs in total (one connection each, as a short-lived client would) and
// it prints requests per second and latency percentiles. It is a bench
// helper for bench/net.sh, not part of berth.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to load")
	n := flag.Int("n", 2000, "requests in total")
	c := flag.Int("c", 4, "concurrent workers")
	flag.Parse()
	lat := make([]time.Duration, *n)
	var next, failed int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= *n {
					return
				}
				t0 := time.Now()
				if err := get(*addr); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	fmt.Printf("rps=%.0f p50_ms=%.2f p99_ms=%.2f failed=%d\n", float64(*n)/total.Seconds(), pct(0.5), pct(0.99), failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func get(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return err
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return err
	}
	if len(b) < 12 || string(b[9:12]) != "200" {
		return fmt.Errorf("bad response %q", b)
	}
	return nil
}

// Command pullgen pushes the pull benchmark's image to a registry: five
// gzip layers of files whose bytes come from a 16-symbol alphabet (about
// half compressible, like typical binaries and text), deterministic for a
// given seed, so every engine pulls the same bytes.
//
//	go run ./bench/pullgen -ref 127.0.0.1:5000/bench/pull:latest -mb 60
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	ref := flag.String("ref", "", "image reference to push (required)")
	layers := flag.Int("layers", 5, "number of layers")
	mb := flag.Int("mb", 60, "uncompressed MiB per layer")
	flag.Parse()
	if *ref == "" {
		log.Fatal("pullgen: -ref is required")
	}
	img := empty.Image
	var total int64
	for i := 0; i < *layers; i++ {
		data := layerTar(uint64(i+1), *mb<<20)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			log.Fatal(err)
		}
		sz, _ := l.Size()
		total += sz
		if img, err = mutate.AppendLayers(img, l); err != nil {
			log.Fatal(err)
		}
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/sh"}
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		log.Fatal(err)
	}
	tag, err := name.NewTag(*ref, name.Insecure)
	if err != nil {
		log.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		log.Fatal(err)
	}
	var _ v1.Image = img
	fmt.Println(total) // compressed bytes, for MB/s
	os.Exit(0)
}

// layerTar is a tar of 4 MiB files totalling size bytes.
func layerTar(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, seed*7919))
	const alphabet = "0123456789abcdef"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("layer%d/", seed), Typeflag: tar.TypeDir, Mode: 0o755})
	file := make([]byte, 4<<20)
	for n := 0; n*len(file) < size; n++ {
		for i := range file {
			file[i] = alphabet[r.IntN(16)]
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("layer%d/f%03d", seed, n), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(file))})
		tw.Write(file)
	}
	tw.Close()
	return buf.Bytes()
}

package imagearchive

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"berth/internal/archive"
	"berth/internal/errdefs"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var v1IDRe = regexp.MustCompile(`^[a-f0-9]{64}$`)

// v1Image is what the loader needs of a pre-1.10 <id>/json.
type v1Image struct {
	Parent          string     `json:"parent"`
	Created         *time.Time `json:"created"`
	Author          string     `json:"author"`
	Comment         string     `json:"comment"`
	ContainerConfig struct {
		Cmd []string
	} `json:"container_config"`
}

// legacyItems reads the layout Docker before 1.10 wrote: a repositories
// file naming each tag's top layer ID, and per layer <id>/json (a v1 image
// whose parent links give the chain) and <id>/layer.tar. The config is
// made from the top layer's JSON the way Docker converts it.
func legacyItems(sp *spool) ([]*loadItem, error) {
	raw, err := sp.read(reposFile)
	if err != nil {
		return nil, err
	}
	var repos map[string]map[string]string
	if err := json.Unmarshal(raw, &repos); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: %s: %w", reposFile, err))
	}
	var refs []string
	for name, tags := range repos {
		for tag := range tags {
			refs = append(refs, name+":"+tag)
		}
	}
	sort.Strings(refs)
	byID := map[string]*loadItem{}
	var items []*loadItem
	for _, ref := range refs {
		i := strings.LastIndex(ref, ":")
		id := repos[ref[:i]][ref[i+1:]]
		it := byID[id]
		if it == nil {
			if it, err = legacyItem(sp, id); err != nil {
				return nil, err
			}
			byID[id] = it
			items = append(items, it)
		}
		it.repoTags = append(it.repoTags, ref)
	}
	return items, nil
}

func legacyItem(sp *spool, top string) (*loadItem, error) {
	var ids []string
	var imgs []v1Image
	var topJSON []byte
	for cur := top; cur != ""; {
		if !v1IDRe.MatchString(cur) {
			return nil, errdefs.InvalidParameterf("invalid image archive: invalid layer ID %q", cur)
		}
		if len(ids) > 256 {
			return nil, errdefs.InvalidParameterf("invalid image archive: the parent chain of %s is too long or loops", top)
		}
		raw, err := sp.read(cur + "/json")
		if err != nil {
			return nil, err
		}
		var v v1Image
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: %s/json: %w", cur, err))
		}
		if topJSON == nil {
			topJSON = raw
		}
		ids, imgs = append([]string{cur}, ids...), append([]v1Image{v}, imgs...)
		cur = v.Parent
	}
	it := &loadItem{}
	rootfs := ocispec.RootFS{Type: "layers"}
	var history []ocispec.History
	for i, id := range ids {
		layer := id + "/layer.tar"
		d, err := diffIDOf(sp, layer)
		if err != nil {
			return nil, err
		}
		it.layers = append(it.layers, layer)
		rootfs.DiffIDs = append(rootfs.DiffIDs, d)
		v := imgs[i]
		history = append(history, ocispec.History{Created: v.Created, Author: v.Author, CreatedBy: strings.Join(v.ContainerConfig.Cmd, " "), Comment: v.Comment})
	}
	cfg, err := configFromV1(topJSON, rootfs, history)
	if err != nil {
		return nil, err
	}
	it.config = cfg
	return it, nil
}

// configFromV1 is the top layer's v1 JSON without its v1 identity fields,
// with the rootfs and history of the chain.
func configFromV1(v1 []byte, rootfs ocispec.RootFS, history []ocispec.History) ([]byte, error) {
	var c map[string]json.RawMessage
	if err := json.Unmarshal(v1, &c); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: %w", err))
	}
	for _, k := range []string{"id", "parent", "Size", "parent_id", "layer_id", "throwaway"} {
		delete(c, k)
	}
	var err error
	if c["rootfs"], err = json.Marshal(rootfs); err != nil {
		return nil, errdefs.System(err)
	}
	if c["history"], err = json.Marshal(history); err != nil {
		return nil, errdefs.System(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, errdefs.System(err)
	}
	return b, nil
}

// diffIDOf digests a layer file as it will be stored (decompressed).
func diffIDOf(sp *spool, name string) (digest.Digest, error) {
	p, ok := sp.lookup(name)
	if !ok {
		return "", missing(name)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", errdefs.System(err)
	}
	defer f.Close()
	dr, err := archive.DecompressStream(f)
	if err != nil {
		return "", errdefs.InvalidParameter(fmt.Errorf("invalid layer %s: %w", name, err))
	}
	defer dr.Close()
	h := sha256.New()
	if _, err := io.Copy(h, dr); err != nil {
		return "", errdefs.InvalidParameter(fmt.Errorf("invalid layer %s: %w", name, err))
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

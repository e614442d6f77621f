package api

import (
	"net/http"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"
)

// legacyImageInspect is image inspect as API versions before 1.52 shape
// it, in Docker's field order: Parent and DockerVersion (always present),
// Container and ContainerConfig before 1.45, VirtualSize before 1.44.
type legacyImageInspect struct {
	ID              string `json:"Id"`
	RepoTags        []string
	RepoDigests     []string
	Parent          string
	Comment         string
	Created         string                           `json:",omitempty"`
	Container       *string                          `json:",omitempty"`
	ContainerConfig *dockerspec.DockerOCIImageConfig `json:",omitempty"`
	DockerVersion   string
	Author          string
	Config          *dockerspec.DockerOCIImageConfig
	Architecture    string
	Variant         string `json:",omitempty"`
	Os              string
	OsVersion       string `json:",omitempty"`
	Size            int64
	VirtualSize     *int64 `json:",omitempty"`
	GraphDriver     *storage.DriverData
	RootFS          apiimage.RootFS
	Metadata        apiimage.Metadata
}

// shapeImageInspect adapts inspect to the request's API version.
func (s *Server) shapeImageInspect(r *http.Request, resp *apiimage.InspectResponse) any {
	v := requestVersion(r.Context())
	if v == "" || compareVersions(v, "1.52") >= 0 || resp == nil {
		return resp
	}
	out := legacyImageInspect{
		ID: resp.ID, RepoTags: resp.RepoTags, RepoDigests: resp.RepoDigests, Comment: resp.Comment,
		Created: resp.Created, Author: resp.Author, Config: resp.Config, Architecture: resp.Architecture,
		Variant: resp.Variant, Os: resp.Os, OsVersion: resp.OsVersion, Size: resp.Size,
		GraphDriver: resp.GraphDriver, RootFS: resp.RootFS, Metadata: resp.Metadata,
	}
	if s.b.ImageArchive != nil {
		out.Parent, _ = s.b.ImageArchive.Parent(r.Context(), resp.ID)
	}
	if compareVersions(v, "1.45") < 0 {
		empty := ""
		out.Container, out.ContainerConfig = &empty, &dockerspec.DockerOCIImageConfig{}
	}
	if compareVersions(v, "1.44") < 0 {
		size := resp.Size
		out.VirtualSize = &size
	}
	return out
}

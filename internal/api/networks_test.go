package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

type fakeNetworks struct{}

func (fakeNetworks) Create(_ context.Context, req apinet.CreateRequest) (apinet.CreateResponse, error) {
	if req.Name == "dup" {
		return apinet.CreateResponse{}, errdefs.Conflictf("network with name dup already exists")
	}
	if req.IPAM != nil && len(req.IPAM.Config) > 0 {
		return apinet.CreateResponse{}, errdefs.Forbidden(errorString("invalid pool request: Pool overlaps with other one on this address space"))
	}
	return apinet.CreateResponse{ID: "n1"}, nil
}
func (fakeNetworks) List(context.Context, backend.Filters) ([]apinet.Summary, error) {
	return []apinet.Summary{{Network: apinet.Network{Name: "bridge"}}}, nil
}
func (fakeNetworks) Inspect(_ context.Context, ref string) (apinet.Inspect, error) {
	if ref != "app" {
		return apinet.Inspect{}, errdefs.NotFoundf("network %s not found", ref)
	}
	return apinet.Inspect{Network: apinet.Network{Name: "app"}}, nil
}
func (fakeNetworks) Remove(_ context.Context, ref string) error {
	switch ref {
	case "bridge":
		return errdefs.Forbidden(errorString("bridge is a pre-defined network and cannot be removed"))
	case "app":
		return errdefs.Forbidden(errorString("error while removing network: network app has active endpoints"))
	}
	return errdefs.NotFoundf("network %s not found", ref)
}
func (fakeNetworks) Prune(context.Context, backend.Filters) (apinet.PruneReport, error) {
	return apinet.PruneReport{NetworksDeleted: []string{}}, nil
}
func (fakeNetworks) Connect(_ context.Context, ref string, _ apinet.ConnectRequest) error {
	if ref != "app" {
		return errdefs.NotFoundf("network %s not found", ref)
	}
	return nil
}
func (fakeNetworks) Disconnect(context.Context, string, apinet.DisconnectRequest) error { return nil }

// inspectWithBridge is a container backend whose inspect has a default
// bridge endpoint, for the legacy NetworkSettings fields.
type inspectWithBridge struct{ fakeContainers }

func (inspectWithBridge) Inspect(context.Context, string, bool) (*apicontainer.InspectResponse, error) {
	return &apicontainer.InspectResponse{ID: "abc", NetworkSettings: &apicontainer.NetworkSettings{
		Networks: map[string]*apinet.EndpointSettings{"bridge": {IPAddress: netip.MustParseAddr("172.17.0.2"),
			Gateway: netip.MustParseAddr("172.17.0.1"), IPPrefixLen: 16}}}}, nil
}

func TestNetworkRoutes(t *testing.T) {
	s := New(Backends{Containers: &inspectWithBridge{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}, Networks: fakeNetworks{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"list", "GET", "/networks", "", 200, `"Name":"bridge"`},
		{"list bad filters", "GET", "/networks?filters=%7B", "", 400, "invalid filter"},
		{"inspect", "GET", "/v1.50/networks/app", "", 200, `"Name":"app"`},
		{"inspect unknown", "GET", "/networks/nosuch", "", 404, "network nosuch not found"},
		{"create", "POST", "/networks/create", `{"Name":"x"}`, 201, `"Id":"n1"`},
		{"create bad json", "POST", "/networks/create", `{`, 400, "invalid JSON"},
		{"create duplicate", "POST", "/networks/create", `{"Name":"dup"}`, 409, "already exists"},
		{"create overlap", "POST", "/networks/create", `{"Name":"o","IPAM":{"Config":[{"Subnet":"10.0.0.0/24"}]}}`, 403, "Pool overlaps with other one on this address space"},
		{"rm predefined", "DELETE", "/networks/bridge", "", 403, "pre-defined network"},
		{"rm in use", "DELETE", "/networks/app", "", 403, "has active endpoints"},
		{"rm unknown", "DELETE", "/networks/zz", "", 404, "network zz not found"},
		{"connect", "POST", "/networks/app/connect", `{"Container":"abc"}`, 200, ""},
		{"connect no container", "POST", "/networks/app/connect", `{}`, 400, "container must be specified"},
		{"connect unknown network", "POST", "/networks/zz/connect", `{"Container":"abc"}`, 404, "network zz not found"},
		{"disconnect", "POST", "/networks/app/disconnect", `{"Container":"abc"}`, 200, ""},
		{"prune", "POST", "/networks/prune", "", 200, `"NetworksDeleted":[]`},
		{"legacy fields for old clients", "GET", "/v1.43/containers/abc/json", "", 200, `"IPAddress":"172.17.0.2"`},
		{"no legacy fields now", "GET", "/v1.56/containers/abc/json", "", 200, `"Networks":{"bridge"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.body == "" {
				req.Body = http.NoBody
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.msg != "" && !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
			if tt.name == "no legacy fields now" && strings.Contains(rec.Body.String(), `"SecondaryIPAddresses"`) {
				t.Fatalf("legacy fields at 1.56: %s", rec.Body)
			}
		})
	}
}

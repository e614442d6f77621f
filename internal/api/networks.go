package api

import (
	"context"
	"encoding/json"
	"net/http"

	apicontainer "github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// NetworkBackend is what the network routes need.
type NetworkBackend interface {
	Create(ctx context.Context, req apinet.CreateRequest) (apinet.CreateResponse, error)
	List(ctx context.Context, f backend.Filters) ([]apinet.Summary, error)
	Inspect(ctx context.Context, ref string) (apinet.Inspect, error)
	Remove(ctx context.Context, ref string) error
	Prune(ctx context.Context, f backend.Filters) (apinet.PruneReport, error)
	Connect(ctx context.Context, ref string, req apinet.ConnectRequest) error
	Disconnect(ctx context.Context, ref string, req apinet.DisconnectRequest) error
}

// networkedCreator is the optional ability of a container backend to take
// the create request's NetworkingConfig.
type networkedCreator interface {
	CreateNetworked(ctx context.Context, name string, cfg *apicontainer.Config, hc *apicontainer.HostConfig, nc *apinet.NetworkingConfig) (backend.CreateResult, error)
}

// NetworkRoutes registers /networks when b is not nil; the server's New
// calls it with the Networks backend.
func (s *Server) networkRoutes() {
	if s.b.Networks == nil {
		return
	}
	s.handle("GET /networks", s.getNetworks)
	s.handle("GET /networks/{id}", s.getNetwork)
	s.handle("POST /networks/create", s.postNetworksCreate)
	s.handle("POST /networks/prune", s.postNetworksPrune)
	s.handle("DELETE /networks/{id}", s.deleteNetwork)
	s.handle("POST /networks/{id}/connect", s.postNetworkConnect)
	s.handle("POST /networks/{id}/disconnect", s.postNetworkDisconnect)
}

func (s *Server) getNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	list, err := s.b.Networks.List(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := s.b.Networks.Inspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

func (s *Server) postNetworksCreate(w http.ResponseWriter, r *http.Request) error {
	var req apinet.CreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	resp, err := s.b.Networks.Create(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) postNetworksPrune(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := s.b.Networks.Prune(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) deleteNetwork(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Networks.Remove(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postNetworkConnect(w http.ResponseWriter, r *http.Request) error {
	var req apinet.ConnectRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return errdefs.InvalidParameterf("container must be specified")
	}
	if err := s.b.Networks.Connect(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) postNetworkDisconnect(w http.ResponseWriter, r *http.Request) error {
	var req apinet.DisconnectRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return errdefs.InvalidParameterf("container must be specified")
	}
	if err := s.b.Networks.Disconnect(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// createContainer passes the NetworkingConfig on when the backend can
// take it.
func (s *Server) createContainer(ctx context.Context, name string, req apicontainer.CreateRequest) (backend.CreateResult, error) {
	if nc, ok := s.b.Containers.(networkedCreator); ok {
		return nc.CreateNetworked(ctx, name, req.Config, req.HostConfig, req.NetworkingConfig)
	}
	return s.b.Containers.Create(ctx, name, req.Config, req.HostConfig)
}

// legacyNetworkSettings adds the top-level NetworkSettings fields that
// API versions before 1.52 carry (taken from the default bridge endpoint,
// as dockerd does), for clients and templates that still read them.
func legacyNetworkSettings(ctx context.Context, resp *apicontainer.InspectResponse) any {
	if resp == nil || resp.NetworkSettings == nil || compareVersions(requestVersion(ctx), "1.52") >= 0 {
		return resp
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return resp
	}
	var doc map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return resp
	}
	ns, _ := doc["NetworkSettings"].(map[string]any)
	if ns == nil {
		return resp
	}
	legacy := map[string]any{"Bridge": "", "HairpinMode": false, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
		"SecondaryIPAddresses": nil, "SecondaryIPv6Addresses": nil, "EndpointID": "", "Gateway": "",
		"GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": ""}
	if ep := resp.NetworkSettings.Networks["bridge"]; ep != nil && ep.IPAddress.IsValid() {
		legacy["EndpointID"] = ep.EndpointID
		legacy["Gateway"] = ep.Gateway.String()
		legacy["IPAddress"] = ep.IPAddress.String()
		legacy["IPPrefixLen"] = ep.IPPrefixLen
		legacy["MacAddress"] = ep.MacAddress.String()
	}
	for k, v := range legacy {
		if _, ok := ns[k]; !ok {
			ns[k] = v
		}
	}
	return doc
}

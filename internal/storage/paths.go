package storage

// Optional driver abilities, found by type assertion.

// DiffPather is a driver whose read-only layers are directories holding
// the files the layer's tar extracted to (overlay's diff/, vfs's copy), so
// a layer tar can be reassembled from them.
type DiffPather interface {
	DiffPath(id string) (string, error)
}

// MetadataReporter is a driver that describes a layer the way `docker
// inspect` shows it in GraphDriver.Data (overlay2: LowerDir, MergedDir,
// UpperDir, WorkDir).
type MetadataReporter interface {
	Metadata(id string) (map[string]string, error)
}

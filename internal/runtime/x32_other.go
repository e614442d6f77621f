//go:build !amd64

package runtime

func x32Supported() bool { return false }

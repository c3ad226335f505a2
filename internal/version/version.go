// Package version reports the build's version, set at link time.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release version, set with
// -ldflags "-X github.com/secretbridge/secretbridge/internal/version.Version=v1.2.3".
var Version = "dev"

// String returns the version with the commit and Go version the binary was built from.
func String() string {
	commit := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				commit = s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("secretbridge %s (commit %s, %s, %s/%s)", Version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

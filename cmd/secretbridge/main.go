// Command secretbridge runs the secretbridge controller and its user commands.
// Installed as kubectl-secretbridge it is also a kubectl plugin.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/secretbridge/secretbridge/internal/cli"
)

func main() {
	root := cli.NewRoot()
	if filepath.Base(os.Args[0]) == "kubectl-secretbridge" {
		// kubectl runs plugins by this name; say so in usage lines.
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl secretbridge"}
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

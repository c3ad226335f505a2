// Command secretbridge runs the secretbridge controller and its user commands.
// Installed as kubectl-secretbridge it is also a kubectl plugin.
package main

import (
	"fmt"
	"os"

	"github.com/secretbridge/secretbridge/internal/cli"
)

func main() {
	if err := cli.NewRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// Package cli holds the secretbridge command line: the controller process and
// the user-facing commands. The same binary works as the kubectl plugin
// kubectl-secretbridge.
package cli

import (
	"github.com/spf13/cobra"
)

// NewRoot returns the secretbridge command with all subcommands.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "secretbridge",
		Short: "Keep Kubernetes Secrets in sync with external secret managers",
		Long: `secretbridge keeps Kubernetes Secrets in sync with Vault, AWS, Google Cloud,
Azure and other clusters, using the external-secrets.io API.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newControllerCommand(), newVersionCommand(),
		newDoctorCommand(), newSyncCommand(), newRenderCommand(), newStatusCommand())
	return root
}

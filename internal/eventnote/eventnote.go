// Package eventnote fits text into the note of a Kubernetes event.
//
// The events.k8s.io/v1 API refuses an event whose note is longer than 1 KiB,
// and the recorder drops such an event without telling anyone. A sync error
// that names its cause in full (every failed key, the Vault path, the policy
// line) easily passes that limit, so every note goes through Fit.
package eventnote

import "unicode/utf8"

// MaxBytes is the API server's limit on events.k8s.io/v1 Event.note.
const MaxBytes = 1024

const ellipsis = " …(truncated; the full message is in the object's status)"

// Fit returns s unchanged when it fits into MaxBytes, and otherwise cuts it at
// a rune boundary and says where the full text is.
func Fit(s string) string {
	if len(s) <= MaxBytes {
		return s
	}
	cut := MaxBytes - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

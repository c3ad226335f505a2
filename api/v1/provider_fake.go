package v1

// ValidationResult is the outcome a fake store reports when it is validated.
type ValidationResult int

// The validation results.
const (
	// ValidationResultReady reports the store as valid. The default.
	ValidationResultReady ValidationResult = iota
	// ValidationResultUnknown reports that validation is not possible.
	ValidationResultUnknown
	// ValidationResultError reports a failed validation.
	ValidationResultError
)

// FakeProvider serves fixed data from memory, for examples and tests.
type FakeProvider struct {
	// data are the secrets the store serves.
	// +required
	Data []FakeProviderData `json:"data"`

	// validationResult is the outcome reported when the store is validated:
	// 0 (Ready), 1 (Unknown) or 2 (Error). When omitted, 0.
	// +optional
	ValidationResult *ValidationResult `json:"validationResult,omitempty"`
}

// FakeProviderData is one secret of a fake store.
type FakeProviderData struct {
	// key is the remote key the secret is served under.
	// +required
	Key string `json:"key"`

	// value is the secret's value; a JSON object can be read by property.
	// +required
	Value string `json:"value"`

	// version is the version the value is served under. When omitted, the
	// value is served for any requested version.
	// +optional
	Version string `json:"version,omitempty"`
}

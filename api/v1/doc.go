// Package v1 holds the external-secrets.io API types served by secretbridge.
// The same types generate the v1 (storage) and v1beta1 CRD schemas.
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
package v1

package v1

// StoreSpec returns the store's spec.
func (s *SecretStore) StoreSpec() *SecretStoreSpec { return &s.Spec }

// StoreStatus returns the store's status.
func (s *SecretStore) StoreStatus() *SecretStoreStatus { return &s.Status }

// StoreKind returns "SecretStore".
func (s *SecretStore) StoreKind() string { return string(SecretStoreKindSecretStore) }

// StoreSpec returns the store's spec.
func (s *ClusterSecretStore) StoreSpec() *SecretStoreSpec { return &s.Spec }

// StoreStatus returns the store's status.
func (s *ClusterSecretStore) StoreStatus() *SecretStoreStatus { return &s.Status }

// StoreKind returns "ClusterSecretStore".
func (s *ClusterSecretStore) StoreKind() string { return string(SecretStoreKindClusterSecretStore) }

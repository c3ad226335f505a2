//go:build tools

// Package tools pins the Kubernetes and etcd binaries the tests run. It is a
// separate module so their dependencies never enter the product's go.mod.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)

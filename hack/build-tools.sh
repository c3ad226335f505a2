#!/usr/bin/env bash
# Builds the real servers and tools the tests run (kube-apiserver,
# kube-controller-manager, kubectl, etcd, vault, helm) from pinned Go modules
# under hack/tools/, into a cache outside the checkout keyed by name, version
# and the tools module's go.sum, and links them into the git-ignored bin/. A
# tool is rebuilt only when its cache entry is missing, so a fresh clone on a
# warm machine links in seconds.
#
# Usage: hack/build-tools.sh [tool...]   (default: all)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SECRETBRIDGE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretbridge/tools}
mkdir -p "$root/bin" "$cache"

kube_version=v1.37.2
etcd_version=v3.7.0
vault_version=v1.21.0
helm_version=v3.22.0

# helm's version and the Kubernetes version `helm template`/`helm lint`
# assume are linker variables (as in helm's own Makefile); unset, they are
# "v3.22" and Kubernetes 1.20, which fails a chart's kubeVersion check.
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
helm_ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
helm_ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37"

kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${kube_version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"

# build NAME VERSION MODULE_DIR PACKAGE [LDFLAGS]
build() {
	local name=$1 version=$2 moddir=$3 pkg=$4 ldflags=${5:-"-s -w"}
	local sum
	sum=$(cat "$root/hack/tools/$moddir/go.mod" "$root/hack/tools/$moddir/go.sum" | sha256sum | cut -c1-12)
	local dir="$cache/$name-$version-$sum"
	if [ ! -x "$dir/$name" ]; then
		echo ">> building $name $version (cold build; cached in $dir)" >&2
		local start=$SECONDS
		mkdir -p "$dir.tmp"
		(cd "$root/hack/tools/$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir.tmp/$name" "$pkg")
		rm -rf "$dir" && mv "$dir.tmp" "$dir"
		echo ">> built $name in $((SECONDS - start))s" >&2
	fi
	ln -sfn "$dir/$name" "$root/bin/$name"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(etcd kube-apiserver kube-controller-manager kubectl vault helm)
for t in "${tools[@]}"; do
	case $t in
	etcd) build etcd "$etcd_version" kube go.etcd.io/etcd/server/v3 ;;
	kube-apiserver | kube-controller-manager | kubectl) build "$t" "$kube_version" kube "k8s.io/kubernetes/cmd/$t" "$kube_ldflags" ;;
	vault) build vault "$vault_version" vault github.com/hashicorp/vault ;;
	helm) build helm "$helm_version" helm helm.sh/helm/v3/cmd/helm "$helm_ldflags" ;;
	*) echo "unknown tool $t" >&2; exit 2 ;;
	esac
done

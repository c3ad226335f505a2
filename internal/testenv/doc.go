// Package testenv starts, once per test package, the real servers the tests
// run against: etcd and kube-apiserver (through controller-runtime's envtest,
// with the binaries that `make tools` builds into bin/), a kube-controller-manager
// running the garbage-collector and namespace controllers, and a Vault dev
// server whose Kubernetes auth method validates ServiceAccount tokens against
// that API server.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// and in tests:
//
//	env := testenv.Get(t)
//	ns := env.Namespace(t)
//
// Every process is started on free loopback ports and stopped when the tests
// end. If the test binary dies (a panic, a timeout, a kill), a small reaper
// process that holds the other end of a pipe kills them, so no server outlives
// its test package.
package testenv

// Package k8s holds no code: it is the home of the Kubernetes manifests
// (base/ and overlays/, kustomize) and of the test that checks them against
// the settings the binary reads (config.Keys).
package k8s

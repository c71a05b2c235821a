package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/intercom-sync/intercom-sync/internal/config"
)

// The manifests are rendered here by a small subset of kustomize rather
// than sigs.k8s.io/kustomize/api, whose dependency graph (kyaml,
// kube-openapi, …) would dwarf the service's. The subset is exactly what
// base/ and overlays/ use:
//
//   - resources: YAML files (several documents each) or directories with a
//     kustomization.yaml, rendered first;
//   - configMapGenerator: name + literals, behavior create (default),
//     merge or replace; the hash suffix kustomize appends to the name is
//     left out, references keep the plain name;
//   - patches: path only, the target found by the patch's kind and
//     metadata.name; merged like a strategic merge patch: maps merge key
//     by key (null deletes), lists of objects that all have a name
//     (containers, env, ports, volumes) merge by name, anything else is
//     replaced;
//   - images: name -> newName/newTag on every container image;
//   - replicas: name -> count on a Deployment.
//
// Any other kustomization field fails the test, so a manifest change the
// renderer does not understand is never checked wrongly in silence.
// `kubectl kustomize deploy/k8s/overlays/production` renders the same
// objects (plus the name hashes).

// apiDrain is how long `intercom-sync serve` lets requests finish after
// SIGTERM (http.Server.Shutdown in cmd/intercom-sync/service.go).
const apiDrain = 15

// secretEnv are the settings that must come from the Secret, never from a
// literal in a manifest or the ConfigMap.
var secretEnv = []string{
	"DATABASE_URL", "POSITIONS_DATABASE_URL", "MEMBERS_MYSQL_DSN",
	"INTERCOM_ACCESS_TOKEN", "INTERCOM_WEBHOOK_SECRET", "CLERK_WEBHOOK_SECRET", "LOOKUP_API_TOKEN",
	"PAYLOAD_ENCRYPTION_KEYS", "CODEC_AUTH_TOKEN",
}

// encryptingWorkloads write Temporal payloads, so under
// ENVIRONMENT_NAME=production (which refuses to start without
// PAYLOAD_ENCRYPTION_KEYS) they must get the keys from a required
// secretKeyRef (config.CheckPlaceholders).
var encryptingWorkloads = []struct{ name, container string }{
	{"intercom-sync-api", "api"}, {"intercom-sync-worker", "worker"},
}

// workloads are the containers the binary runs as, with the subcommand
// each must run and the settings that subcommand refuses to start without
// (runProcess and cmdMigrate in cmd/intercom-sync/service.go). The API
// starts without INTERCOM_WEBHOOK_SECRET but then answers every Intercom
// webhook 503, so the manifests must give it one (not optional).
var workloads = []struct {
	kind, name, container, command string
	required                       []string
}{
	{"Deployment", "intercom-sync-api", "api", "serve",
		[]string{"DATABASE_URL", "MEMBERS_MYSQL_DSN", "CLERK_WEBHOOK_SECRET", "INTERCOM_WEBHOOK_SECRET"}},
	{"Deployment", "intercom-sync-worker", "worker", "worker",
		[]string{"DATABASE_URL", "MEMBERS_MYSQL_DSN", "INTERCOM_ACCESS_TOKEN"}},
	{"Job", "intercom-sync-migrate", "migrate", "migrate", []string{"DATABASE_URL", "TEMPORAL_ADDRESS"}},
}

var overlays = []string{"overlays/staging", "overlays/production"}

// resource is one Kubernetes object and the file it was defined in.
type resource struct {
	obj  map[string]any
	file string
}

func (r *resource) kind() string { return str(r.obj, "kind") }
func (r *resource) name() string { return str(r.obj, "metadata", "name") }

// envSource is one environment variable a manifest file sets: an env
// entry of a container, or a ConfigMap literal that envFrom turns into one.
type envSource struct {
	name, file string
	entry      map[string]any // nil for a ConfigMap literal
}

// renderer renders kustomizations and remembers every env variable any
// file it read sets, so a bad one is reported with its file.
type renderer struct {
	env []envSource
}

// display names a file as from the repository root.
func display(path string) string { return filepath.ToSlash(filepath.Join("deploy/k8s", path)) }

func (rd *renderer) render(dir string) ([]*resource, error) {
	kfile := filepath.Join(dir, "kustomization.yaml")
	docs, err := readYAML(kfile)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: want one document, got %d", display(kfile), len(docs))
	}
	k := docs[0]
	for key := range k {
		switch key {
		case "apiVersion", "kind", "resources", "configMapGenerator", "patches", "images", "replicas":
		default:
			return nil, fmt.Errorf("%s: field %q is not supported by the test's renderer (see manifests_test.go)", display(kfile), key)
		}
	}
	var out []*resource
	for _, r := range list(k, "resources") {
		p := filepath.Join(dir, r.(string))
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			sub, err := rd.render(p)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		objs, err := readYAML(p)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			rd.collectEnv(o, display(p))
			out = append(out, &resource{obj: o, file: display(p)})
		}
	}
	for _, g := range list(k, "configMapGenerator") {
		if out, err = rd.generate(out, g.(map[string]any), display(kfile)); err != nil {
			return nil, err
		}
	}
	for _, p := range list(k, "patches") {
		pm := p.(map[string]any)
		if len(pm) != 1 || pm["path"] == nil {
			return nil, fmt.Errorf("%s: only patches with a path alone are supported, got %v", display(kfile), pm)
		}
		pfile := filepath.Join(dir, pm["path"].(string))
		patches, err := readYAML(pfile)
		if err != nil {
			return nil, err
		}
		for _, patch := range patches {
			rd.collectEnv(patch, display(pfile))
			target := find(out, str(patch, "kind"), str(patch, "metadata", "name"))
			if target == nil {
				return nil, fmt.Errorf("%s: no %s %q to patch", display(pfile), str(patch, "kind"), str(patch, "metadata", "name"))
			}
			target.obj = merge(target.obj, patch).(map[string]any)
		}
	}
	for _, im := range list(k, "images") {
		m := im.(map[string]any)
		for key := range m {
			if key != "name" && key != "newName" && key != "newTag" {
				return nil, fmt.Errorf("%s: images field %q is not supported", display(kfile), key)
			}
		}
		for _, r := range out {
			for _, c := range containers(r) {
				name := str(c, "image")
				// The tag follows the last colon after the last slash (a
				// registry host may have a port).
				if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
					name = name[:i]
				}
				if name != m["name"] {
					continue
				}
				if n, ok := m["newName"].(string); ok {
					name = n
				}
				image := name
				if tag, ok := m["newTag"].(string); ok {
					image += ":" + tag
				}
				c["image"] = image
			}
		}
	}
	for _, rep := range list(k, "replicas") {
		m := rep.(map[string]any)
		d := find(out, "Deployment", m["name"].(string))
		if d == nil {
			return nil, fmt.Errorf("%s: replicas for unknown Deployment %v", display(kfile), m["name"])
		}
		d.obj["spec"].(map[string]any)["replicas"] = m["count"]
	}
	return out, nil
}

// generate applies one configMapGenerator entry.
func (rd *renderer) generate(out []*resource, g map[string]any, kfile string) ([]*resource, error) {
	for key := range g {
		if key != "name" && key != "behavior" && key != "literals" {
			return nil, fmt.Errorf("%s: configMapGenerator field %q is not supported", kfile, key)
		}
	}
	name, _ := g["name"].(string)
	data := map[string]any{}
	for _, l := range list(g, "literals") {
		k, v, ok := strings.Cut(l.(string), "=")
		if !ok {
			return nil, fmt.Errorf("%s: literal %q is not KEY=VALUE", kfile, l)
		}
		data[k] = v
		rd.env = append(rd.env, envSource{name: k, file: kfile})
	}
	existing := find(out, "ConfigMap", name)
	switch behavior, _ := g["behavior"].(string); behavior {
	case "", "create":
		if existing != nil {
			return nil, fmt.Errorf("%s: ConfigMap %q exists already (behavior merge or replace?)", kfile, name)
		}
		obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name}, "data": data}
		return append(out, &resource{obj: obj, file: kfile}), nil
	case "merge", "replace":
		if existing == nil {
			return nil, fmt.Errorf("%s: no ConfigMap %q to %s", kfile, name, behavior)
		}
		if behavior == "merge" {
			old, _ := existing.obj["data"].(map[string]any)
			for k, v := range old {
				if _, ok := data[k]; !ok {
					data[k] = v
				}
			}
		}
		existing.obj["data"] = data
		return out, nil
	default:
		return nil, fmt.Errorf("%s: configMapGenerator behavior %q is not supported", kfile, behavior)
	}
}

// collectEnv records the env entries of every container in obj.
func (rd *renderer) collectEnv(obj map[string]any, file string) {
	for _, c := range containers(&resource{obj: obj}) {
		for _, e := range list(c, "env") {
			m, _ := e.(map[string]any)
			rd.env = append(rd.env, envSource{name: str(m, "name"), file: file, entry: m})
		}
		// envFrom is checked on the rendered objects (it needs the
		// ConfigMap); remember it as a source so secretRef is caught.
		for _, ef := range list(c, "envFrom") {
			if m, _ := ef.(map[string]any); m["secretRef"] != nil {
				rd.env = append(rd.env, envSource{name: "envFrom.secretRef", file: file, entry: m})
			}
		}
	}
}

func TestManifests(t *testing.T) {
	reads := map[string]bool{}
	for _, k := range config.Keys {
		reads[k.Env] = true
	}
	secretKeys := exampleSecretKeys(t)

	rd := &renderer{}
	sets := map[string][]*resource{}
	for _, dir := range append([]string{"base"}, overlays...) {
		objs, err := rd.render(dir)
		if err != nil {
			t.Fatalf("render %s: %v", display(dir), err)
		}
		sets[dir] = objs
	}

	// (1) and (3), per file, so a failure names where to fix it.
	seen := map[string]bool{}
	for _, e := range rd.env {
		id := e.file + "\x00" + e.name + "\x00" + fmt.Sprint(e.entry)
		if seen[id] {
			continue // a base file is read once per overlay
		}
		seen[id] = true
		if e.name == "envFrom.secretRef" {
			t.Errorf("%s: envFrom secretRef sets whatever the Secret holds; set each variable with env valueFrom.secretKeyRef", e.file)
			continue
		}
		if !reads[e.name] {
			t.Errorf("%s: env %s is not a setting the binary reads (config.Keys in internal/config/config.go)", e.file, e.name)
		}
		if !slices.Contains(secretEnv, e.name) {
			continue
		}
		if e.entry == nil {
			t.Errorf("%s: %s is a secret and must not be a ConfigMap literal; use env valueFrom.secretKeyRef", e.file, e.name)
			continue
		}
		ref, _ := get(e.entry, "valueFrom", "secretKeyRef").(map[string]any)
		if ref == nil || e.entry["value"] != nil {
			t.Errorf("%s: env %s is a secret and must come from valueFrom.secretKeyRef, not a literal value", e.file, e.name)
			continue
		}
		if key := str(ref, "key"); ref["name"] != "intercom-sync" || !secretKeys[key] {
			t.Errorf("%s: env %s reads Secret %v key %q; want Secret intercom-sync with a key listed in base/secret.example.yaml",
				e.file, e.name, ref["name"], key)
		}
	}

	for _, dir := range append([]string{"base"}, overlays...) {
		t.Run(dir, func(t *testing.T) { checkRendered(t, dir, sets[dir]) })
	}
}

// checkRendered checks one rendered kustomization: (2) required settings,
// (3) no Secret objects, (4) probes, plus shutdown and Service wiring.
func checkRendered(t *testing.T, dir string, objs []*resource) {
	for _, r := range objs {
		if r.kind() == "Secret" {
			t.Errorf("%s: Secret %s is part of the manifests; Secrets are created by hand (see base/secret.example.yaml)", r.file, r.name())
		}
	}
	for _, w := range workloads {
		r := find(objs, w.kind, w.name)
		if r == nil {
			t.Errorf("%s: no %s %s", display(dir), w.kind, w.name)
			continue
		}
		c := container(r, w.container)
		if c == nil {
			t.Errorf("%s: %s %s has no container %q", r.file, w.kind, w.name, w.container)
			continue
		}
		if args := list(c, "args"); len(args) == 0 || args[0] != w.command {
			t.Errorf("%s: %s %s runs %v, want `intercom-sync %s`", r.file, w.kind, w.name, args, w.command)
		}
		set := setEnv(t, objs, r, c)
		for _, name := range w.required {
			if !set[name] {
				t.Errorf("%s: %s %s does not set %s, which `intercom-sync %s` requires (or reads it from an optional secretKeyRef)",
					r.file, w.kind, w.name, name, w.command)
			}
		}
	}

	api := find(objs, "Deployment", "intercom-sync-api")
	if c := container(api, "api"); c != nil {
		for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
			got := str(c, probe, "httpGet", "path")
			if got != path {
				t.Errorf("%s: api %s path = %q, want %s", api.file, probe, got, path)
			}
			if port := get(c, probe, "httpGet", "port"); !hasPort(c, port) {
				t.Errorf("%s: api %s port %v is not a port of the container", api.file, probe, port)
			}
		}
		sleep, _ := get(c, "lifecycle", "preStop", "sleep", "seconds").(int)
		grace, _ := get(api.obj, "spec", "template", "spec", "terminationGracePeriodSeconds").(int)
		if sleep <= 0 || grace < sleep+apiDrain {
			t.Errorf("%s: api preStop sleep %d s, terminationGracePeriodSeconds %d; want a sleep and a grace period of at least sleep + %d s (the API's drain)",
				api.file, sleep, grace, apiDrain)
		}
	}
	if worker := find(objs, "Deployment", "intercom-sync-worker"); worker != nil {
		if c := container(worker, "worker"); c != nil {
			// The worker serves /healthz and /metrics on METRICS_ADDR only;
			// nothing is routed to it, so no readiness probe.
			if get(c, "readinessProbe") != nil {
				t.Errorf("%s: worker has a readinessProbe, but no traffic is routed to workers", worker.file)
			}
			if path, _ := get(c, "livenessProbe", "httpGet", "path").(string); path != "/healthz" {
				t.Errorf("%s: worker livenessProbe path %q, want /healthz", worker.file, path)
			}
			if port, _ := get(c, "livenessProbe", "httpGet", "port").(string); port != "metrics" {
				t.Errorf("%s: worker livenessProbe port %q, want the metrics port", worker.file, port)
			}
		}
	}
	if svc := find(objs, "Service", "intercom-sync-api"); svc == nil {
		t.Errorf("%s: no Service intercom-sync-api", display(dir))
	} else if api != nil {
		podLabels, _ := get(api.obj, "spec", "template", "metadata", "labels").(map[string]any)
		sel, _ := get(svc.obj, "spec", "selector").(map[string]any)
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("%s: Service selector %s=%v does not match the API pods (%v)", svc.file, k, v, podLabels)
			}
		}
		for _, p := range list(get(svc.obj, "spec").(map[string]any), "ports") {
			if pm := p.(map[string]any); !hasPort(container(api, "api"), pm["targetPort"]) {
				t.Errorf("%s: Service targetPort %v is not a port of the API container", svc.file, pm["targetPort"])
			}
		}
	}

	// (5) each kustomization names its environment: the overlays their
	// own, the base production (the strictest: placeholder secrets are
	// refused), so nothing is left to the binary's "development" default.
	want := "production"
	if strings.HasPrefix(dir, "overlays/") {
		want = filepath.Base(dir)
	}
	if cm := find(objs, "ConfigMap", "intercom-sync"); cm == nil {
		t.Errorf("%s: no ConfigMap intercom-sync", display(dir))
	} else if got, _ := get(cm.obj, "data", "ENVIRONMENT_NAME").(string); got != want || got == config.DevelopmentEnvironment {
		t.Errorf("%s: ENVIRONMENT_NAME = %q, want %q (unset, the binary would run as %s)",
			display(filepath.Join(dir, "kustomization.yaml")), got, want, config.DevelopmentEnvironment)
	}
	// (6) production encrypts the payloads: the keys come from the Secret,
	// and not optionally (setEnv leaves optional references out).
	if cm := find(objs, "ConfigMap", "intercom-sync"); cm != nil {
		if env, _ := get(cm.obj, "data", "ENVIRONMENT_NAME").(string); (config.Config{EnvironmentName: env}).Production() {
			for _, w := range encryptingWorkloads {
				r := find(objs, "Deployment", w.name)
				c := container(r, w.container)
				if c == nil {
					continue // reported above
				}
				if !setEnv(t, objs, r, c)["PAYLOAD_ENCRYPTION_KEYS"] || !fromSecret(c, "PAYLOAD_ENCRYPTION_KEYS") {
					t.Errorf("%s: %s runs with ENVIRONMENT_NAME=production but does not get PAYLOAD_ENCRYPTION_KEYS from a required secretKeyRef; it would refuse to start",
						display(dir), w.name)
				}
			}
		}
	}
	if strings.HasPrefix(dir, "overlays/") {
		for _, r := range objs {
			for _, c := range containers(r) {
				if image := str(c, "image"); !strings.Contains(image, ":") || strings.HasSuffix(image, ":latest") {
					t.Errorf("%s: %s %s image %q has no pinned tag", display(dir), r.kind(), r.name(), image)
				}
			}
		}
	}
}

// fromSecret reports whether the container's env entry name reads a key
// of the Secret intercom-sync.
func fromSecret(c map[string]any, name string) bool {
	for _, e := range list(c, "env") {
		m := e.(map[string]any)
		if str(m, "name") == name {
			ref, _ := get(m, "valueFrom", "secretKeyRef").(map[string]any)
			return ref != nil && ref["name"] == "intercom-sync"
		}
	}
	return false
}

// setEnv returns the names a container gets: env entries (a secretKeyRef
// marked optional does not count, it may be absent) and the keys of the
// ConfigMaps its envFrom names.
func setEnv(t *testing.T, objs []*resource, r *resource, c map[string]any) map[string]bool {
	set := map[string]bool{}
	for _, e := range list(c, "env") {
		m := e.(map[string]any)
		if opt, _ := get(m, "valueFrom", "secretKeyRef", "optional").(bool); opt {
			continue
		}
		set[str(m, "name")] = true
	}
	for _, ef := range list(c, "envFrom") {
		name := str(ef.(map[string]any), "configMapRef", "name")
		if name == "" {
			continue
		}
		cm := find(objs, "ConfigMap", name)
		if cm == nil {
			t.Errorf("%s: %s %s reads ConfigMap %q, which the manifests do not define", r.file, r.kind(), r.name(), name)
			continue
		}
		data, _ := cm.obj["data"].(map[string]any)
		for k := range data {
			set[k] = true
		}
	}
	return set
}

// exampleSecretKeys returns the keys of base/secret.example.yaml, and
// checks it is a Secret that no kustomization lists.
func exampleSecretKeys(t *testing.T) map[string]bool {
	t.Helper()
	docs, err := readYAML("base/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || str(docs[0], "kind") != "Secret" || str(docs[0], "metadata", "name") != "intercom-sync" {
		t.Fatalf("base/secret.example.yaml: want one Secret named intercom-sync")
	}
	keys := map[string]bool{}
	for k := range docs[0]["stringData"].(map[string]any) {
		keys[k] = true
	}
	for _, k := range secretEnv {
		if !keys[k] {
			t.Errorf("deploy/k8s/base/secret.example.yaml: no key %s", k)
		}
	}
	return keys
}

func TestRendererMergesLikeStrategicMerge(t *testing.T) {
	base := map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "a", "image": "x", "env": []any{
			map[string]any{"name": "K", "value": "1"}, map[string]any{"name": "L", "value": "2"}}},
		map[string]any{"name": "b", "image": "y"},
	}, "keep": "me", "drop": "me"}}
	patch := map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "a", "env": []any{map[string]any{"name": "L", "value": "3"}, map[string]any{"name": "M", "value": "4"}}},
	}, "drop": nil}}
	got := merge(base, patch)
	want := map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "a", "image": "x", "env": []any{
			map[string]any{"name": "K", "value": "1"}, map[string]any{"name": "L", "value": "3"}, map[string]any{"name": "M", "value": "4"}}},
		map[string]any{"name": "b", "image": "y"},
	}, "keep": "me"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merge =\n%v\nwant\n%v", got, want)
	}
}

// merge applies patch to dst (see the renderer's comment) and returns the
// result; dst is modified.
func merge(dst, patch any) any {
	if pm, ok := patch.(map[string]any); ok {
		dm, ok := dst.(map[string]any)
		if !ok {
			return patch
		}
		for k, v := range pm {
			switch cur, exists := dm[k]; {
			case v == nil:
				delete(dm, k)
			case exists:
				dm[k] = merge(cur, v)
			default:
				dm[k] = v
			}
		}
		return dm
	}
	pl, ok := patch.([]any)
	dl, ok2 := dst.([]any)
	if !ok || !ok2 || !named(pl) || !named(dl) {
		return patch
	}
	for _, p := range pl {
		name := p.(map[string]any)["name"]
		i := slices.IndexFunc(dl, func(d any) bool { return d.(map[string]any)["name"] == name })
		if i >= 0 {
			dl[i] = merge(dl[i], p)
		} else {
			dl = append(dl, p)
		}
	}
	return dl
}

// named reports whether every element is an object with a name.
func named(l []any) bool {
	for _, x := range l {
		m, ok := x.(map[string]any)
		if !ok || m["name"] == nil {
			return false
		}
	}
	return true
}

func readYAML(path string) ([]map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return docs, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", display(path), err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

func find(objs []*resource, kind, name string) *resource {
	for _, r := range objs {
		if r.kind() == kind && r.name() == name {
			return r
		}
	}
	return nil
}

// containers returns the containers and init containers of a workload's
// pod template (Deployment, Job), or of a pod spec patch.
func containers(r *resource) []map[string]any {
	var out []map[string]any
	for _, key := range []string{"containers", "initContainers"} {
		for _, c := range list(get(r.obj, "spec", "template", "spec"), key) {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func container(r *resource, name string) map[string]any {
	if r == nil {
		return nil
	}
	for _, c := range containers(r) {
		if c["name"] == name {
			return c
		}
	}
	return nil
}

// hasPort reports whether port (a number or a port name) is one of the
// container's ports.
func hasPort(c map[string]any, port any) bool {
	for _, p := range list(c, "ports") {
		pm := p.(map[string]any)
		if port == pm["name"] || port == pm["containerPort"] {
			return true
		}
	}
	return false
}

// get walks nested maps; nil if any step is missing.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// TestSettingsCoverage lists the settings no manifest sets, so a new
// config key is a conscious choice (defaults are fine for these).
func TestSettingsCoverage(t *testing.T) {
	rd := &renderer{}
	objs, err := rd.render("overlays/production")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, r := range objs {
		for _, c := range containers(r) {
			for _, e := range list(c, "env") {
				set[str(e.(map[string]any), "name")] = true
			}
		}
		if r.kind() == "ConfigMap" {
			for k := range r.obj["data"].(map[string]any) {
				set[k] = true
			}
		}
	}
	// Left to the binary's defaults on purpose.
	// RESYNC_TAG: agents are trained on the default tag; INTERCOM_ADMIN_ID:
	// unset, the access token's own admin (GET /me) removes the tag.
	// HTTP_*: the binary's defaults are the documented production limits
	// (README, "Configuration"). CODEC_CORS_ORIGINS: the default is the
	// Temporal UI reached through `kubectl port-forward` on its usual
	// port (localhost:8233); an operator adds the UI's own host.
	defaulted := map[string]bool{"CODEC_CORS_ORIGINS": true, "INTERCOM_TASK_QUEUE": true, "MEMBER_TYPE_MAP": true, "RESYNC_TAG": true, "INTERCOM_ADMIN_ID": true,
		"HTTP_READ_HEADER_TIMEOUT": true, "HTTP_READ_TIMEOUT": true, "HTTP_WRITE_TIMEOUT": true, "HTTP_IDLE_TIMEOUT": true,
		"HTTP_MAX_HEADER_BYTES": true, "HTTP_MAX_IN_FLIGHT": true,
		// TEMPORAL_TLS*, TEMPORAL_API_KEY: the in-cluster Temporal is
		// plaintext; set them only for a TLS frontend or Temporal Cloud.
		"TEMPORAL_TLS": true, "TEMPORAL_TLS_CERT": true, "TEMPORAL_TLS_KEY": true, "TEMPORAL_TLS_CA": true,
		"TEMPORAL_TLS_SERVER_NAME": true, "TEMPORAL_API_KEY": true}
	var missing []string
	for _, k := range config.Keys {
		if !set[k.Env] && !defaulted[k.Env] {
			missing = append(missing, k.Env)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("settings in config.Keys that no manifest sets: %s; set them in deploy/k8s/base (ConfigMap literal, or secretKeyRef for a secret) or add them to the defaulted list here with a reason",
			strings.Join(missing, ", "))
	}
}

// TestNetworkPolicy checks, in the base and each overlay, that a default
// deny covers every intercom-sync pod, that the only port open to any
// source is the API's webhook port (HTTP_ADDR), that the internal port
// (INTERNAL_HTTP_ADDR: lookup, /metrics) and the workers' metrics port are
// open to restricted sources only, and that the egress the service needs
// is allowed.
func TestNetworkPolicy(t *testing.T) {
	for _, dir := range append([]string{"base"}, overlays...) {
		t.Run(dir, func(t *testing.T) {
			objs, err := (&renderer{}).render(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkNetworkPolicy(t, objs)
		})
	}
}

func checkNetworkPolicy(t *testing.T, objs []*resource) {
	var policies []*resource
	for _, r := range objs {
		if r.kind() == "NetworkPolicy" {
			policies = append(policies, r)
		}
	}
	podLabels := map[string]map[string]any{}
	for _, w := range workloads {
		if r := find(objs, w.kind, w.name); r != nil {
			labels, _ := get(r.obj, "spec", "template", "metadata", "labels").(map[string]any)
			podLabels[w.name] = labels
		}
	}

	// Default deny: both directions, no rule, every workload's pods.
	deny := false
	for _, p := range policies {
		types := list(p.obj, "spec", "policyTypes")
		if slices.Contains(types, any("Ingress")) && slices.Contains(types, any("Egress")) &&
			len(list(p.obj, "spec", "ingress")) == 0 && len(list(p.obj, "spec", "egress")) == 0 {
			all := true
			for name, labels := range podLabels {
				if !selects(t, p, labels) {
					all = false
					t.Logf("%s: %s does not select the pods of %s", p.file, p.name(), name)
				}
			}
			deny = deny || all
		}
	}
	if !deny {
		t.Fatalf("no default-deny NetworkPolicy (policyTypes Ingress and Egress, no rules) selects every intercom-sync pod")
	}

	cm := find(objs, "ConfigMap", "intercom-sync")
	api := find(objs, "Deployment", "intercom-sync-api")
	worker := find(objs, "Deployment", "intercom-sync-worker")
	if cm == nil || api == nil || worker == nil {
		t.Fatal("no ConfigMap, API or worker")
	}
	apiC, workerC := container(api, "api"), container(worker, "worker")
	public := portOf(t, apiC, str(cm.obj, "data", "HTTP_ADDR"), "HTTP_ADDR")
	internal := portOf(t, apiC, str(cm.obj, "data", "INTERNAL_HTTP_ADDR"), "INTERNAL_HTTP_ADDR")
	if public.number == internal.number {
		t.Fatalf("HTTP_ADDR and INTERNAL_HTTP_ADDR share port %d", public.number)
	}
	workerMetrics := containerPort{name: "metrics", number: 9090}
	if !hasPort(workerC, "metrics") || !hasPort(workerC, 9090) {
		t.Fatalf("worker has no metrics port 9090")
	}

	// Ingress of the API pods: open to all only on the public port; the
	// internal port only from restricted sources, and from somewhere.
	openAPI, restrictedAPI := ingressPorts(t, policies, podLabels["intercom-sync-api"])
	if len(openAPI) == 0 || !openAPI[public] {
		t.Errorf("the webhook port %v is not open to the webhook senders: open %v", public, openAPI)
	}
	for p := range openAPI {
		if p != public {
			t.Errorf("API port %v is open to any source; only the webhook port %v may be", p, public)
		}
	}
	if !restrictedAPI[internal] {
		t.Errorf("the internal port %v is not reachable from inside (restricted sources): %v", internal, restrictedAPI)
	}
	openWorker, restrictedWorker := ingressPorts(t, policies, podLabels["intercom-sync-worker"])
	if len(openWorker) > 0 {
		t.Errorf("worker ports open to any source: %v", openWorker)
	}
	if !restrictedWorker[workerMetrics] {
		t.Errorf("the worker's metrics port is not reachable for monitoring: %v", restrictedWorker)
	}

	// Egress: DNS, Temporal, Postgres, MySQL for all; Intercom HTTPS for
	// the workers.
	for name, want := range map[string][]int{
		"intercom-sync-api":     {53, 7233, 5432, 3306},
		"intercom-sync-worker":  {53, 7233, 5432, 3306, 443},
		"intercom-sync-migrate": {53, 7233, 5432},
	} {
		have := egressPorts(t, policies, podLabels[name])
		for _, p := range want {
			if !have[p] {
				t.Errorf("%s: no egress to port %d", name, p)
			}
		}
	}
	if have := egressPorts(t, policies, podLabels["intercom-sync-api"]); have[443] {
		t.Errorf("the API may reach port 443, but it never calls Intercom")
	}
}

// containerPort is a port by name and number, so a policy may name it
// either way.
type containerPort struct {
	name   string
	number int
}

// portOf finds the container port an address (":8080") listens on.
func portOf(t *testing.T, c map[string]any, addr, setting string) containerPort {
	t.Helper()
	_, portText, ok := strings.Cut(addr, ":")
	var n int
	if _, err := fmt.Sscan(portText, &n); !ok || err != nil {
		t.Fatalf("%s = %q: no port", setting, addr)
	}
	for _, p := range list(c, "ports") {
		pm := p.(map[string]any)
		if pm["containerPort"] == n {
			name, _ := pm["name"].(string)
			return containerPort{name: name, number: n}
		}
	}
	t.Fatalf("%s = %q: port %d is not a port of the API container", setting, addr, n)
	return containerPort{}
}

// selects reports whether the policy's podSelector matches the labels
// (matchLabels only; anything else fails the test rather than be guessed).
func selects(t *testing.T, p *resource, labels map[string]any) bool {
	t.Helper()
	sel, _ := get(p.obj, "spec", "podSelector").(map[string]any)
	for k := range sel {
		if k != "matchLabels" {
			t.Fatalf("%s: %s: podSelector.%s is not supported by this test", p.file, p.name(), k)
		}
	}
	match, _ := sel["matchLabels"].(map[string]any)
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// ingressPorts returns the ports the policies selecting the pods open to
// any source and to restricted sources. A rule without ports opens every
// port: reported as port "*".
func ingressPorts(t *testing.T, policies []*resource, labels map[string]any) (open, restricted map[containerPort]bool) {
	open, restricted = map[containerPort]bool{}, map[containerPort]bool{}
	for _, p := range policies {
		if !selects(t, p, labels) {
			continue
		}
		for _, rule := range list(p.obj, "spec", "ingress") {
			r := rule.(map[string]any)
			target := restricted
			if from := list(r, "from"); len(from) == 0 || anySource(from) {
				target = open
			}
			ports := list(r, "ports")
			if len(ports) == 0 {
				target[containerPort{name: "*"}] = true
			}
			for _, port := range ports {
				target[normalizePort(port.(map[string]any)["port"])] = true
			}
		}
	}
	// A port may be named or numbered in a policy: compare both ways.
	return expandPorts(open), expandPorts(restricted)
}

// anySource: a peer that admits every address (an ipBlock of 0.0.0.0/0,
// or every namespace without a pod selector narrowing it to ours).
func anySource(from []any) bool {
	for _, peer := range from {
		pm := peer.(map[string]any)
		if str(pm, "ipBlock", "cidr") == "0.0.0.0/0" || str(pm, "ipBlock", "cidr") == "::/0" {
			return true
		}
		if ns, ok := pm["namespaceSelector"].(map[string]any); ok && len(ns) == 0 {
			return true
		}
	}
	return false
}

// knownPorts are the container ports a policy may name.
var knownPorts = []containerPort{{"http", 8080}, {"internal", 8081}, {"metrics", 9090}}

func normalizePort(v any) containerPort {
	switch p := v.(type) {
	case string:
		return containerPort{name: p}
	case int:
		return containerPort{number: p}
	}
	return containerPort{name: fmt.Sprint(v)}
}

func expandPorts(ports map[containerPort]bool) map[containerPort]bool {
	out := map[containerPort]bool{}
	for p := range ports {
		full := p
		for _, k := range knownPorts {
			if (p.name != "" && p.name == k.name) || (p.number != 0 && p.number == k.number) {
				full = k
			}
		}
		out[full] = true
	}
	return out
}

// egressPorts returns the port numbers the policies selecting the pods
// let them reach (0 for a rule without ports: every port).
func egressPorts(t *testing.T, policies []*resource, labels map[string]any) map[int]bool {
	have := map[int]bool{}
	for _, p := range policies {
		if !selects(t, p, labels) {
			continue
		}
		for _, rule := range list(p.obj, "spec", "egress") {
			ports := list(rule, "ports")
			if len(ports) == 0 {
				have[0] = true
			}
			for _, port := range ports {
				if n, ok := port.(map[string]any)["port"].(int); ok {
					have[n] = true
				}
			}
		}
	}
	return have
}

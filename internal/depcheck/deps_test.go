// Package depcheck enforces the import graph of the module, in the spirit
// of go/build/deps_test.go: the allowed edges are policy, written down here;
// do not edit them to make a build pass.
package depcheck

import (
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/heatbath/heatbath"

// allowed maps each project package to the project packages it may import
// directly, and to the external module prefixes it may use.
var allowed = map[string]struct {
	project  []string
	external []string
}{
	"protocol":          {nil, nil},
	"nn":                {[]string{"internal/detmath"}, []string{"gonum.org/v1/gonum", "golang.org/x/sys/cpu"}},
	"dataset":           {[]string{"internal/detmath"}, []string{"github.com/klauspost/compress/gzip"}},         // gzip: faster inflate for the MNIST files
	"sampler":           {[]string{"internal/detmath"}, []string{"gonum.org/v1/gonum", "golang.org/x/sys/cpu"}}, // cpu: the noise kernel chosen by CPU feature
	"internal/detmath":  {nil, nil},                                                                             // elementary functions with the same bits on every machine
	"internal/suggest":  {nil, nil},                                                                             // did-you-mean for enumerated values: standard library only
	"rundir":            {[]string{"protocol"}, []string{"github.com/gofrs/flock"}},
	"ensemble":          {[]string{"rundir"}, []string{"gonum.org/v1/gonum"}},
	"charts":            {[]string{"ensemble", "rundir"}, []string{"gonum.org/v1/gonum", "gonum.org/v1/plot"}},
	"spec":              {[]string{"protocol", "dataset", "internal/suggest"}, []string{"github.com/goccy/go-yaml"}},
	"train":             {[]string{"protocol", "nn", "dataset", "sampler", "rundir", "internal/suggest"}, nil},
	"records":           {[]string{"protocol"}, []string{"github.com/nats-io/nats.go", "github.com/nats-io/nats.go/jetstream"}},
	"worker":            {[]string{"protocol", "records", "train", "rundir", "dataset"}, []string{"github.com/nats-io/nats.go", "github.com/hashicorp/go-hclog"}},
	"coordinator":       {[]string{"protocol", "records", "rundir", "dataset"}, []string{"github.com/nats-io/nats.go", "github.com/hashicorp/go-hclog"}},
	"liveview":          {[]string{"coordinator", "rundir", "charts", "ensemble", "protocol"}, nil},
	"internal/pyclient": {nil, nil}, // imported by tests only
	"internal/fmacheck": {nil, nil}, // imported by tests only
	"internal/embedded": {[]string{"protocol"}, []string{"github.com/nats-io/nats-server/v2", "github.com/nats-io/jwt/v2", "github.com/nats-io/nats.go", "github.com/hashicorp/go-hclog"}},
	// test support: imported by tests only (a negative rule below keeps it out of the binary)
	"internal/testcluster": {nil, []string{"github.com/nats-io/nats-server/v2", "github.com/nats-io/nats.go"}},
	"internal/testcert":    {nil, nil}, // self-signed certificates for TLS tests
	"cmd/heatbath": {[]string{"protocol", "spec", "train", "worker", "coordinator", "ensemble", "charts", "nn", "dataset", "sampler", "rundir", "internal/embedded", "liveview", "internal/suggest"},
		[]string{"github.com/urfave/cli/v2", "github.com/hashicorp/go-hclog", "github.com/nats-io/nats.go", "github.com/nats-io/nats-server/v2",
			"github.com/mattn/go-isatty", "github.com/vbauerster/mpb/v8", "github.com/vbauerster/cupwriter"}},
}

// forbidden are the negative rules: a package (left) must never depend on
// the packages or module prefixes on the right, directly or through any
// chain of imports (the transitive closure, as go/build/deps_test.go's "!"
// rules). They hold whatever the allow list above says, so that loosening
// it cannot quietly reintroduce a dependency that was taken out on purpose.
var forbidden = []struct {
	from string
	deps []string
	why  string
}{
	{"coordinator", []string{"ensemble", "charts", "worker", "train", "liveview"},
		"the coordinator reaches the run directory through rundir only; it never analyses, draws or runs chains"},
	{"worker", []string{"coordinator", "ensemble", "charts", "liveview"}, "the two NATS edges never import each other"},
	{"liveview", []string{"worker", "train", "internal/embedded", "github.com/nats-io/nats-server", "github.com/urfave/cli"},
		"the live view only reads the coordinator's feed and serves a page: it runs no chains, no server and no command line"},
	{"rundir", []string{"ensemble", "charts", "train", "coordinator", "worker", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"},
		"the run directory's owner is pure: file formats only"},
	{"ensemble", []string{"charts", "coordinator", "worker", "train", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"},
		"analysis is pure and reads files through rundir"},
	{"charts", []string{"coordinator", "worker", "train", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"},
		"charts draw what ensemble computed"},
	{"cmd/heatbath", []string{"internal/testcluster", "internal/testcert", "internal/pyclient", "internal/fmacheck"}, "test support never ships in the binary"},
	{"records", []string{"rundir", "train", "coordinator", "worker", "ensemble", "charts", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"},
		"the record store is protocol over JetStream: no files, logging or CLI, and neither NATS edge"},
	{"protocol", []string{"rundir", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"}, "the wire format is a leaf"},
	{"nn", []string{"rundir", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"}, "numerical core is pure"},
	{"sampler", []string{"rundir", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"}, "numerical core is pure"},
	{"dataset", []string{"rundir", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"}, "numerical core is pure"},
	{"internal/suggest", []string{"github.com"}, "the did-you-mean helper is a leaf (standard library only) that every package may import"},
	{"internal/detmath", []string{"protocol", "rundir", "nn", "sampler", "dataset", "github.com/nats-io", "github.com/hashicorp/go-hclog", "github.com/urfave/cli"}, "the portable elementary functions are a leaf of the numerical core"},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// TestForbiddenDependencies checks the negative rules against each
// package's transitive dependencies.
func TestForbiddenDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		deps[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p.Deps
	}
	for _, rule := range forbidden {
		ds, ok := deps[rule.from]
		if !ok {
			t.Errorf("negative rule for %s: no such package", rule.from)
			continue
		}
		for _, d := range ds {
			for _, bad := range rule.deps {
				target := bad
				if !strings.Contains(bad, ".") {
					target = module + "/" + bad
				}
				if d == target || strings.HasPrefix(d, target+"/") {
					t.Errorf("%s depends on %s (forbidden: %s)", rule.from, d, rule.why)
				}
			}
		}
	}
}

// TestImportGraph lists every package of the module (tests excluded) and
// checks each direct import against the allow list. Standard-library
// imports are always allowed.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "internal/depcheck" {
			continue
		}
		rule, ok := allowed[rel]
		if !ok {
			t.Errorf("package %s is not in the import policy of internal/depcheck", rel)
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if isStd(imp) {
				continue
			}
			if strings.HasPrefix(imp, module+"/") {
				dep := strings.TrimPrefix(imp, module+"/")
				if !contains(rule.project, dep) {
					t.Errorf("%s imports %s: not allowed (allowed: %v)", rel, dep, rule.project)
				}
				continue
			}
			okExt := false
			for _, prefix := range rule.external {
				if imp == prefix || strings.HasPrefix(imp, prefix+"/") {
					okExt = true
				}
			}
			if !okExt {
				t.Errorf("%s imports %s: external import not allowed (allowed: %v)", rel, imp, rule.external)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("only %d packages checked: go list found too little", seen)
	}
}

// TestPolicyIsADAG checks that the allow list itself has no cycle, and that
// the two NATS edges never import each other.
func TestPolicyIsADAG(t *testing.T) {
	state := map[string]int{}
	var visit func(string, []string)
	visit = func(p string, path []string) {
		switch state[p] {
		case 1:
			t.Fatalf("import policy has a cycle: %s -> %s", strings.Join(path, " -> "), p)
		case 2:
			return
		}
		state[p] = 1
		for _, d := range allowed[p].project {
			visit(d, append(path, p))
		}
		state[p] = 2
	}
	keys := make([]string, 0, len(allowed))
	for k := range allowed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		visit(k, nil)
	}
	if contains(allowed["worker"].project, "coordinator") || contains(allowed["coordinator"].project, "worker") {
		t.Fatal("worker and coordinator must never import each other")
	}
	for _, leaf := range []string{"protocol", "nn", "dataset", "sampler", "ensemble"} {
		for _, ext := range allowed[leaf].external {
			if strings.Contains(ext, "nats") || strings.Contains(ext, "hclog") || strings.Contains(ext, "urfave") {
				t.Fatalf("leaf package %s may not use %s", leaf, ext)
			}
		}
	}
}

func isStd(path string) bool {
	first := strings.SplitN(path, "/", 2)[0]
	return !strings.Contains(first, ".")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

package validate

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// parseDockerfile parses a Dockerfile with BuildKit's parser into its
// stages, failing the test on a parse error or a build-check warning.
func parseDockerfile(t *testing.T, src []byte) []instructions.Stage {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile parser warning: %s", w.Short)
	}
	var lint []string
	l := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		lint = append(lint, fmt.Sprintf("%s: %s (line %v)", rule, msg, loc))
	}})
	stages, _, err := instructions.Parse(res.AST, l)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range lint {
		t.Errorf("Dockerfile build check: %s", w)
	}
	return stages
}

// dockerfileProblems returns what is wrong with the stages of the image's
// Dockerfile: a multi-stage build whose build stage compiles ./cmd/heatbath
// with CGO_ENABLED=0 and -trimpath, and whose final stage copies the
// binary from it, runs as a non-root user, and has heatbath as its
// entrypoint.
func dockerfileProblems(stages []instructions.Stage) []string {
	var probs []string
	if len(stages) < 2 {
		return []string{fmt.Sprintf("%d stages, want a multi-stage build", len(stages))}
	}
	build := map[string]bool{} // stages that build the binary statically
	for _, st := range stages[:len(stages)-1] {
		cgoOff := false
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if kv.Key == "CGO_ENABLED" {
						cgoOff = kv.Value == "0"
					}
				}
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				if strings.Contains(line, "go build") && strings.Contains(line, "./cmd/heatbath") {
					if !cgoOff && !strings.Contains(line, "CGO_ENABLED=0") {
						probs = append(probs, fmt.Sprintf("stage %q builds without CGO_ENABLED=0", st.Name))
					}
					if !strings.Contains(line, "-trimpath") {
						probs = append(probs, fmt.Sprintf("stage %q builds without -trimpath", st.Name))
					}
					build[st.Name] = true
				}
			}
		}
	}
	if len(build) == 0 {
		probs = append(probs, "no stage before the last runs go build ./cmd/heatbath")
	}
	final := stages[len(stages)-1]
	user, entry, copied := "", "", false
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			if c.PrependShell || len(c.CmdLine) == 0 {
				probs = append(probs, "final ENTRYPOINT is not in exec form")
			} else {
				entry = c.CmdLine[0]
			}
		case *instructions.CopyCommand:
			if build[c.From] {
				copied = true
			}
		case *instructions.RunCommand:
			probs = append(probs, fmt.Sprintf("final stage runs %q: the final image has no shell", strings.Join(c.CmdLine, " ")))
		}
	}
	name, _, _ := strings.Cut(user, ":")
	if name == "" || name == "root" || name == "0" {
		probs = append(probs, fmt.Sprintf("final stage runs as %q, want a non-root USER", user))
	}
	if !strings.HasSuffix(entry, "/heatbath") && entry != "heatbath" {
		probs = append(probs, fmt.Sprintf("final ENTRYPOINT %q is not heatbath", entry))
	}
	if !copied {
		probs = append(probs, "final stage copies nothing from the build stage")
	}
	if b := final.BaseName; !strings.Contains(b, "distroless/static") && b != "scratch" {
		probs = append(probs, fmt.Sprintf("final base %q is not distroless/static or scratch", b))
	}
	return probs
}

// TestDockerfile parses the Dockerfile with BuildKit and checks its stages.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	for _, p := range dockerfileProblems(stages) {
		t.Error(p)
	}
}

// TestDockerfileChecksFindFaults runs the stage checks on broken
// Dockerfiles: each must be caught.
func TestDockerfileChecksFindFaults(t *testing.T) {
	good := string(readRepoFile(t, "Dockerfile"))
	for name, edit := range map[string][2]string{
		"root user":   {"USER 65532:65532", "USER root"},
		"no user":     {"USER 65532:65532", ""},
		"cgo on":      {"ENV CGO_ENABLED=0", "ENV CGO_ENABLED=1"},
		"no trimpath": {"-trimpath", ""},
		"shell entry": {`ENTRYPOINT ["/usr/local/bin/heatbath"]`, "ENTRYPOINT /usr/local/bin/heatbath"},
		"single":      {"FROM gcr.io/distroless/static-debian12:nonroot AS final", ""},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, edit[0]) {
				t.Fatalf("Dockerfile has no %q to break", edit[0])
			}
			res, err := parser.Parse(strings.NewReader(strings.Replace(good, edit[0], edit[1], 1)))
			if err != nil {
				t.Fatal(err)
			}
			stages, _, err := instructions.Parse(res.AST, nil)
			if err == nil && len(dockerfileProblems(stages)) == 0 {
				t.Errorf("a Dockerfile with %s passes the checks", name)
			}
		})
	}
}

// TestDockerignore checks, with BuildKit's own .dockerignore matcher, that
// the build context keeps every file the image's build needs (go.mod,
// go.sum, the Go and embedded files of every package ./cmd/heatbath is
// built from, the examples the image ships) and leaves out the
// repository's history and run output.
func TestDockerignore(t *testing.T) {
	goTool := needTool(t, "go")
	patterns, err := ignorefile.ReadAll(bytes.NewReader(readRepoFile(t, ".dockerignore")))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	root := repoRoot(t)
	cmd := exec.Command(goTool, "list", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`, "./cmd/heatbath")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	need := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], root+string(filepath.Separator)) {
			continue // a dependency outside the repository
		}
		dir, _ := filepath.Rel(root, f[0])
		for _, name := range f[1:] {
			need = append(need, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	examples, _ := filepath.Glob(filepath.Join(root, "examples", "*"))
	for _, e := range examples {
		rel, _ := filepath.Rel(root, e)
		need = append(need, filepath.ToSlash(rel))
	}
	if len(need) < 10 {
		t.Fatalf("only %d files found to check: %q", len(need), need)
	}
	for _, f := range need {
		if ex, err := pm.MatchesOrParentMatches(f); err != nil || ex {
			t.Errorf(".dockerignore leaves out %s, which the build needs (%v)", f, err)
		}
	}
	for _, f := range []string{".git/HEAD", "runs/x/replica.json", "heatbath"} {
		if ex, err := pm.MatchesOrParentMatches(f); err != nil || !ex {
			t.Errorf(".dockerignore does not leave out %s (%v)", f, err)
		}
	}
}

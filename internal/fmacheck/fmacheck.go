// Package fmacheck is test support: it compiles a package of the module
// for the targets whose compiler fuses x*y + z into one fused
// multiply-add (amd64 with GOAMD64=v3, arm64) and reports every fused
// instruction that does not come from an explicit math.FMA call.
//
// A fused multiply-add rounds once where x*y + z rounds twice, so code the
// compiler is free to fuse gives other bits on those targets than on
// GOAMD64=v1, and a replica resumed on another machine would leave its
// trajectory. The cure is an explicit conversion, float64(x*y) + z, which
// the Go specification says rounds the product (and so forbids fusion), or
// math.FMA on every path. Tests of the numerical packages call Check.
//
// RunTest builds a package's tests for each of Platforms (amd64 GOAMD64=v1
// and v3, amd64 on an emulated processor without AVX or FMA, arm64 under
// qemu-user) and runs one of them there, so a test
// that compares against recorded bits (the golden trajectory) proves they
// are the same on every platform.
//
// It is imported by tests only.
package fmacheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Target is one build configuration whose compiler may fuse.
type Target struct {
	// Name is how failures name the target ("amd64 GOAMD64=v3").
	Name string
	// Env holds the variables added to the build's environment.
	Env []string
	// Fused matches the mnemonics of fused multiply-add instructions in
	// the compiler's assembly listing (go build -gcflags=-S).
	Fused *regexp.Regexp
}

// Targets are the configurations Check compiles for: amd64 at GOAMD64=v3
// (VFMADD/VFMSUB/VFNMADD/VFNMSUB, scalar and packed) and arm64
// (FMADD/FMSUB/FNMADD/FNMSUB and the vector FMLA/FMLS).
var Targets = []Target{
	{Name: "amd64 GOAMD64=v3", Env: []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3"},
		Fused: regexp.MustCompile(`\tVF(N?)M(ADD|SUB)[0-9A-Z]*\t`)},
	{Name: "arm64", Env: []string{"GOOS=linux", "GOARCH=arm64"},
		Fused: regexp.MustCompile(`\t(F(N?)M(ADD|SUB)[DS]|VFML[AS])\t`)},
}

// Fusion is one fused instruction found in a listing.
type Fusion struct {
	// File and Line locate the source the compiler attributes it to (for
	// inlined code, the inlined function's source).
	File string
	Line int
	// Instr is the listing's line, trimmed.
	Instr string
}

// String formats the fusion as "file:line: instruction".
func (f Fusion) String() string { return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Instr) }

// locRe matches the source position the compiler prints on every
// instruction of a -S listing: "(/path/file.go:123)".
var locRe = regexp.MustCompile(`\(([^()]+\.go):([0-9]+)\)`)

// Scan returns the fused instructions of a -S listing that fused matches,
// except those whose source line calls math.FMA (read through readLine,
// which returns the text of a file's line, or "" when it cannot).
func Scan(listing []byte, fused *regexp.Regexp, readLine func(file string, line int) string) []Fusion {
	var out []Fusion
	sc := bufio.NewScanner(bytes.NewReader(listing))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for sc.Scan() {
		l := sc.Text()
		if !fused.MatchString(l) {
			continue
		}
		f := Fusion{Instr: strings.TrimSpace(l)}
		if m := locRe.FindStringSubmatchIndex(l); m != nil {
			f.File = l[m[2]:m[3]]
			f.Line, _ = strconv.Atoi(l[m[4]:m[5]])
			f.Instr = strings.Join(strings.Fields(l[m[1]:]), " ")
			if strings.Contains(readLine(f.File, f.Line), "math.FMA(") {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// Listing compiles pkg (an import path or a ./relative pattern, resolved in
// dir) for target with -gcflags=-S and returns the compiler's listing. The
// flag applies to pkg only: code inlined from other packages appears with
// its own source positions, dependencies' own code does not.
func Listing(dir, pkg string, target Target) ([]byte, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, errNoToolchain
	}
	cmd := exec.Command(gobin, "build", "-o", os.DevNull, "-gcflags=-S", pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, target.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build -gcflags=-S %s (%s): %v: %s", pkg, target.Name, err, firstLines(stderr.String(), 20))
	}
	// The listing goes to standard error.
	return append(stderr.Bytes(), stdout.Bytes()...), nil
}

// errNoToolchain: no go command on PATH (go test puts its own GOROOT/bin
// first on the PATH of the tests it runs).
var errNoToolchain = fmt.Errorf("fmacheck: no go command on PATH")

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// Check compiles pkg for every Target and fails t for each fused
// multiply-add that does not come from math.FMA, naming the target and the
// source line. It skips, saying why, when there is no go command or the
// compiler prints no listing; a build that fails is a test failure. dir is
// where the build runs (a test's working directory, ".", is its package's
// folder).
func Check(t *testing.T, dir, pkg string) {
	t.Helper()
	for _, target := range Targets {
		listing, err := Listing(dir, pkg, target)
		if err == errNoToolchain {
			t.Skipf("cannot check %s for fused multiply-adds: %v", pkg, err)
		}
		if err != nil {
			t.Fatalf("cannot check %s for fused multiply-adds: %v", pkg, err)
		}
		if !bytes.Contains(listing, []byte("STEXT")) {
			t.Skipf("cannot check %s for fused multiply-adds: go build -gcflags=-S printed no assembly listing for %s", pkg, target.Name)
		}
		lines := lineReader()
		for _, f := range Scan(listing, target.Fused, lines) {
			t.Errorf("%s: %s: a fused multiply-add the compiler chose (other bits than GOAMD64=v1): write float64(x*y) + z, or math.FMA on every path",
				target.Name, f)
		}
	}
}

// lineReader returns a cached reader of source lines.
func lineReader() func(file string, line int) string {
	files := map[string][]string{}
	return func(file string, line int) string {
		ls, ok := files[file]
		if !ok {
			b, err := os.ReadFile(file)
			if err == nil {
				ls = strings.Split(string(b), "\n")
			}
			files[file] = ls
		}
		if line < 1 || line > len(ls) {
			return ""
		}
		return ls[line-1]
	}
}

// Platform is a build configuration a test binary runs under: GOARCH and
// GOAMD64 (or GOARM64) as environment variables.
type Platform struct {
	// Name is how failures and subtests name it ("amd64 GOAMD64=v3").
	Name string
	// Env holds the variables added to the build's environment.
	Env []string
	// Arch is its GOARCH.
	Arch string
	// CPU, when set, runs the binary under qemu-user emulating that
	// processor model (qemu's -cpu), on any host.
	CPU string
	// RunEnv holds the variables added to the test binary's environment
	// (GODEBUG=cpu.avx512f=off hides AVX-512 from the run-time choice of
	// kernels, in the runtime and in golang.org/x/sys/cpu).
	RunEnv []string
}

// Platforms are the configurations whose results must agree bit for bit:
// amd64 at GOAMD64=v1 and v3 (fused multiply-add allowed to the compiler),
// amd64 on a processor without AVX and FMA (Nehalem, emulated: code that
// picks a path by processor feature at run time takes its fallback, and
// math.FMA its software path), amd64 with AVX-512 hidden (the AVX2 and AVX
// kernels, where the host has AVX-512; elsewhere the same as v3) and arm64
// (always allowed to fuse), run under qemu-user on other hosts.
var Platforms = []Platform{
	{Name: "amd64 GOAMD64=v1", Env: []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"}, Arch: "amd64"},
	{Name: "amd64 GOAMD64=v1 without AVX or FMA (qemu -cpu Nehalem)", Env: []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"}, Arch: "amd64", CPU: "Nehalem"},
	{Name: "amd64 GOAMD64=v3", Env: []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3"}, Arch: "amd64"},
	{Name: "amd64 GOAMD64=v3 without AVX-512 (GODEBUG=cpu.avx512f=off)", Env: []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3"}, Arch: "amd64",
		RunEnv: []string{"GODEBUG=cpu.avx512f=off"}},
	{Name: "arm64", Env: []string{"GOOS=linux", "GOARCH=arm64"}, Arch: "arm64"},
}

// qemuFor names the qemu-user emulators that run a binary of arch.
var qemuFor = map[string][]string{"arm64": {"qemu-aarch64", "qemu-aarch64-static"}, "amd64": {"qemu-x86_64", "qemu-x86_64-static"}}

// RunTest builds the tests of the package in dir for platform p (go test
// -c) and runs those matching run in dir, under qemu-user when p is not the
// host's architecture or names a processor model. It skips, saying why,
// when the host cannot run p: not Linux, no qemu-user for p's architecture
// (a failure instead when the environment variable CI is "true": CI
// installs qemu-user), or a processor without what GOAMD64=v3 requires. A
// test that fails, or passes nothing (skipped, or no match), under p fails
// t with the child's output.
func RunTest(t *testing.T, dir string, p Platform, run string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("%s: cross-platform test runs need Linux (qemu-user), this is %s", p.Name, runtime.GOOS)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("%s: %v", p.Name, errNoToolchain)
	}
	var prefix []string
	if p.Arch != runtime.GOARCH || p.CPU != "" {
		var emu string
		for _, name := range qemuFor[p.Arch] {
			if path, err := exec.LookPath(name); err == nil {
				emu = path
				break
			}
		}
		if emu == "" {
			msg := fmt.Sprintf("%s: no qemu-user emulator (%s) on PATH: apt-get install qemu-user", p.Name, strings.Join(qemuFor[p.Arch], " or "))
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		prefix = []string{emu}
		if p.CPU != "" {
			prefix = append(prefix, "-cpu", p.CPU)
		}
	}
	bin := filepath.Join(t.TempDir(), "test."+p.Arch)
	build := exec.Command(gobin, "test", "-c", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(append(os.Environ(), "CGO_ENABLED=0"), p.Env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: go test -c: %v: %s", p.Name, err, firstLines(string(out), 20))
	}
	args := append(prefix, bin, "-test.run", run, "-test.count", "1", "-test.v")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	if len(p.RunEnv) > 0 {
		cmd.Env = append(os.Environ(), p.RunEnv...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("microarchitecture support")) {
		t.Skipf("%s: this processor cannot run it: %s", p.Name, firstLines(string(out), 2))
	}
	if err != nil {
		t.Fatalf("%s: %s failed: %v\n%s", p.Name, run, err, firstLines(string(out), 40))
	}
	if !bytes.Contains(out, []byte("--- PASS")) {
		t.Fatalf("%s: no test matching %s passed (skipped or none ran):\n%s", p.Name, run, firstLines(string(out), 40))
	}
}

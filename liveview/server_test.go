package liveview

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// TestListenRefusesOpenAddressWithoutCredentials: loopback addresses are
// served as they are; every other one (every interface, an external
// address) only with credentials, with a one-line refusal otherwise.
func TestListenRefusesOpenAddressWithoutCredentials(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0"} {
		_, err := Listen(addr, false)
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Listen(%s) without credentials: %v, want a one-line refusal", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := Listen(addr, false)
		if err != nil {
			t.Errorf("Listen(%s): %v", addr, err)
			continue
		}
		ln.Close()
	}
	ln, err := Listen("0.0.0.0:0", true)
	if err != nil {
		t.Fatalf("Listen on every interface with credentials: %v", err)
	}
	ln.Close()
	if _, err := Listen("8080", false); err == nil {
		t.Error("Listen(8080): no error for an address without a host part")
	}
}

// TestCredentials: with credentials, every path needs them (page, stream,
// view, files); without, none does; the page's policy allows its own
// origin only.
func TestCredentials(t *testing.T) {
	srv := NewServer(Options{User: "observer", Password: "secret"})
	if err := srv.Publish(NewBuilder(testSweep(1, 10), false).View(snapshotOf(testSweep(1, 10), protocol.StatePending, 0, nil, nil))); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	get := func(path, user, pass string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		return resp.StatusCode
	}
	for _, p := range []string{"/", "/app.js", "/view.json", "/events", "/files/r0/result.json"} {
		if code := get(p, "", ""); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d", p, code)
		}
		if code := get(p, "observer", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %d", p, code)
		}
	}
	for _, p := range []string{"/", "/app.js", "/style.css", "/view.json"} {
		if code := get(p, "observer", "secret"); code != http.StatusOK {
			t.Errorf("%s with credentials: %d", p, code)
		}
	}
	open := httptest.NewServer(NewServer(Options{}))
	defer open.Close()
	resp, err := open.Client().Get(open.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("page without credentials configured: %d", resp.StatusCode)
	}
}

// TestEventStream: a page that connects gets the latest view at once, then
// each view published; /view.json is the latest.
func TestEventStream(t *testing.T) {
	sw := testSweep(1, 10)
	b := NewBuilder(sw, false)
	srv := NewServer(Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	resp, err := ts.Client().Get(ts.URL + "/view.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("view.json before any view: %d", resp.StatusCode)
	}
	if err := srv.Publish(b.View(snapshotOf(sw, protocol.StateRunning, 5, nil, nil))); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events", nil)
	resp, err = ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	next := func() *View {
		t.Helper()
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("event stream: %v", err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var v View
				if err := json.Unmarshal([]byte(data), &v); err != nil {
					t.Fatalf("event %q: %v", data, err)
				}
				return &v
			}
		}
	}
	if v := next(); v.Counts[protocol.StateRunning] != 3 || v.Replicas[0].Step != 5 {
		t.Errorf("first event: counts %v, step %d", v.Counts, v.Replicas[0].Step)
	}
	if err := srv.Publish(b.View(snapshotOf(sw, protocol.StateDone, 10, nil, nil))); err != nil {
		t.Fatal(err)
	}
	if v := next(); v.Counts[protocol.StateDone] != 3 || v.Replicas[2].Step != 10 {
		t.Errorf("second event: counts %v, step %d", v.Counts, v.Replicas[2].Step)
	}
	resp2, err := ts.Client().Get(ts.URL + "/view.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if !strings.Contains(string(body), `"done":3`) {
		t.Errorf("view.json: %.200s", body)
	}
}

// TestFiles: a finished replica's files are served from its directory; a
// running replica's, a file not in the list, a bad id and a path that
// climbs out are not, nor anything without a run directory.
func TestFiles(t *testing.T) {
	run := t.TempDir()
	sw := testSweep(1, 10)
	for _, id := range []string{"r0", "r1"} {
		dir := rundir.ReplicaDir(run, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rundir.FileResult), []byte(`{"replica":"`+id+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("no"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snap := snapshotOf(sw, protocol.StateRunning, 5, nil, nil)
	snap.Replicas[0].State = protocol.StateDone
	srv := NewServer(Options{RunDir: run})
	if err := srv.Publish(NewBuilder(sw, true).View(snap)); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	get := func(path string) (int, string) {
		resp, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/files/r0/result.json"); code != http.StatusOK || body != `{"replica":"r0"}` {
		t.Errorf("finished replica's result: %d %q", code, body)
	}
	for _, p := range []string{"/files/r1/result.json", "/files/r0/secret.txt", "/files/r0/../r1/result.json",
		"/files/..%2Fr1/result.json", "/files/r0", "/files/r0/trajectory.csv"} {
		if code, body := get(p); code != http.StatusNotFound {
			t.Errorf("%s: %d %q, want 404", p, code, body)
		}
	}
	none := httptest.NewServer(NewServer(Options{}))
	defer none.Close()
	resp, err := none.Client().Get(none.URL + "/files/r0/result.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("files without a run directory: %d", resp.StatusCode)
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heatbath/heatbath/liveview"
	"github.com/heatbath/heatbath/protocol"
)

// startUI runs `heatbath ui` with args against s until the test ends and
// returns the URL (and the credentials, if any) it printed.
func startUI(t *testing.T, s *opsServer, args ...string) (url, user, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	pr, pw := io.Pipe()
	app := newApp()
	app.Writer, app.ErrWriter = &logBuffer{}, pw
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, flagsFirst(app, append(append([]string{"heatbath", "ui"}, args...), "--nats", s.url)))
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ui: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("ui printed no URL: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "live view: ")
	if !ok {
		t.Fatalf("ui printed %q", line)
	}
	url, creds, _ := strings.Cut(rest, " ")
	if creds != "" {
		// "(user U, password P)"
		creds = strings.Trim(creds, "()")
		u, p, _ := strings.Cut(creds, ", ")
		user, password = strings.TrimPrefix(u, "user "), strings.TrimPrefix(p, "password ")
	}
	return url, user, password
}

// firstView reads the first view of the page's event stream.
func firstView(t *testing.T, url, user, password string) (*liveview.View, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"events", nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var v liveview.View
			if err := json.Unmarshal([]byte(data), &v); err != nil {
				t.Fatalf("view %q: %v", data, err)
			}
			return &v, resp.StatusCode
		}
	}
}

// TestUICommand: `heatbath ui` without --sweep follows the server's
// unfinished sweep on a loopback address without credentials; on every
// interface it prints generated credentials and the page refuses requests
// without them; a malformed address is a usage error naming the flag.
func TestUICommand(t *testing.T) {
	s := startOpsServer(t)
	co := s.coordinator()
	sw := smallSweep(t, 300, 2, 100)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}

	url, user, _ := startUI(t, s, "--addr", "127.0.0.1:0")
	if user != "" || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("loopback: URL %q, user %q", url, user)
	}
	v, code := firstView(t, url, "", "")
	if code != http.StatusOK || v.Sweep != sw.ID || v.Total != len(sw.Replicas) || v.Counts[protocol.StatePending] != len(sw.Replicas) {
		t.Fatalf("first view (%d): %+v", code, v)
	}

	url, user, password := startUI(t, s, "--addr", "0.0.0.0:0", "--sweep", sw.ID)
	if user != string(protocol.RoleObserver) || len(password) < 20 {
		t.Fatalf("every interface: URL %q, user %q, password %q", url, user, password)
	}
	url = strings.Replace(url, "0.0.0.0", "127.0.0.1", 1)
	if _, code := firstView(t, url, "", ""); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", code)
	}
	if v, code := firstView(t, url, user, password); code != http.StatusOK || v.Sweep != sw.ID {
		t.Errorf("with credentials: %d %+v", code, v)
	}

	_, err := s.cli("", "ui", "--addr", "8080")
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("ui --addr 8080: %v, want a usage error naming --addr", err)
	}
}

// TestRunServesLiveView: `run --ui` serves the live view of its sweep
// while it runs: a page that connects once the sweep is submitted gets
// views of that sweep, whose counts add up and whose finished replicas
// never go back; the last view has every replica done, and the stream
// ends with an "end" event when the run does.
func TestRunServesLiveView(t *testing.T) {
	sw := smallSweep(t, 60000, 2, 20000)
	l, err := listenUI("--ui", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.ln.Close()
	url := "http://" + l.ln.Addr().String() + "/events"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	views := make(chan []liveview.View, 1)
	ended := false
	submitted := func() {
		// The listener is open: the request waits until the view is
		// served, after the workers start.
		go func() {
			var got []liveview.View
			defer func() { views <- got }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("event stream: %v", err)
				return
			}
			defer resp.Body.Close()
			rd := bufio.NewReader(resp.Body)
			for {
				line, err := rd.ReadString('\n')
				if err != nil {
					return // the run ended
				}
				if line == "event: end\n" {
					ended = true
					continue
				}
				if data, ok := strings.CutPrefix(line, "data: "); ok && !ended {
					var v liveview.View
					if err := json.Unmarshal([]byte(data), &v); err != nil {
						t.Errorf("view %q: %v", data, err)
						return
					}
					got = append(got, v)
				}
			}
		}()
	}
	sum, err := runEmbedded(ctx, sw, t.TempDir(), embeddedOptions{workers: 2, quiet: true, log: testLogger(t), ui: l, submitted: submitted})
	if err != nil {
		t.Fatal(err)
	}
	got := <-views
	if len(got) == 0 {
		t.Fatal("the page got no view while the sweep ran")
	}
	done := 0
	for i, v := range got {
		n := 0
		for _, k := range v.Counts {
			n += k
		}
		if v.Sweep != sw.ID || v.Total != len(sw.Replicas) || n != v.Total || len(v.Replicas) != v.Total {
			t.Errorf("view %d: sweep %s, %d replicas, counts %v", i, v.Sweep, v.Total, v.Counts)
		}
		if v.Counts[protocol.StateDone] < done {
			t.Errorf("view %d: %d done after %d", i, v.Counts[protocol.StateDone], done)
		}
		done = v.Counts[protocol.StateDone]
	}
	if done != len(sw.Replicas) || !ended {
		t.Errorf("the last view has %d of %d replicas done; end event: %v", done, len(sw.Replicas), ended)
	}
	t.Logf("%d views while %d replicas ran (%d done in the last view, %d in the summary)", len(got), len(sw.Replicas), done, sum.Counts["done"])
}

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/internal/testcert"
	"github.com/heatbath/heatbath/liveview"
	"github.com/heatbath/heatbath/protocol"
)

// startUI runs `heatbath ui` with args against s until the test ends and
// returns the first URL (and the credentials, if any) it printed, and the
// lines it printed with it.
func startUI(t *testing.T, s *opsServer, args ...string) (url, user, password string, banner []string) {
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
	rd := bufio.NewReader(pr)
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("ui printed no URL: %v", err)
	}
	banner = []string{strings.TrimSpace(line)}
	// The banner is one write: its other lines are in the reader's buffer.
	for rd.Buffered() > 0 {
		line, err := rd.ReadString('\n')
		if err != nil {
			break
		}
		banner = append(banner, strings.TrimSpace(line))
	}
	go func() { _, _ = io.Copy(io.Discard, rd) }()
	rest, ok := strings.CutPrefix(banner[0], "live view: ")
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
	return url, user, password, banner
}

// firstView reads the first view of the page's event stream with client.
func firstView(t *testing.T, client *http.Client, url, user, password string) (*liveview.View, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"events", nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
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

// onLoopback returns url (http(s)://host:port/) with 127.0.0.1 as its host:
// the page listens on every interface, and the host name it prints may not
// resolve where the test runs.
func onLoopback(t *testing.T, url string) string {
	t.Helper()
	scheme, rest, _ := strings.Cut(url, "://")
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		t.Fatalf("URL %q has no port", url)
	}
	return scheme + "://127.0.0.1" + rest[i:]
}

// hasWarning reports whether the banner warns that the credentials go in
// the clear.
func hasWarning(banner []string) bool {
	for _, l := range banner {
		if strings.Contains(l, "warning") && strings.Contains(l, "--"+flagUITLSCert) {
			return true
		}
	}
	return false
}

// TestUICommand: `heatbath ui` without --sweep follows the server's
// unfinished sweep on a loopback address without credentials; on every
// interface it prints generated credentials, usable URLs (not 0.0.0.0)
// and a warning that they go over plain HTTP, and the page refuses
// requests without them; a malformed address is a usage error naming the
// flag.
func TestUICommand(t *testing.T) {
	s := startOpsServer(t)
	co := s.coordinator()
	sw := smallSweep(t, 300, 2, 100)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}

	url, user, _, banner := startUI(t, s, "--addr", "127.0.0.1:0")
	if user != "" || !strings.HasPrefix(url, "http://127.0.0.1:") || len(banner) != 1 {
		t.Errorf("loopback: URL %q, user %q, banner %q", url, user, banner)
	}
	v, code := firstView(t, http.DefaultClient, url, "", "")
	if code != http.StatusOK || v.Sweep != sw.ID || v.Total != len(sw.Replicas) || v.Counts[protocol.StatePending] != len(sw.Replicas) {
		t.Fatalf("first view (%d): %+v", code, v)
	}

	url, user, password, banner := startUI(t, s, "--addr", "0.0.0.0:0", "--sweep", sw.ID)
	if user != string(protocol.RoleObserver) || len(password) < 20 {
		t.Fatalf("every interface: URL %q, user %q, password %q", url, user, password)
	}
	if !hasWarning(banner) {
		t.Errorf("every interface over HTTP: no warning in %q", banner)
	}
	if host, _ := os.Hostname(); host != "" && !strings.HasPrefix(url, "http://"+host+":") {
		t.Errorf("every interface: first URL %q, want the host name %s", url, host)
	}
	for _, l := range banner {
		if strings.Contains(l, "0.0.0.0") || strings.Contains(l, "[::]") || strings.Contains(l, "127.0.0.1") {
			t.Errorf("every interface: unusable URL in %q", l)
		}
	}
	url = onLoopback(t, url)
	if _, code := firstView(t, http.DefaultClient, url, "", ""); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", code)
	}
	if v, code := firstView(t, http.DefaultClient, url, user, password); code != http.StatusOK || v.Sweep != sw.ID {
		t.Errorf("with credentials: %d %+v", code, v)
	}

	_, err := s.cli("", "ui", "--addr", "8080")
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("ui --addr 8080: %v, want a usage error naming --addr", err)
	}
}

// TestUICommandTLS: with --ui-tls-cert and --ui-tls-key the page is served
// over HTTPS (a client that trusts the certificate gets the view, one that
// does not is refused), its URLs say https, and no warning is printed; a
// certificate without its key is a usage error naming the missing flag.
func TestUICommandTLS(t *testing.T) {
	s := startOpsServer(t)
	co := s.coordinator()
	sw := smallSweep(t, 300, 2, 100)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := selfSignedCert(t)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer trusting.CloseIdleConnections()

	url, user, password, banner := startUI(t, s, "--addr", "0.0.0.0:0", "--sweep", sw.ID,
		"--"+flagUITLSCert, certFile, "--"+flagUITLSKey, keyFile)
	if !strings.HasPrefix(url, "https://") || user == "" || hasWarning(banner) {
		t.Errorf("every interface over HTTPS: URL %q, user %q, banner %q", url, user, banner)
	}
	url = onLoopback(t, url)
	if v, code := firstView(t, trusting, url, user, password); code != http.StatusOK || v.Sweep != sw.ID {
		t.Errorf("HTTPS, trusted: %d %+v", code, v)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	var unknown x509.UnknownAuthorityError
	if err == nil {
		resp.Body.Close()
	}
	if !errors.As(err, &unknown) {
		t.Errorf("HTTPS, a client that does not trust the certificate: %v, want an unknown authority error", err)
	}

	for _, args := range [][]string{{"--" + flagUITLSCert, certFile}, {"--" + flagUITLSKey, keyFile}} {
		_, err := s.cli("", append([]string{"ui", "--addr", "127.0.0.1:0"}, args...)...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--"+flagUITLSCert) || !strings.Contains(err.Error(), "--"+flagUITLSKey) {
			t.Errorf("ui %v: %v, want a usage error naming both flags", args, err)
		}
	}
}

// selfSignedCert writes a throwaway self-signed certificate for 127.0.0.1
// and its key to a temporary directory and returns their paths and a pool
// that trusts it.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, cert := testcert.SelfSigned(t, t.TempDir())
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestUIBanner: the first URL carries the credentials, the others follow
// it, and the warning is there exactly when credentials go over plain
// HTTP.
func TestUIBanner(t *testing.T) {
	cred := &embedded.Credential{User: "observer", Password: "pw"}
	got := uiBanner([]string{"http://node7:8080/", "http://10.0.0.2:8080/"}, cred, false)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 || lines[0] != "live view: http://node7:8080/ (user observer, password pw)" ||
		lines[1] != "live view: also http://10.0.0.2:8080/" || !hasWarning(lines[2:]) {
		t.Errorf("credentials over HTTP: %q", lines)
	}
	if got := uiBanner([]string{"https://node7:8080/"}, cred, true); hasWarning(strings.Split(got, "\n")) {
		t.Errorf("credentials over HTTPS: %q", got)
	}
	if got := uiBanner([]string{"http://127.0.0.1:8080/"}, nil, false); got != "live view: http://127.0.0.1:8080/\n" {
		t.Errorf("loopback: %q", got)
	}
}

// TestRunServesLiveView: `run --ui` serves the live view of its sweep
// while it runs: a page that connects once the sweep is submitted gets
// views of that sweep, whose counts add up and whose finished replicas
// never go back; the last view has every replica done, and the stream
// ends with an "end" event when the run does.
func TestRunServesLiveView(t *testing.T) {
	sw := smallSweep(t, 60000, 2, 20000)
	l, err := listenUI("--ui", "127.0.0.1:0", "", "")
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

// TestRunUITLSFlags: run's --ui-tls-cert and --ui-tls-key without --ui,
// and a certificate without its key, are usage errors naming the flags,
// before any sweep runs.
func TestRunUITLSFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	for _, args := range [][]string{
		{"run", "--out", out, "--ui-tls-cert", "c.pem", "--ui-tls-key", "k.pem"},
		{"run", "--out", out, "--ui", "127.0.0.1:0", "--ui-tls-cert", "c.pem"},
	} {
		err := runCLI(t, args...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--ui-tls-cert") || !strings.Contains(err.Error(), "--ui-tls-key") {
			t.Errorf("%v: %v, want a usage error naming --ui-tls-cert and --ui-tls-key", args, err)
		}
	}
}

// TestUIAddrPort: a --ui or --addr whose port is not a number from 0 to
// 65535 is a usage error naming the flag and the port, before anything
// listens (was the listener's "listen tcp: address 99999: invalid port",
// exit 1).
func TestUIAddrPort(t *testing.T) {
	for _, c := range []struct{ flag, addr string }{{"--addr", ":99999"}, {"--addr", "127.0.0.1:http"}, {"--ui", "127.0.0.1:-1"}} {
		_, err := listenUI(c.flag, c.addr, "", "")
		var ue *usageError
		want := fmt.Sprintf("%s %q: port", c.flag, c.addr)
		if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "0 to 65535") {
			t.Errorf("%s %s: %v, want a usage error starting %q", c.flag, c.addr, err, want)
		}
	}
}

package liveview

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/internal/testcert"
)

// TestServeTLS: with Options.TLS the page is served over HTTPS: a client
// that trusts the certificate gets the page (with the credentials still
// required), one that does not is refused with an unknown-authority
// error, and a plain-HTTP request gets no page.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, cert := testcert.SelfSigned(t, t.TempDir())
	cfg, err := LoadTLS(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Options{User: "observer", Password: "secret", TLS: cfg, ErrorLog: log.New(io.Discard, "", 0)})
	if srv.Scheme() != "https" || NewServer(Options{}).Scheme() != "http" {
		t.Errorf("schemes: %q with TLS, %q without", srv.Scheme(), NewServer(Options{}).Scheme())
	}
	ln, err := Listen("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	addr := ln.Addr().String()

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer trusting.CloseIdleConnections()
	get := func(c *http.Client, url string, auth bool) (*http.Response, string, error) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if auth {
			req.SetBasicAuth("observer", "secret")
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	resp, body, err := get(trusting, "https://"+addr+"/", true)
	if err != nil {
		t.Fatalf("HTTPS with a client that trusts the certificate: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || !strings.Contains(body, "app.js") {
		t.Errorf("HTTPS page: %d, TLS %v, %.80q", resp.StatusCode, resp.TLS != nil, body)
	}
	if resp, _, err := get(trusting, "https://"+addr+"/", false); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("HTTPS without credentials: %v %v, want 401", resp, err)
	}

	distrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	defer distrusting.CloseIdleConnections()
	_, _, err = get(distrusting, "https://"+addr+"/", true)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("HTTPS with a client that does not trust the certificate: %v, want an unknown authority error", err)
	}

	resp, body, err = get(http.DefaultClient, "http://"+addr+"/", true)
	if err == nil && (resp.StatusCode == http.StatusOK || strings.Contains(body, "app.js")) {
		t.Errorf("plain HTTP on the TLS listener: %d %.80q", resp.StatusCode, body)
	}
}

// TestLoadTLSErrors: a missing file or a key that is not the
// certificate's is a one-line error naming both files.
func TestLoadTLSErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := testcert.SelfSigned(t, dir)
	other := t.TempDir()
	_, otherKey, _ := testcert.SelfSigned(t, other)
	for _, c := range [][2]string{{filepath.Join(dir, "missing.pem"), keyFile}, {certFile, otherKey}, {keyFile, certFile}} {
		_, err := LoadTLS(c[0], c[1])
		if err == nil || !strings.Contains(err.Error(), c[0]) || !strings.Contains(err.Error(), c[1]) || strings.Contains(err.Error(), "\n") {
			t.Errorf("LoadTLS(%s, %s): %v, want a one-line error naming both", c[0], c[1], err)
		}
	}
}

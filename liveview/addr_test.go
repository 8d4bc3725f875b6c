package liveview

import (
	"net"
	"slices"
	"strings"
	"testing"
)

// TestURLs: an address that names a host is its own URL (IPv6 in
// brackets); on every interface the URLs are the host name and the
// non-loopback addresses, usable from another machine (never 0.0.0.0, ::
// or a loopback or link-local address), with the scheme asked for.
func TestURLs(t *testing.T) {
	if got := URLs("http", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}); !slices.Equal(got, []string{"http://127.0.0.1:8080/"}) {
		t.Errorf("loopback: %v", got)
	}
	if got := URLs("https", &net.TCPAddr{IP: net.ParseIP("2001:db8::5"), Port: 443}); !slices.Equal(got, []string{"https://[2001:db8::5]:443/"}) {
		t.Errorf("IPv6 host: %v", got)
	}
	ifaddrs := []net.Addr{
		&net.IPNet{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(8, 32)},
		&net.IPNet{IP: net.ParseIP("::1"), Mask: net.CIDRMask(128, 128)},
		&net.IPNet{IP: net.IPv4(192, 168, 1, 5), Mask: net.CIDRMask(24, 32)},
		&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
		&net.IPNet{IP: net.ParseIP("2001:db8::7"), Mask: net.CIDRMask(64, 128)},
		&net.IPAddr{IP: net.IPv4(10, 0, 0, 2)},
	}
	got := everyInterfaceURLs("https", false, 8080, "node7", ifaddrs)
	want := []string{"https://node7:8080/", "https://192.168.1.5:8080/", "https://10.0.0.2:8080/", "https://[2001:db8::7]:8080/"}
	if !slices.Equal(got, want) {
		t.Errorf("every interface (::): %v, want %v", got, want)
	}
	got = everyInterfaceURLs("http", true, 8080, "node7", ifaddrs)
	want = []string{"http://node7:8080/", "http://192.168.1.5:8080/", "http://10.0.0.2:8080/"}
	if !slices.Equal(got, want) {
		t.Errorf("every interface (0.0.0.0): %v, want %v", got, want)
	}
	if got := everyInterfaceURLs("http", true, 80, "", ifaddrs[:2]); !slices.Equal(got, []string{"http://0.0.0.0:80/"}) {
		t.Errorf("no host name, only loopback: %v", got)
	}
	// This machine's: none is the unspecified address when it has a name.
	for _, a := range []*net.TCPAddr{{IP: net.IPv4zero, Port: 8080}, {IP: net.IPv6unspecified, Port: 8080}} {
		got := URLs("http", a)
		if len(got) == 0 {
			t.Errorf("URLs(%s): none", a)
		}
		for _, u := range got {
			if strings.Contains(u, "[::]") || strings.Contains(u, "0.0.0.0") && len(got) > 1 || strings.Contains(u, "127.0.0.1") {
				t.Errorf("URLs(%s): %v", a, got)
			}
		}
	}
}

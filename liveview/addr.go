package liveview

import (
	"net"
	"os"
	"strconv"
)

// URLs returns the URLs of a page served on addr (a listener's address)
// with scheme ("http" or "https"), the first the one to print first. An
// address that names a host is its own URL. On every interface (0.0.0.0,
// ::) the address itself is of no use on another machine: the URLs are
// the machine's host name (os.Hostname) and then its addresses that are
// not loopback (IPv4 only for 0.0.0.0; IPv6 link-local addresses left
// out, since a browser cannot be given their zone), and the address
// itself only when the machine has neither.
func URLs(scheme string, addr net.Addr) []string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return []string{scheme + "://" + addr.String() + "/"}
	}
	if !tcp.IP.IsUnspecified() {
		return []string{urlOf(scheme, tcp.IP.String(), tcp.Port)}
	}
	host, _ := os.Hostname()
	ifaddrs, _ := net.InterfaceAddrs()
	return everyInterfaceURLs(scheme, tcp.IP.To4() != nil, tcp.Port, host, ifaddrs)
}

// everyInterfaceURLs returns the URLs of a page on port of every
// interface (only the IPv4 ones when v4only) of a machine named host with
// the interface addresses ifaddrs.
func everyInterfaceURLs(scheme string, v4only bool, port int, host string, ifaddrs []net.Addr) []string {
	var urls []string
	if host != "" {
		urls = append(urls, urlOf(scheme, host, port))
	}
	var v6 []string
	for _, a := range ifaddrs {
		var ip net.IP
		switch a := a.(type) {
		case *net.IPNet:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		default:
			continue
		}
		switch {
		case ip.IsLoopback() || ip.IsUnspecified() || ip.IsMulticast():
		case ip.To4() != nil:
			urls = append(urls, urlOf(scheme, ip.String(), port))
		case !v4only && !ip.IsLinkLocalUnicast():
			v6 = append(v6, urlOf(scheme, ip.String(), port))
		}
	}
	urls = append(urls, v6...)
	if len(urls) == 0 {
		unspecified := "::"
		if v4only {
			unspecified = "0.0.0.0"
		}
		urls = append(urls, urlOf(scheme, unspecified, port))
	}
	return urls
}

func urlOf(scheme, host string, port int) string {
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
}

package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// ParseTrustedProxies parses --trusted-proxies: comma-separated CIDR
// prefixes or single addresses (a single address is its /32 or /128).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither a CIDR prefix nor an address", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// clients is the outermost handler's knowledge of the network: which
// peers are trusted proxies and whether the public URL is https.
type clients struct {
	trusted     []netip.Prefix
	publicHTTPS bool
}

func (n clients) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range n.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// client works out the Client of r (identity.md §4): X-Forwarded-For and
// X-Forwarded-Proto count only when the peer is a trusted proxy; the
// address is then the right-most hop that is not a trusted proxy (hops
// left of it could be forged by the client), and the scheme the
// right-most X-Forwarded-Proto value, the one the trusted peer set.
func (n clients) client(r *http.Request) surface.Client {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	c := surface.Client{IP: host, Secure: r.TLS != nil || n.publicHTTPS}
	peer, err := netip.ParseAddr(host)
	if err != nil || !n.isTrusted(peer) {
		return c
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			break // garbage: the last trusted hop is as far as we know
		}
		c.IP = a.Unmap().String()
		if !n.isTrusted(a) {
			break
		}
	}
	if v := r.Header.Values("X-Forwarded-Proto"); len(v) > 0 {
		protos := strings.Split(v[len(v)-1], ",")
		if strings.EqualFold(strings.TrimSpace(protos[len(protos)-1]), "https") {
			c.Secure = true
		}
	}
	return c
}

// withClients records every request's Client for the surfaces
// (surface.ClientIP, surface.SetSessionCookie).
func (n clients) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, surface.WithClient(r, n.client(r)))
	})
}

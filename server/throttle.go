package server

import (
	"net"
	"net/http"
	"sync"

	"golang.org/x/time/rate"
)

// maxTrackedClients bounds how many client addresses the failure throttle
// remembers; addresses whose budget has refilled are forgotten first.
const maxTrackedClients = 16384

// failureThrottle counts failed authentications per client address. An
// address that spent its budget is refused before anything of its
// requests is read, until the budget refills.
type failureThrottle struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*clientFailures
}

type clientFailures struct {
	lim *rate.Limiter
	// refused: the address has been refused since its last allowed
	// request (the first refusal of a run is logged, the others are not).
	refused bool
}

func newFailureThrottle(r rate.Limit, burst int) *failureThrottle {
	return &failureThrottle{rate: r, burst: burst, clients: map[string]*clientFailures{}}
}

// allow reports whether the address may send a request; first is true
// for the first refusal of a run.
func (f *failureThrottle) allow(addr string) (ok, first bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[addr]
	if c == nil || c.lim.Tokens() >= 1 {
		if c != nil {
			c.refused = false
		}
		return true, false
	}
	first = !c.refused
	c.refused = true
	return false, first
}

// fail counts a failed authentication from the address.
func (f *failureThrottle) fail(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[addr]
	if c == nil {
		if len(f.clients) >= maxTrackedClients {
			for a, o := range f.clients {
				if o.lim.Tokens() >= float64(f.burst) {
					delete(f.clients, a)
				}
			}
			if len(f.clients) >= maxTrackedClients {
				for a := range f.clients { // make room: forget one at random
					delete(f.clients, a)
					break
				}
			}
		}
		c = &clientFailures{lim: rate.NewLimiter(f.rate, f.burst)}
		f.clients[addr] = c
	}
	c.lim.Allow()
}

// clientAddr is the address a request's failures are counted against: its
// IP, or its /64 for IPv6 (one host usually holds a whole /64). Behind a
// reverse proxy this is the proxy's address.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return host
	case ip.To4() != nil:
		return ip.To4().String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

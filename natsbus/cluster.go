package natsbus

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// clusterOptions makes sopts a member of the embedded servers' cluster that
// opts describes.
func clusterOptions(sopts *server.Options, opts Options) error {
	if opts.ClusterListen == "" {
		return fmt.Errorf("cluster routes need a cluster listen address")
	}
	host, portStr, err := net.SplitHostPort(opts.ClusterListen)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil || port < 0 || port > 65535 {
		return fmt.Errorf("cluster listen address %q: want host:port", opts.ClusterListen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else {
		// nats-server would find the port taken only after New's connect
		// timeout, and say nothing: try it first, for a prompt, clear error.
		ln, err := net.Listen("tcp", opts.ClusterListen)
		if err != nil {
			return fmt.Errorf("cluster listen address: %w", err)
		}
		ln.Close()
	}
	routes, err := ParseRoutes(opts.ClusterRoutes)
	if err != nil {
		return err
	}
	name := opts.ClusterName
	if name == "" {
		name = DefaultClusterName
	}
	// Servers of a cluster refuse a route from one with their own name:
	// each takes its unique server ID as its name instead.
	sopts.ServerName = ""
	// nats-server starts routing only once its client port listens: so it
	// listens, on a loopback port of its choosing, and asks for a token
	// that only this process knows.
	sopts.DontListen = false
	sopts.Host = "127.0.0.1"
	sopts.Port = server.RANDOM_PORT
	sopts.Authorization = rand.Text()
	sopts.Cluster = server.ClusterOpts{Name: name, Host: host, Port: port}
	sopts.Routes = routes
	return nil
}

// ParseRoutes checks a list of cluster routes, nats://host:port each,
// and returns them as URLs. Empty entries are skipped.
func ParseRoutes(list []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range list {
		if r == "" {
			continue
		}
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "nats" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("cluster route %q: want nats://host:port", r)
		}
		out = append(out, u)
	}
	return out, nil
}

// ClusterAddr returns the address the embedded server accepts routes on,
// or nil if it is no member of a cluster.
func (b *Bus) ClusterAddr() *net.TCPAddr {
	if b.ns == nil {
		return nil
	}
	return b.ns.ClusterAddr()
}

// Peers returns the server IDs of the other nodes' embedded servers this
// one has a route to, sorted; none without a cluster.
func (b *Bus) Peers() []string {
	if b.ns == nil {
		return nil
	}
	rz, err := b.ns.Routez(nil)
	if err != nil {
		return nil
	}
	var ids []string
	for _, r := range rz.Routes {
		if !slices.Contains(ids, r.RemoteID) { // pooled: several routes per peer
			ids = append(ids, r.RemoteID)
		}
	}
	slices.Sort(ids)
	return ids
}

// waitForRoute waits up to d (default 2 s) for a route to another node.
func (b *Bus) waitForRoute(d time.Duration) {
	if d == 0 {
		d = 2 * time.Second
	}
	deadline := time.Now().Add(d)
	for b.ns.NumRoutes() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// watchRoutes logs routes coming up and going down, and signals loss to
// every subscriber when one comes up: what the nodes published to each
// other while they were apart is gone, and subscribers resynchronise from
// the store. It returns when Close is called.
func (b *Bus) watchRoutes() {
	defer b.watcher.Done()
	t := time.NewTicker(routePoll)
	defer t.Stop()
	seen := map[string]int{} // peer -> polls it has been seen in, up to 2
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
		}
		now := b.Peers()
		for peer := range seen {
			if !slices.Contains(now, peer) {
				delete(seen, peer)
				b.logger.Warn("bus route down", "peer", peer, "peers", len(now))
			}
		}
		lost := false
		for _, peer := range now {
			switch seen[peer] {
			case 0:
				b.logger.Info("bus route up", "peer", peer, "peers", len(now))
				seen[peer] = 1
			case 1:
				lost = true
				seen[peer] = 2
			}
		}
		if lost {
			b.signalLoss(nil)
		}
	}
}

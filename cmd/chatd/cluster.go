package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/chatd/chatd/natsbus"
)

// checkCluster refuses the --cluster-* flags where a cluster of embedded
// NATS servers cannot work.
func checkCluster(c config) error {
	if c.clusterListen == "" && c.clusterRoutes == "" && c.clusterName == natsbus.DefaultClusterName {
		return nil
	}
	switch {
	case c.natsURL != "":
		return errors.New("--cluster-* and --nats-url exclude each other: the nodes' embedded NATS servers form the cluster, or an external NATS joins them, not both")
	case c.postgresURL == "":
		return errors.New("--cluster-* needs --postgres-url: with SQLite each node numbers messages on its own, and a cluster needs one shared database")
	case c.clusterListen == "":
		return errors.New("--cluster-routes and --cluster-name need --cluster-listen: the other nodes connect to this one there")
	}
	if _, err := natsbus.ParseRoutes(splitList(c.clusterRoutes)); err != nil {
		return fmt.Errorf("--cluster-routes: %w", err)
	}
	return nil
}

// splitList splits a comma-separated flag value, trimming white space and
// dropping empty entries.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

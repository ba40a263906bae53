package redistest

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Topology is a Redis set-up that a test can start: its Start returns the
// OKTAWATCH_* settings that point the service at it (without the prefix) and
// an administrative client.
type Topology struct {
	Name  string
	Start func(t *testing.T) (map[string]string, redis.UniversalClient)
}

// Topologies returns a single server and a three-primary cluster, for tests
// that must hold on both.
func Topologies() []Topology {
	return []Topology{
		{Name: "single server", Start: func(t *testing.T) (map[string]string, redis.UniversalClient) {
			srv := Server(t)
			return map[string]string{"REDIS_URL": "redis://" + srv.Addr + "/0"}, srv.Client()
		}},
		{Name: "cluster", Start: func(t *testing.T) (map[string]string, redis.UniversalClient) {
			cluster := Cluster(t, 3)
			return map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(cluster.Addrs(), ",")}, cluster.Client()
		}},
	}
}

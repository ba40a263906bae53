package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis Cluster facts that the helpers below rely on.
const (
	// busPortOffset is the distance from a node's client port to its
	// cluster bus port, fixed by Redis Cluster.
	busPortOffset = 10000
	// clusterSlots is the number of hash slots of every Redis Cluster.
	clusterSlots = 16384
	// minPrimaries is the smallest cluster that redis-cli --cluster create
	// accepts.
	minPrimaries = 3
)

// Timeouts and tries of the cluster set-up.
const (
	createTimeout = 60 * time.Second
	// portTries bounds how often a node is started again on other ports when
	// its ports were taken between the check and the start.
	portTries = 5
	// nodePollInterval is how often the set-up polls a node for its state.
	nodePollInterval = 50 * time.Millisecond
)

// errPortTaken marks a node that could not bind its ports.
var errPortTaken = errors.New("port already in use")

// ClusterInstance is a Redis Cluster of primaries without replicas, each a
// redis-server process on loopback, started by a test.
type ClusterInstance struct {
	nodes []*clusterNode
	tb    testing.TB
}

type clusterNode struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Cluster starts primaries redis-server processes in cluster mode, joins
// them with redis-cli --cluster create, and waits until every node reports
// cluster_state:ok with all slots assigned. The nodes are stopped when the
// test ends. Like Server, it skips the test when redis-server or redis-cli is
// missing, and fails it instead under CI=true.
func Cluster(tb testing.TB, primaries int) *ClusterInstance {
	tb.Helper()
	if primaries < minPrimaries {
		tb.Fatalf("redistest.Cluster: %d primaries requested; Redis Cluster needs at least %d", primaries, minPrimaries)
	}
	server := Binary(tb, "redis-server")
	cli := Binary(tb, "redis-cli")

	c := &ClusterInstance{tb: tb}
	tb.Cleanup(c.Stop)
	for range primaries {
		c.nodes = append(c.nodes, startClusterNode(tb, server))
	}
	c.create(cli)
	c.waitUntilOK()
	return c
}

// Addrs returns the host:port address of every node, to use as seeds.
func (c *ClusterInstance) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.addr
	}
	return addrs
}

// Client returns a cluster client seeded with every node, closed when the
// test ends.
func (c *ClusterInstance) Client() *redis.ClusterClient {
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	c.tb.Cleanup(func() { _ = client.Close() })
	return client
}

// Stop kills every node and waits for it to exit. It is safe to call more
// than once.
func (c *ClusterInstance) Stop() {
	for _, n := range c.nodes {
		n.stop()
	}
}

// startClusterNode starts one node on a client port whose bus port is free
// too. Another process may take either port between the check and the
// start, so a node that fails to bind is started again on other ports.
func startClusterNode(tb testing.TB, bin string) *clusterNode {
	tb.Helper()
	var err error
	for range portTries {
		var n *clusterNode
		n, err = tryClusterNode(tb, bin, clusterPort(tb))
		if err == nil {
			return n
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	tb.Fatalf("start redis cluster node: %v", err)
	return nil
}

// clusterPort returns a free client port whose bus port is free as well.
func clusterPort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		port := FreePort(tb)
		if port+busPortOffset > 65535 {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+busPortOffset))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port
	}
	tb.Fatalf("found no free port p on 127.0.0.1 with p+%d free as well in 100 tries", busPortOffset)
	return 0
}

func tryClusterNode(tb testing.TB, bin string, port int) (*clusterNode, error) {
	dir := tb.TempDir()
	logFile := filepath.Join(dir, "redis.log")
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "yes",
		"--logfile", logFile,
	)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	n := &clusterNode{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(n.exited) }()

	if err := n.waitForStart(); err != nil {
		n.stop()
		log, _ := os.ReadFile(logFile)
		if errors.Is(err, errPortTaken) || bytes.Contains(log, []byte("Address already in use")) {
			return nil, fmt.Errorf("node on %s: %w", n.addr, errPortTaken)
		}
		return nil, fmt.Errorf("node on %s: %w; log:\n%s", n.addr, err, log)
	}
	return n, nil
}

// waitForStart polls the node until it responds, and checks that the
// process id it reports is this process, not another server on the port.
func (n *clusterNode) waitForStart() error {
	// One dial per poll: go-redis would otherwise retry a refused dial
	// several times before the next check of the process.
	client := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	defer client.Close()
	want := "process_id:" + strconv.Itoa(n.cmd.Process.Pid)
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := client.Info(ctx, "server").Result()
		cancel()
		switch {
		case err == nil && strings.Contains(info, want+"\r\n"):
			return nil
		case err == nil:
			return fmt.Errorf("another server responds on %s: %w", n.addr, errPortTaken)
		}
		select {
		case <-n.exited:
			return fmt.Errorf("redis-server exited during start: %v", n.cmd.ProcessState)
		case <-time.After(nodePollInterval):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no response within %s: %w", startTimeout, err)
		}
	}
}

func (n *clusterNode) stop() {
	if n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// create assigns the slots evenly to the nodes and joins them.
func (c *ClusterInstance) create(cli string) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		c.tb.Fatalf("redis-cli --cluster create %s: %v\n%s", strings.Join(c.Addrs(), " "), err, out)
	}
}

// waitUntilOK polls CLUSTER INFO on every node until each one lists every
// node as known and all slots as served.
func (c *ClusterInstance) waitUntilOK() {
	c.tb.Helper()
	want := []string{
		"cluster_state:ok",
		fmt.Sprintf("cluster_slots_ok:%d", clusterSlots),
		fmt.Sprintf("cluster_known_nodes:%d", len(c.nodes)),
	}
	deadline := time.Now().Add(createTimeout)
	for _, n := range c.nodes {
		client := redis.NewClient(&redis.Options{Addr: n.addr})
		last, ok := pollClusterInfo(client, want, deadline)
		_ = client.Close()
		if !ok {
			c.tb.Fatalf("redis cluster node %s not ready within %s; want %s in CLUSTER INFO, last reply:\n%s",
				n.addr, createTimeout, strings.Join(want, ", "), last)
		}
	}
}

// pollClusterInfo returns the last CLUSTER INFO reply and whether it
// contained every wanted line before the deadline.
func pollClusterInfo(client *redis.Client, want []string, deadline time.Time) (string, bool) {
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := client.ClusterInfo(ctx).Result()
		cancel()
		if err != nil {
			last = err.Error()
		} else {
			last = info
			if containsLines(info, want) {
				return info, true
			}
		}
		if time.Now().After(deadline) {
			return last, false
		}
		time.Sleep(nodePollInterval) // polling interval, not a guess at readiness
	}
}

func containsLines(info string, want []string) bool {
	lines := make(map[string]bool)
	for _, line := range strings.Split(info, "\n") {
		lines[strings.TrimSpace(line)] = true
	}
	for _, w := range want {
		if !lines[w] {
			return false
		}
	}
	return true
}

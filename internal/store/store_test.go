package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/store"
)

// Invented credentials, distinctive so that a leak into error text is found
// by a substring search.
const (
	testUser      = "oktawatch"
	testPassword  = "test-password-not-real-5c1d"
	wrongPassword = "wrong-password-not-real-93ab"
	hookSecret    = "test-secret-not-real-0123456789"
)

// withTestUser are redis-server arguments that add testUser with
// testPassword and every permission, next to the default user.
var withTestUser = []string{"--user", testUser, "on", ">" + testPassword, "~*", "&*", "+@all"}

// recoveryTimeout bounds how long the client may take to work again after
// Redis is back.
const recoveryTimeout = 10 * time.Second

// loadConfig returns the configuration the service would load from the
// given OKTAWATCH_* settings (without the prefix) and nothing else from the
// environment, so the tests run with the shipped defaults.
func loadConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, config.Prefix+"_") {
			t.Setenv(name, "") // registers the restore at the end of the test
			os.Unsetenv(name)
		}
	}
	t.Setenv(config.Prefix+"_OKTA_AUTH_SECRET", hookSecret)
	for name, value := range env {
		t.Setenv(config.Prefix+"_"+name, value)
	}
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatalf("load configuration: %v", err)
	}
	return cfg
}

func open(t *testing.T, cfg config.Redis) redis.UniversalClient {
	t.Helper()
	client, closeClient, err := store.Open(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(closeClient)
	return client
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpen_SingleURL(t *testing.T) {
	srv := redistest.Server(t, withTestUser...)
	base := loadConfig(t, map[string]string{"REDIS_URL": "redis://" + srv.Addr + "/3"}).Redis
	withUser := fmt.Sprintf("redis://%s:%s@%s/3", testUser, testPassword, srv.Addr)
	tests := []struct {
		name     string
		url      string
		username string
		password config.Secret
		wantUser string
	}{
		{name: "credentials in the URL", url: withUser, wantUser: testUser},
		{name: "credentials from the settings when the URL has none", url: base.URL, username: testUser, password: testPassword, wantUser: testUser},
		{name: "URL credentials take precedence over the settings", url: withUser, username: "default", password: wrongPassword, wantUser: testUser},
		{name: "no credentials connect as the default user", url: base.URL, wantUser: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.URL, cfg.Username, cfg.Password = tt.url, tt.username, tt.password
			client := open(t, cfg)
			ctx := testContext(t)

			user, err := client.ACLWhoAmI(ctx).Result()
			setErr := client.Set(ctx, "store-test:db", tt.name, 0).Err()

			if err != nil {
				t.Fatalf("ACL WHOAMI: %v", err)
			}
			if user != tt.wantUser {
				t.Errorf("connected as %q, want %q", user, tt.wantUser)
			}
			if setErr != nil {
				t.Fatalf("SET: %v", setErr)
			}
			db3 := redis.NewClient(&redis.Options{Addr: srv.Addr, DB: 3})
			defer db3.Close()
			if got := db3.Get(ctx, "store-test:db").Val(); got != tt.name {
				t.Errorf("database 3 contains %q, want %q: the database number of the URL was not used", got, tt.name)
			}
		})
	}
}

func TestOpen_WrongPasswordRejectedWithoutEcho(t *testing.T) {
	srv := redistest.Server(t, withTestUser...)
	cfg := loadConfig(t, map[string]string{
		"REDIS_URL": fmt.Sprintf("redis://%s:%s@%s/0", testUser, wrongPassword, srv.Addr),
	})
	client := open(t, cfg.Redis)

	err := client.Ping(testContext(t)).Err()

	if err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("PING with a wrong password: got %v, want a WRONGPASS error", err)
	}
	if strings.Contains(err.Error(), wrongPassword) {
		t.Errorf("error %q contains the password", err)
	}
}

func TestOpen_Embedded(t *testing.T) {
	cfg := loadConfig(t, nil)
	if mode := cfg.Redis.Mode(); mode != "embedded" {
		t.Fatalf("mode without Redis settings is %q, want embedded", mode)
	}

	client := open(t, cfg.Redis)

	if err := client.Ping(testContext(t)).Err(); err != nil {
		t.Fatalf("PING the embedded redis: %v", err)
	}
}

func TestOpen_Cluster(t *testing.T) {
	cluster := redistest.Cluster(t, 3)
	tests := []struct {
		name  string
		seeds []string
	}{
		{name: "every node as a seed", seeds: cluster.Addrs()},
		{name: "one seed discovers the rest", seeds: cluster.Addrs()[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(tt.seeds, ",")})
			client := open(t, cfg.Redis)
			ctx := testContext(t)
			if err := cluster.Client().FlushAll(ctx).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}

			for i := range 64 {
				if err := client.Set(ctx, fmt.Sprintf("store-test:%d", i), i, 0).Err(); err != nil {
					t.Fatalf("SET key %d: %v", i, err)
				}
			}

			if _, ok := client.(*redis.ClusterClient); !ok {
				t.Fatalf("store.Open returned %T, want *redis.ClusterClient", client)
			}
			err := cluster.Client().ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
				if n := node.DBSize(ctx).Val(); n == 0 {
					return fmt.Errorf("primary %s holds none of the 64 keys", node.Options().Addr)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

func TestOpen_ClusterRejectsScriptAcrossSlots(t *testing.T) {
	cluster := redistest.Cluster(t, 3)
	cfg := loadConfig(t, map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(cluster.Addrs(), ",")})
	client := open(t, cfg.Redis)
	ctx := testContext(t)
	script := redis.NewScript(`redis.call('SET', KEYS[1], 1); redis.call('SET', KEYS[2], 1); return 1`)

	sameSlot := script.Run(ctx, client, []string{"store-test:{tag}:a", "store-test:{tag}:b"}).Err()
	acrossSlots := script.Run(ctx, client, []string{"store-test:a", "store-test:b"}).Err()

	if sameSlot != nil {
		t.Errorf("script over keys of one hash tag: %v", sameSlot)
	}
	if acrossSlots == nil || !strings.Contains(acrossSlots.Error(), "CROSSSLOT") {
		t.Errorf("script over keys in two slots: got %v, want a CROSSSLOT error", acrossSlots)
	}
}

func TestValidate_RejectsMixedRedisModes(t *testing.T) {
	base := loadConfig(t, nil)
	secretURL := "redis://" + testUser + ":" + testPassword + "@127.0.0.1:6379/0"
	tests := []struct {
		name  string
		redis func(*config.Redis)
		want  []string
	}{
		{
			name:  "URL and cluster",
			redis: func(r *config.Redis) { r.URL, r.ClusterAddrs = secretURL, []string{"127.0.0.1:7000"} },
			want:  []string{"OKTAWATCH_REDIS_URL, OKTAWATCH_REDIS_CLUSTER_ADDRS", "more than one is set", "choose one Redis mode"},
		},
		{
			name: "URL and sentinel",
			redis: func(r *config.Redis) {
				r.URL, r.SentinelMaster, r.SentinelAddrs = secretURL, "mymaster", []string{"127.0.0.1:26379"}
			},
			want: []string{"OKTAWATCH_REDIS_SENTINEL_*", "choose one Redis mode"},
		},
		{
			name: "cluster and sentinel",
			redis: func(r *config.Redis) {
				r.ClusterAddrs, r.SentinelMaster, r.SentinelAddrs = []string{"127.0.0.1:7000"}, "mymaster", []string{"127.0.0.1:26379"}
			},
			want: []string{"choose one Redis mode"},
		},
		{
			name:  "sentinel master without addresses",
			redis: func(r *config.Redis) { r.SentinelMaster = "mymaster" },
			want:  []string{"OKTAWATCH_REDIS_SENTINEL_MASTER and OKTAWATCH_REDIS_SENTINEL_ADDRS: set both or neither"},
		},
		{
			name:  "sentinel addresses without a master",
			redis: func(r *config.Redis) { r.SentinelAddrs = []string{"127.0.0.1:26379"} },
			want:  []string{"OKTAWATCH_REDIS_SENTINEL_MASTER and OKTAWATCH_REDIS_SENTINEL_ADDRS: set both or neither"},
		},
		{
			name:  "cluster address without a port",
			redis: func(r *config.Redis) { r.ClusterAddrs = []string{"127.0.0.1"} },
			want:  []string{`invalid address "127.0.0.1"`, "use host:port"},
		},
		{
			name:  "URL with a scheme other than redis",
			redis: func(r *config.Redis) { r.URL = "http://" + testUser + ":" + testPassword + "@127.0.0.1:6379" },
			want:  []string{"OKTAWATCH_REDIS_URL: invalid value", "use redis://host:6379/0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.redis(&cfg.Redis)

			err := cfg.Validate()

			if err == nil {
				t.Fatal("Validate accepted the configuration, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestOpen_RecoversAfterRestart(t *testing.T) {
	srv := redistest.Server(t)
	cfg := loadConfig(t, map[string]string{"REDIS_URL": "redis://" + srv.Addr + "/0"})
	client := open(t, cfg.Redis)
	ctx := testContext(t)
	if err := concurrentWrites(ctx, client, 20); err != nil {
		t.Fatalf("before the restart: %v", err)
	}

	srv.Stop()
	downErr := client.Ping(ctx).Err()
	srv.Start()
	recovered := waitForPing(ctx, client, recoveryTimeout)

	if downErr == nil {
		t.Fatal("PING succeeded while redis-server was stopped")
	}
	if !recovered {
		t.Fatalf("PING still failing %s after redis-server was back on %s", recoveryTimeout, srv.Addr)
	}
	// Every pooled connection died with the server. The pool must drop them
	// rather than hand them to the next commands.
	if err := concurrentWrites(ctx, client, 20); err != nil {
		t.Errorf("after the restart: %v", err)
	}
}

// concurrentWrites runs n SETs at once, so the pool holds several
// connections, and returns the first error.
func concurrentWrites(ctx context.Context, client redis.UniversalClient, n int) error {
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- client.Set(ctx, fmt.Sprintf("store-test:%d", i), i, 0).Err() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func waitForPing(ctx context.Context, client redis.UniversalClient, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if store.Ping(ctx, client, time.Second) == nil {
			return true
		}
		time.Sleep(25 * time.Millisecond) // polling interval
	}
	return false
}

func TestDetector_ReloadsScriptsAfterFlush(t *testing.T) {
	for _, tt := range redistest.Topologies() {
		t.Run(tt.Name, func(t *testing.T) {
			env, admin := tt.Start(t)
			cfg := loadConfig(t, env)
			detector := burst.New(open(t, cfg.Redis), burst.Settings{
				Threshold: 5, Window: cfg.Window, Cooldown: cfg.Cooldown, MaxEventAge: cfg.MaxEventAge, AlertMaxAge: cfg.AlertMaxAge,
			})
			ctx := testContext(t)
			const groupID = "00gSCRIPTFLUSH000001"
			removals := testRemovals(groupID, 5)

			before, err := detector.Record(ctx, removals[:2], alert.SourceHook)
			if err != nil || len(before.Alerts) != 0 {
				t.Fatalf("first two removals: got %d alerts, error %v; want none", len(before.Alerts), err)
			}
			if err := forEachNode(ctx, admin, func(n *redis.Client) error { return n.ScriptFlush(ctx).Err() }); err != nil {
				t.Fatalf("SCRIPT FLUSH: %v", err)
			}
			if n := cachedScripts(t, ctx, admin); n != 0 {
				t.Fatalf("%d scripts cached after SCRIPT FLUSH, want 0", n)
			}
			after, err := detector.Record(ctx, removals[2:], alert.SourceHook)

			if err != nil {
				t.Fatalf("removals after SCRIPT FLUSH: %v", err)
			}
			if len(after.Alerts) != 1 || after.Recorded != 3 {
				t.Errorf("removals after SCRIPT FLUSH: recorded %d with %d alerts, want 3 with 1 alert", after.Recorded, len(after.Alerts))
			}
			if n := admin.XLen(ctx, burst.StreamKey(burst.ShardOf(groupID))).Val(); n != 1 {
				t.Errorf("alert stream holds %d entries, want 1", n)
			}
		})
	}
}

func testRemovals(groupID string, n int) []okta.Removal {
	first := time.Now().Add(-time.Minute).UTC()
	removals := make([]okta.Removal, n)
	for i := range removals {
		removals[i] = okta.Removal{
			EventID:   fmt.Sprintf("store-test-event-%04d", i),
			Published: first.Add(time.Duration(i) * time.Second),
			GroupID:   groupID,
			GroupName: "Store Test Group",
			UserID:    fmt.Sprintf("00uSTORETEST%08d", i),
			UserLogin: fmt.Sprintf("user%d@example.com", i),
		}
	}
	return removals
}

// forEachNode runs fn on the server, or on every primary of a cluster.
func forEachNode(ctx context.Context, client redis.UniversalClient, fn func(*redis.Client) error) error {
	switch c := client.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(_ context.Context, n *redis.Client) error { return fn(n) })
	case *redis.Client:
		return fn(c)
	default:
		return fmt.Errorf("unexpected client type %T", client)
	}
}

// cachedScripts returns the number of Lua scripts cached on all nodes,
// read from INFO memory.
func cachedScripts(t *testing.T, ctx context.Context, client redis.UniversalClient) int {
	t.Helper()
	var mu sync.Mutex
	total := 0
	err := forEachNode(ctx, client, func(n *redis.Client) error {
		info, err := n.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		var count int
		for _, line := range strings.Split(info, "\r\n") {
			if value, ok := strings.CutPrefix(line, "number_of_cached_scripts:"); ok {
				if _, err := fmt.Sscan(value, &count); err != nil {
					return fmt.Errorf("parse %q: %w", line, err)
				}
			}
		}
		mu.Lock()
		total += count
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("read cached scripts: %v", err)
	}
	return total
}

func TestWarnOnEviction(t *testing.T) {
	cases := map[string]int{"noeviction": 0, "volatile-lru": 1, "allkeys-lru": 1}
	for policy, wantWarnings := range cases {
		t.Run(policy, func(t *testing.T) {
			client := redistest.Server(t, "--maxmemory-policy", policy).Client()
			core, logs := observer.New(zap.DebugLevel)

			store.WarnOnEviction(context.Background(), client, zap.New(core))

			if n := logs.FilterLevelExact(zap.WarnLevel).Len(); n != wantWarnings {
				t.Errorf("%d warnings, want %d", n, wantWarnings)
			}
		})
	}
}

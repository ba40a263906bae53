package deploytest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// stageCompose copies docker-compose.yml and the files it refers to into a
// temporary directory, with .env.example as .env, and returns the directory.
// Loading the copy keeps a developer's real .env out of the test.
func stageCompose(t *testing.T, composeYAML []byte) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"docker-compose.yml":      composeYAML,
		".env":                    readRepoFile(t, ".env.example"),
		"Dockerfile":              readRepoFile(t, "Dockerfile"),
		"deploy/nginx/nginx.conf": readRepoFile(t, "deploy/nginx/nginx.conf"),
	}
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("create directory for %s: %v", name, err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
	}
	return dir
}

// loadCompose loads the staged project the way docker compose does, with
// only the environment of .env, so the host's variables cannot change it.
func loadCompose(dir string, profiles ...string) (*types.Project, error) {
	options, err := cli.NewProjectOptions(
		[]string{filepath.Join(dir, "docker-compose.yml")},
		cli.WithWorkingDirectory(dir),
		cli.WithEnvFiles(filepath.Join(dir, ".env")),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
	)
	if err != nil {
		return nil, err
	}
	return options.LoadProject(context.Background())
}

// mustLoadCompose loads the repository's docker-compose.yml with the given
// profiles and returns the project and its staging directory.
func mustLoadCompose(t *testing.T, profiles ...string) (*types.Project, string) {
	t.Helper()
	dir := stageCompose(t, readRepoFile(t, "docker-compose.yml"))
	project, err := loadCompose(dir, profiles...)
	if err != nil {
		t.Fatalf("load docker-compose.yml with profiles %v: %v", profiles, err)
	}
	return project, dir
}

func mustService(t *testing.T, project *types.Project, name string) types.ServiceConfig {
	t.Helper()
	service, err := project.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return service
}

func TestCompose_ProfilesSelectServices(t *testing.T) {
	tests := []struct {
		name     string
		profiles []string
		active   []string
		disabled []string
	}{
		{"default profile runs no tunnel", nil, []string{"lb", "oktawatch", "redis"}, []string{"ngrok"}},
		{"tunnel profile adds ngrok", []string{"tunnel"}, []string{"lb", "ngrok", "oktawatch", "redis"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project, _ := mustLoadCompose(t, tt.profiles...)

			active := project.ServiceNames()
			disabled := project.DisabledServiceNames()
			slices.Sort(active)
			slices.Sort(disabled)

			if !slices.Equal(active, tt.active) {
				t.Errorf("active services = %v, want %v", active, tt.active)
			}
			if !slices.Equal(disabled, tt.disabled) {
				t.Errorf("disabled services = %v, want %v", disabled, tt.disabled)
			}
		})
	}
}

func TestCompose_OktawatchService(t *testing.T) {
	project, dir := mustLoadCompose(t)

	service := mustService(t, project, "oktawatch")

	if service.Deploy == nil || service.Deploy.Replicas == nil {
		t.Error("deploy.replicas is unset, want 3")
	} else if *service.Deploy.Replicas != 3 {
		t.Errorf("deploy.replicas = %d, want 3", *service.Deploy.Replicas)
	}
	if service.Build == nil || service.Build.Context != dir || service.Build.Dockerfile != "Dockerfile" {
		t.Errorf("build = %+v, want context %s and dockerfile Dockerfile", service.Build, dir)
	}
	if len(service.Ports) != 0 {
		t.Errorf("ports = %v, want none because lb is the only entry", service.Ports)
	}
	if service.ContainerName != "" {
		t.Errorf("container_name = %q, want none because it allows only one replica", service.ContainerName)
	}
	if dependency, ok := service.DependsOn["redis"]; !ok || dependency.Condition != types.ServiceConditionHealthy {
		t.Errorf("depends_on redis = %+v, want condition %s", dependency, types.ServiceConditionHealthy)
	}
	if !service.ReadOnly || !slices.Contains(service.CapDrop, "ALL") {
		t.Errorf("read_only = %v, cap_drop = %v, want a read-only root and all capabilities dropped", service.ReadOnly, service.CapDrop)
	}
}

func TestCompose_OktawatchEnvironment(t *testing.T) {
	project, dir := mustLoadCompose(t)
	env := parseEnvExampleValues(t)

	service := mustService(t, project, "oktawatch")

	if len(service.EnvFiles) != 1 || service.EnvFiles[0].Path != filepath.Join(dir, ".env") {
		t.Errorf("env_file = %+v, want only .env", service.EnvFiles)
	}
	if got := valueOf(service.Environment, "OKTAWATCH_REDIS_URL"); got != "redis://redis:6379/0" {
		t.Errorf("OKTAWATCH_REDIS_URL = %q, want redis://redis:6379/0", got)
	}
	for name, want := range env {
		if !strings.HasPrefix(name, "OKTAWATCH_") {
			continue
		}
		if got := valueOf(service.Environment, name); got != want {
			t.Errorf("%s = %q from env_file, want %q from .env.example", name, got, want)
		}
	}
}

func TestCompose_StopGracePeriodCoversShutdown(t *testing.T) {
	project, _ := mustLoadCompose(t)
	env := parseEnvExampleValues(t)
	drain := mustParseDuration(t, "OKTAWATCH_SHUTDOWN_DRAIN", env["OKTAWATCH_SHUTDOWN_DRAIN"])
	timeout := mustParseDuration(t, "OKTAWATCH_SHUTDOWN_TIMEOUT", env["OKTAWATCH_SHUTDOWN_TIMEOUT"])

	service := mustService(t, project, "oktawatch")

	if service.StopGracePeriod == nil {
		t.Fatal("stop_grace_period is unset, so Docker kills a replica 10s after SIGTERM")
	}
	if got := time.Duration(*service.StopGracePeriod); got <= drain+timeout {
		t.Errorf("stop_grace_period = %s, want more than drain %s + timeout %s", got, drain, timeout)
	}
}

func TestCompose_RedisAppendOnly(t *testing.T) {
	project, _ := mustLoadCompose(t)

	service := mustService(t, project, "redis")

	if service.Image != "redis:7-alpine" {
		t.Errorf("image = %q, want redis:7-alpine", service.Image)
	}
	if i := slices.Index(service.Command, "--appendonly"); i < 0 || i+1 >= len(service.Command) || service.Command[i+1] != "yes" {
		t.Errorf("command = %v, want --appendonly yes", service.Command)
	}
	if !hasMount(service.Volumes, types.VolumeTypeVolume, "redis-data", "/data") {
		t.Errorf("volumes = %+v, want the redis-data volume on /data", service.Volumes)
	}
	if _, ok := project.Volumes["redis-data"]; !ok {
		t.Error("top-level volume redis-data is not declared")
	}
	if service.HealthCheck == nil || !slices.Equal(service.HealthCheck.Test, []string{"CMD", "redis-cli", "ping"}) {
		t.Errorf("healthcheck = %+v, want CMD redis-cli ping", service.HealthCheck)
	}
	if len(service.Ports) != 0 {
		t.Errorf("ports = %v, want Redis unpublished", service.Ports)
	}
}

func TestCompose_LoadBalancer(t *testing.T) {
	project, dir := mustLoadCompose(t)

	service := mustService(t, project, "lb")

	if !strings.HasPrefix(service.Image, "nginx:") {
		t.Errorf("image = %q, want an nginx image", service.Image)
	}
	source := filepath.Join(dir, "deploy", "nginx", "nginx.conf")
	if !hasMount(service.Volumes, types.VolumeTypeBind, source, "/etc/nginx/nginx.conf") {
		t.Errorf("volumes = %+v, want %s on /etc/nginx/nginx.conf", service.Volumes, source)
	}
	for _, volume := range service.Volumes {
		if !volume.ReadOnly {
			t.Errorf("volume %s is writable, want read-only", volume.Target)
		}
	}
	if len(service.Ports) != 1 || service.Ports[0].Published != "8080" || service.Ports[0].Target != 8080 {
		t.Errorf("ports = %+v, want 8080:8080", service.Ports)
	}
}

func TestCompose_NgrokTunnel(t *testing.T) {
	project, _ := mustLoadCompose(t, "tunnel")
	env := parseEnvExampleValues(t)

	service := mustService(t, project, "ngrok")

	if service.Image != "ngrok/ngrok:latest" {
		t.Errorf("image = %q, want ngrok/ngrok:latest", service.Image)
	}
	if !slices.Equal(service.Profiles, []string{"tunnel"}) {
		t.Errorf("profiles = %v, want [tunnel]", service.Profiles)
	}
	if !slices.Equal(service.Command, []string{"http", "lb:8080"}) {
		t.Errorf("command = %v, want [http lb:8080]", service.Command)
	}
	if got := valueOf(service.Environment, "NGROK_AUTHTOKEN"); got != env["NGROK_AUTHTOKEN"] {
		t.Errorf("NGROK_AUTHTOKEN = %q, want %q from .env", got, env["NGROK_AUTHTOKEN"])
	}
	if len(service.Ports) != 1 || service.Ports[0].HostIP != "127.0.0.1" || service.Ports[0].Target != 4040 {
		t.Errorf("ports = %+v, want the inspection UI on 127.0.0.1:4040 only", service.Ports)
	}
	for name := range service.Environment {
		if strings.HasPrefix(name, "OKTAWATCH_") {
			t.Errorf("ngrok receives %s, want no oktawatch settings in the tunnel", name)
		}
	}
}

func TestCompose_MisspelledKeyFailsToLoad(t *testing.T) {
	original := string(readRepoFile(t, "docker-compose.yml"))
	misspelled := replaceOnce(t, original, "replicas: 3", "replicass: 3")
	dir := stageCompose(t, []byte(misspelled))

	_, err := loadCompose(dir)

	if err == nil {
		t.Fatal("a compose file with replicass loaded without error, want a validation error")
	}
	if !strings.Contains(err.Error(), "replicass") {
		t.Errorf("error = %v, want it to name replicass", err)
	}
}

// parseEnvExampleValues returns the active variables of .env.example.
func parseEnvExampleValues(t *testing.T) map[string]string {
	t.Helper()
	values := map[string]string{}
	for _, entry := range parseEnvExample(t) {
		if entry.active {
			values[entry.name] = entry.value
		}
	}
	return values
}

func valueOf(env types.MappingWithEquals, name string) string {
	if value := env[name]; value != nil {
		return *value
	}
	return ""
}

func hasMount(volumes []types.ServiceVolumeConfig, kind, source, target string) bool {
	for _, volume := range volumes {
		if volume.Type == kind && volume.Source == source && volume.Target == target {
			return true
		}
	}
	return false
}

package deploytest

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// mustContainer returns the only container of the Deployment's pod template.
func mustContainer(t *testing.T, m *manifests) corev1.Container {
	t.Helper()
	containers := m.deployments[0].Spec.Template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("pod template has %d containers, want 1", len(containers))
	}
	return containers[0]
}

// resolvePort returns the container port that a probe or Service port refers
// to, by number or by name.
func resolvePort(t *testing.T, container corev1.Container, port intstr.IntOrString) int32 {
	t.Helper()
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, p := range container.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort
		}
	}
	t.Fatalf("port name %q is not declared by container %s", port.StrVal, container.Name)
	return 0
}

// configValue returns a setting from the ConfigMap, or its default.
func configValue(t *testing.T, m *manifests, name string) string {
	t.Helper()
	if value, ok := m.configMaps[0].Data[name]; ok {
		return value
	}
	v, _ := lookupVariable(name)
	return v.defaultValue
}

func TestDeployment_ReplicasAndImage(t *testing.T) {
	m := mustLoadManifests(t)

	deployment := m.deployments[0]
	container := mustContainer(t, m)

	if deployment.Spec.Replicas == nil || *deployment.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", deployment.Spec.Replicas)
	}
	if container.Image != "ghcr.io/oktawatch/oktawatch:latest" {
		t.Errorf("image = %q, want ghcr.io/oktawatch/oktawatch:latest", container.Image)
	}
	if resolvePort(t, container, intstr.FromString("http")) != 8080 {
		t.Error("container port http is not 8080")
	}
	if addr := configValue(t, m, "OKTAWATCH_LISTEN_ADDR"); !strings.HasSuffix(addr, ":8080") {
		t.Errorf("OKTAWATCH_LISTEN_ADDR = %q, want port 8080 to match the container port", addr)
	}
}

func TestDeployment_Probes(t *testing.T) {
	m := mustLoadManifests(t)
	container := mustContainer(t, m)

	tests := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readiness", container.ReadinessProbe, "/readyz"},
		{"liveness", container.LivenessProbe, "/livez"},
	}
	for _, tt := range tests {
		if tt.probe == nil || tt.probe.HTTPGet == nil {
			t.Errorf("%s probe: want an httpGet probe", tt.name)
			continue
		}
		if tt.probe.HTTPGet.Path != tt.path {
			t.Errorf("%s probe path = %q, want %q", tt.name, tt.probe.HTTPGet.Path, tt.path)
		}
		if port := resolvePort(t, container, tt.probe.HTTPGet.Port); port != 8080 {
			t.Errorf("%s probe port = %d, want 8080", tt.name, port)
		}
	}
}

func TestDeployment_Resources(t *testing.T) {
	container := mustContainer(t, mustLoadManifests(t))

	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		request, hasRequest := container.Resources.Requests[name]
		limit, hasLimit := container.Resources.Limits[name]
		if !hasRequest || !hasLimit {
			t.Errorf("%s: request set %v, limit set %v, want both (the HPA needs the CPU request)", name, hasRequest, hasLimit)
			continue
		}
		if request.Cmp(limit) > 0 {
			t.Errorf("%s request %s exceeds the limit %s", name, request.String(), limit.String())
		}
	}
}

func TestDeployment_SecurityContext(t *testing.T) {
	m := mustLoadManifests(t)
	pod := m.deployments[0].Spec.Template.Spec
	container := mustContainer(t, m)
	imageUser := imageUserID(t)

	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser != imageUser {
		t.Errorf("pod securityContext.runAsUser does not match the Dockerfile USER %d", imageUser)
	}
	security := container.SecurityContext
	if security == nil {
		t.Fatal("container has no securityContext")
	}
	if security.ReadOnlyRootFilesystem == nil || !*security.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if security.AllowPrivilegeEscalation == nil || *security.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if security.Capabilities == nil || len(security.Capabilities.Drop) != 1 || security.Capabilities.Drop[0] != "ALL" {
		t.Errorf("capabilities = %+v, want drop [ALL]", security.Capabilities)
	}
}

func TestDeployment_GracePeriodCoversShutdown(t *testing.T) {
	m := mustLoadManifests(t)
	drain := mustParseDuration(t, "OKTAWATCH_SHUTDOWN_DRAIN", configValue(t, m, "OKTAWATCH_SHUTDOWN_DRAIN"))
	timeout := mustParseDuration(t, "OKTAWATCH_SHUTDOWN_TIMEOUT", configValue(t, m, "OKTAWATCH_SHUTDOWN_TIMEOUT"))

	grace := m.deployments[0].Spec.Template.Spec.TerminationGracePeriodSeconds

	if grace == nil {
		t.Fatal("terminationGracePeriodSeconds is unset, so Kubernetes kills a pod 30s after SIGTERM")
	}
	if got := time.Duration(*grace) * time.Second; got <= drain+timeout {
		t.Errorf("terminationGracePeriodSeconds = %s, want more than drain %s + timeout %s", got, drain, timeout)
	}
}

func TestDeployment_EnvironmentSources(t *testing.T) {
	m := mustLoadManifests(t)
	container := mustContainer(t, m)

	var configMapName, secretName string
	for _, source := range container.EnvFrom {
		if source.ConfigMapRef != nil {
			configMapName = source.ConfigMapRef.Name
		}
		if source.SecretRef != nil {
			secretName = source.SecretRef.Name
		}
	}

	if configMapName != m.configMaps[0].Name {
		t.Errorf("envFrom configMapRef = %q, want %q", configMapName, m.configMaps[0].Name)
	}
	if secretName != m.secrets[0].Name {
		t.Errorf("envFrom secretRef = %q, want %q", secretName, m.secrets[0].Name)
	}
	for name := range m.configMaps[0].Data {
		if v, ok := lookupVariable(name); !ok || v.secret {
			t.Errorf("ConfigMap key %s: want a non-secret variable that oktawatch reads", name)
		}
	}
	for name, value := range m.secrets[0].StringData {
		if _, ok := lookupVariable(name); !ok {
			t.Errorf("Secret key %s is not a variable oktawatch reads", name)
		}
		if !strings.Contains(value, "change-me") {
			t.Errorf("Secret key %s = %q, want a change-me placeholder", name, value)
		}
	}
	if _, ok := m.secrets[0].StringData["OKTAWATCH_REDIS_URL"]; !ok {
		t.Error("the Secret sets no OKTAWATCH_REDIS_URL, so each replica would run its own embedded Redis")
	}
}

func TestService_SelectsDeploymentPods(t *testing.T) {
	m := mustLoadManifests(t)
	podLabels := labels.Set(m.deployments[0].Spec.Template.Labels)
	container := mustContainer(t, m)

	service := m.services[0]
	deploymentSelector, err := metav1.LabelSelectorAsSelector(m.deployments[0].Spec.Selector)

	if err != nil || !deploymentSelector.Matches(podLabels) {
		t.Errorf("Deployment selector %v does not match its pod labels %v (error %v)", deploymentSelector, podLabels, err)
	}
	if len(service.Spec.Selector) == 0 || !labels.SelectorFromSet(service.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not match pod labels %v", service.Spec.Selector, podLabels)
	}
	if len(service.Spec.Ports) != 1 || resolvePort(t, container, service.Spec.Ports[0].TargetPort) != 8080 {
		t.Errorf("Service ports = %+v, want one port targeting container port 8080", service.Spec.Ports)
	}
}

func TestPodDisruptionBudget_TargetsDeployment(t *testing.T) {
	m := mustLoadManifests(t)
	podLabels := labels.Set(m.deployments[0].Spec.Template.Labels)

	spec := m.budgets[0].Spec
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)

	if err != nil || selector.Empty() || !selector.Matches(podLabels) {
		t.Errorf("PDB selector %v does not match pod labels %v (error %v)", selector, podLabels, err)
	}
	keepsTwo := spec.MinAvailable != nil && spec.MinAvailable.IntValue() == 2
	losesOne := spec.MaxUnavailable != nil && spec.MaxUnavailable.IntValue() == 1
	if !keepsTwo && !losesOne {
		t.Errorf("PDB minAvailable %v maxUnavailable %v, want minAvailable 2 or maxUnavailable 1", spec.MinAvailable, spec.MaxUnavailable)
	}
}

func TestHorizontalPodAutoscaler_TargetsDeployment(t *testing.T) {
	m := mustLoadManifests(t)
	deployment := m.deployments[0]

	spec := m.autoscalers[0].Spec

	target := spec.ScaleTargetRef
	if target.APIVersion != "apps/v1" || target.Kind != "Deployment" || target.Name != deployment.Name {
		t.Errorf("scaleTargetRef = %+v, want apps/v1 Deployment %s", target, deployment.Name)
	}
	if spec.MinReplicas == nil || *spec.MinReplicas != *deployment.Spec.Replicas || spec.MaxReplicas <= *spec.MinReplicas {
		t.Errorf("minReplicas %v maxReplicas %d, want min equal to the Deployment's %d and max above it",
			spec.MinReplicas, spec.MaxReplicas, *deployment.Spec.Replicas)
	}
	if len(spec.Metrics) != 1 || spec.Metrics[0].Resource == nil || spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
		spec.Metrics[0].Resource.Target.AverageUtilization == nil {
		t.Errorf("metrics = %+v, want one CPU utilization target", spec.Metrics)
	}
}

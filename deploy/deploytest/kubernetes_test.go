package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const kubernetesDir = "deploy/kubernetes"

// manifests holds the decoded objects of deploy/kubernetes by type.
type manifests struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	budgets     []policyv1.PodDisruptionBudget
	autoscalers []autoscalingv2.HorizontalPodAutoscaler
	secrets     []corev1.Secret
	configMaps  []corev1.ConfigMap
}

// strictDecoder decodes the API types of deploy/kubernetes the way the API
// server does: YAML becomes JSON without type hints, and unknown, duplicate
// or mistyped fields are errors.
var strictDecoder = newStrictDecoder()

func newStrictDecoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(fmt.Sprintf("register API types: %v", err))
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// add decodes one YAML document into the API type that its apiVersion and
// kind name. Documents that contain only comments are skipped.
func (m *manifests) add(doc []byte) error {
	var fields map[string]any
	if err := yaml.Unmarshal(doc, &fields); err != nil {
		return err
	}
	if len(fields) == 0 {
		return nil
	}
	object, _, err := strictDecoder.Decode(doc, nil, nil)
	if err != nil {
		return err
	}
	switch object := object.(type) {
	case *appsv1.Deployment:
		m.deployments = append(m.deployments, *object)
	case *corev1.Service:
		m.services = append(m.services, *object)
	case *policyv1.PodDisruptionBudget:
		m.budgets = append(m.budgets, *object)
	case *autoscalingv2.HorizontalPodAutoscaler:
		m.autoscalers = append(m.autoscalers, *object)
	case *corev1.Secret:
		m.secrets = append(m.secrets, *object)
	case *corev1.ConfigMap:
		m.configMaps = append(m.configMaps, *object)
	default:
		return fmt.Errorf("unexpected %T; add its type to this test", object)
	}
	return nil
}

// addFile decodes every document of a multi-document YAML file.
func (m *manifests) addFile(name string, data []byte) error {
	reader := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: split documents: %w", name, err)
		}
		if err := m.add(doc); err != nil {
			return fmt.Errorf("%s, document %d: %w", name, i, err)
		}
	}
}

// manifestFiles returns the names of the object manifests in
// deploy/kubernetes, that is every .yaml file except kustomization.yaml.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(repoRoot(t), kubernetesDir, "*.yaml"))
	if err != nil {
		t.Fatalf("list %s: %v", kubernetesDir, err)
	}
	var result []string
	for _, name := range names {
		if base := filepath.Base(name); base != "kustomization.yaml" {
			result = append(result, base)
		}
	}
	return result
}

// mustLoadManifests decodes deploy/kubernetes and checks that it holds
// exactly one object of each type.
func mustLoadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{}
	for _, name := range manifestFiles(t) {
		if err := m.addFile(name, readRepoFile(t, kubernetesDir+"/"+name)); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{
		"Deployment": len(m.deployments), "Service": len(m.services), "PodDisruptionBudget": len(m.budgets),
		"HorizontalPodAutoscaler": len(m.autoscalers), "Secret": len(m.secrets), "ConfigMap": len(m.configMaps),
	}
	for kind, n := range counts {
		if n != 1 {
			t.Fatalf("%s has %d objects of kind %s, want 1", kubernetesDir, n, kind)
		}
	}
	return m
}

func TestKubernetes_ManifestsDecodeStrictly(t *testing.T) {
	names := manifestFiles(t)

	for _, want := range []string{"deployment.yaml", "service.yaml", "pdb.yaml", "hpa.yaml", "secret.example.yaml", "configmap.yaml"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s/%s is missing", kubernetesDir, want)
		}
	}
	mustLoadManifests(t)
}

func TestKubernetes_DecodeRejectsMisspelledField(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		old, new  string
		wantError string
	}{
		{"pod spec field", "deployment.yaml", "terminationGracePeriodSeconds:", "terminationGracePeriodSecond:", "terminationGracePeriodSecond"},
		{"probe field", "deployment.yaml", "path: /readyz", "pth: /readyz", "pth"},
		{"autoscaler field", "hpa.yaml", "averageUtilization:", "averageUtilisation:", "averageUtilisation"},
		{"string value as number", "configmap.yaml", `OKTAWATCH_THRESHOLD: "5"`, "OKTAWATCH_THRESHOLD: 5", "ConfigMap.data of type string"},
		{"unknown kind", "service.yaml", "kind: Service", "kind: Servic", "Servic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := replaceOnce(t, string(readRepoFile(t, kubernetesDir+"/"+tt.file)), tt.old, tt.new)

			err := (&manifests{}).addFile(tt.file, []byte(broken))

			if err == nil {
				t.Fatalf("%s with %q decoded without error, want a strict decoding error", tt.file, tt.new)
			}
			if !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("error = %v, want it to name %s", err, tt.wantError)
			}
		})
	}
}

// kustomization is the part of kustomize's Kustomization type that
// kustomization.yaml uses. Decoding it strictly rejects any other field, so a
// new field must be added here first.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewTag  string `json:"newTag,omitempty"`
		NewName string `json:"newName,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

func TestKustomization_ListsManifestsExceptSecretTemplate(t *testing.T) {
	var k kustomization

	err := yaml.UnmarshalStrict(readRepoFile(t, kubernetesDir+"/kustomization.yaml"), &k)

	if err != nil {
		t.Fatalf("decode kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("apiVersion %q kind %q, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	for _, name := range manifestFiles(t) {
		listed := slices.Contains(k.Resources, name)
		if name == "secret.example.yaml" && listed {
			t.Error("kustomization.yaml lists secret.example.yaml, whose placeholders would overwrite the real Secret")
		}
		if name != "secret.example.yaml" && !listed {
			t.Errorf("kustomization.yaml does not list %s", name)
		}
	}
	for _, name := range k.Resources {
		if _, err := os.Stat(filepath.Join(repoRoot(t), kubernetesDir, name)); err != nil {
			t.Errorf("resource %s: %v", name, err)
		}
	}
}

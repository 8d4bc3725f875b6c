package validate

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/heatbath/heatbath/protocol"
)

// yamlDocs splits a multi-document YAML file.
func yamlDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// decodeManifests decodes each document of a manifest file strictly (an
// unknown or misspelt field is an error) into the k8s.io/api type of its
// kind, and returns them by kind.
func decodeManifests(t *testing.T, rel string) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for i, doc := range yamlDocs(readRepoFile(t, rel)) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%s document %d: %v", rel, i, err)
		}
		var obj any
		switch tm.APIVersion + "/" + tm.Kind {
		case "apps/v1/Deployment":
			obj = &appsv1.Deployment{}
		case "batch/v1/Job":
			obj = &batchv1.Job{}
		case "v1/PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		case "keda.sh/v1alpha1/ScaledObject":
			obj = &scaledObject{}
		default:
			t.Fatalf("%s document %d: no type for %s %s", rel, i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", rel, i, tm.Kind, err)
		}
		out[tm.Kind] = append(out[tm.Kind], obj)
	}
	return out
}

// envValue returns a container's environment variable: its value, or
// "secret:<name>/<key>" when it comes from a secret.
func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
		return e.Value
	}
	return ""
}

// argAfter returns the argument after flag in args.
func argAfter(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

// probePort resolves a probe's port (a number or a container port name).
func probePort(c corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

// workerProblems returns what is wrong with the worker Deployment.
func workerProblems(d *appsv1.Deployment) []string {
	var probs []string
	ps := d.Spec.Template.Spec
	if g := ps.TerminationGracePeriodSeconds; g == nil || *g < 60 {
		probs = append(probs, fmt.Sprintf("terminationGracePeriodSeconds %v: under 60 s, too short to hand replicas back", g))
	}
	if sc := ps.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		probs = append(probs, "pod does not require runAsNonRoot")
	}
	if len(ps.Containers) != 1 {
		return append(probs, fmt.Sprintf("%d containers, want 1", len(ps.Containers)))
	}
	c := ps.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "worker" {
		probs = append(probs, fmt.Sprintf("args %q do not run heatbath worker", c.Args))
	}
	_, port, err := net.SplitHostPort(argAfter(c.Args, "--health"))
	if err != nil {
		probs = append(probs, fmt.Sprintf("no --health HOST:PORT in args %q", c.Args))
	}
	for _, pr := range []struct {
		name, path string
		p          *corev1.Probe
	}{{"liveness", "/livez", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			probs = append(probs, pr.name+" probe is not an HTTP GET")
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			probs = append(probs, fmt.Sprintf("%s probe path %q, want %q", pr.name, pr.p.HTTPGet.Path, pr.path))
		}
		if got := fmt.Sprint(probePort(c, pr.p.HTTPGet.Port)); got != port {
			probs = append(probs, fmt.Sprintf("%s probe port %s, but the worker serves health on %q", pr.name, got, port))
		}
	}
	if u := envValue(c, "HEATBATH_NATS_USER"); u != "worker" {
		probs = append(probs, fmt.Sprintf("connects as %q, want worker", u))
	}
	if p := envValue(c, "HEATBATH_NATS_PASSWORD"); !strings.HasPrefix(p, "secret:") {
		probs = append(probs, "password is not read from a secret")
	}
	if d.Spec.Selector == nil || !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		probs = append(probs, "selector does not match the pod template's labels")
	}
	return probs
}

// labelsMatch reports whether every selector label is on the pod.
func labelsMatch(sel, pod map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if pod[k] != v {
			return false
		}
	}
	return true
}

// TestK8sWorkerDeployment decodes workers.yaml strictly into apps/v1 and
// checks the worker's shutdown window, probes and credentials.
func TestK8sWorkerDeployment(t *testing.T) {
	objs := decodeManifests(t, "deploy/k8s/workers.yaml")
	if len(objs["Deployment"]) != 1 {
		t.Fatalf("%d Deployments in workers.yaml, want 1", len(objs["Deployment"]))
	}
	for _, p := range workerProblems(objs["Deployment"][0].(*appsv1.Deployment)) {
		t.Error(p)
	}
}

// TestK8sWorkerChecksFindFaults breaks the Deployment in ways the checks
// must catch.
func TestK8sWorkerChecksFindFaults(t *testing.T) {
	for name, breakIt := range map[string]func(*appsv1.Deployment){
		"short grace":  func(d *appsv1.Deployment) { g := int64(10); d.Spec.Template.Spec.TerminationGracePeriodSeconds = &g },
		"probe port":   func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort = 9090 },
		"no readiness": func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].ReadinessProbe = nil },
		"root":         func(d *appsv1.Deployment) { d.Spec.Template.Spec.SecurityContext = nil },
	} {
		t.Run(name, func(t *testing.T) {
			d := decodeManifests(t, "deploy/k8s/workers.yaml")["Deployment"][0].(*appsv1.Deployment)
			breakIt(d)
			if len(workerProblems(d)) == 0 {
				t.Errorf("a Deployment with %s passes the checks", name)
			}
		})
	}
}

// TestK8sCoordinatorJob decodes coordinator-job.yaml strictly into
// batch/v1 and core/v1 and checks that the Job submits a sweep with R3
// streams as the coordinator, onto the run volume it declares.
func TestK8sCoordinatorJob(t *testing.T) {
	objs := decodeManifests(t, "deploy/k8s/coordinator-job.yaml")
	if len(objs["Job"]) != 1 || len(objs["PersistentVolumeClaim"]) != 1 {
		t.Fatalf("want one Job and one PersistentVolumeClaim, got %d and %d", len(objs["Job"]), len(objs["PersistentVolumeClaim"]))
	}
	job := objs["Job"][0].(*batchv1.Job)
	pvc := objs["PersistentVolumeClaim"][0].(*corev1.PersistentVolumeClaim)
	ps := job.Spec.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever && ps.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q is not allowed in a Job", ps.RestartPolicy)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	if len(c.Args) < 2 || c.Args[0] != "submit" || argAfter(c.Args, "--stream-replicas") != "3" {
		t.Errorf("args %q do not submit a spec with --stream-replicas 3", c.Args)
	}
	if u := envValue(c, "HEATBATH_NATS_USER"); u != "coordinator" {
		t.Errorf("connects as %q, want coordinator", u)
	}
	claimed := false
	for _, v := range ps.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name {
			claimed = true
		}
	}
	if !claimed {
		t.Errorf("the Job does not mount the claim %s", pvc.Name)
	}
	out := argAfter(c.Args, "--out")
	mounted := false
	for _, m := range c.VolumeMounts {
		if out != "" && strings.HasPrefix(out, m.MountPath+"/") {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("--out %q is not on a mounted volume", out)
	}
}

// scaledObject is KEDA's ScaledObject (keda.sh/v1alpha1) with the fields
// its documentation lists (keda.sh/docs/concepts/scaling-deployments):
// k8s.io/api has no type for it.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion             string `json:"apiVersion,omitempty"`
			Kind                   string `json:"kind,omitempty"`
			Name                   string `json:"name"`
			EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval       *int32         `json:"pollingInterval,omitempty"`
		InitialCooldownPeriod *int32         `json:"initialCooldownPeriod,omitempty"`
		CooldownPeriod        *int32         `json:"cooldownPeriod,omitempty"`
		IdleReplicaCount      *int32         `json:"idleReplicaCount,omitempty"`
		MinReplicaCount       *int32         `json:"minReplicaCount,omitempty"`
		MaxReplicaCount       *int32         `json:"maxReplicaCount,omitempty"`
		Fallback              map[string]any `json:"fallback,omitempty"`
		Advanced              map[string]any `json:"advanced,omitempty"`
		Triggers              []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			MetricType        string            `json:"metricType,omitempty"`
			UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// natsJetStreamKeys are the trigger metadata keys of KEDA's nats-jetstream
// scaler (keda.sh/docs/scalers/nats-jetstream), true for the required ones.
var natsJetStreamKeys = map[string]bool{
	"natsServerMonitoringEndpoint": true, "account": true, "stream": true, "consumer": true,
	"lagThreshold": true, "activationLagThreshold": false, "useHttps": false,
}

// TestK8sKEDAScaledObject decodes the ScaledObject strictly and checks its
// trigger against the scaler's documented keys and Heatbath's names.
func TestK8sKEDAScaledObject(t *testing.T) {
	objs := decodeManifests(t, "deploy/k8s/keda-scaledobject.yaml")
	if len(objs["ScaledObject"]) != 1 {
		t.Fatalf("%d ScaledObjects, want 1", len(objs["ScaledObject"]))
	}
	so := objs["ScaledObject"][0].(*scaledObject)
	dep := decodeManifests(t, "deploy/k8s/workers.yaml")["Deployment"][0].(*appsv1.Deployment)
	if so.Spec.ScaleTargetRef.Name != dep.Name {
		t.Errorf("scales %q, want the worker Deployment %q", so.Spec.ScaleTargetRef.Name, dep.Name)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "nats-jetstream" {
		t.Fatalf("want one nats-jetstream trigger, got %+v", so.Spec.Triggers)
	}
	md := so.Spec.Triggers[0].Metadata
	for k := range md {
		if _, ok := natsJetStreamKeys[k]; !ok {
			t.Errorf("trigger metadata key %q is not one of the scaler's", k)
		}
	}
	for k, required := range natsJetStreamKeys {
		if required && md[k] == "" {
			t.Errorf("trigger metadata lacks the required %q", k)
		}
	}
	consumer, _ := protocol.WorkerConsumer("cpu")
	if md["stream"] != protocol.StreamTasks || md["consumer"] != consumer {
		t.Errorf("trigger reads stream %q consumer %q, want %q %q", md["stream"], md["consumer"], protocol.StreamTasks, consumer)
	}
	if md["account"] != "HEATBATH" {
		t.Errorf("trigger reads account %q, want HEATBATH (deploy/nats/accounts.conf)", md["account"])
	}
}

package deploy

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/redistest"
)

// siorelayContainer is a container of a manifest that runs the siorelay
// image.
type siorelayContainer struct {
	where string // file position, for messages
	dep   *deployment
	c     container
	init  bool // an init container (a native sidecar when restartPolicy is Always)
	args  parsedArgs
}

// listenFlag is the flag with each subcommand's listening address.
var listenFlag = map[string]string{"serve": "addr", "emitter": "grpc-addr"}

// siorelayContainers returns the containers that run the image named in
// kustomization.yaml, each with its arguments checked against the binary.
func siorelayContainers(t *testing.T, bin string, m *manifests) []siorelayContainer {
	t.Helper()
	if len(m.kustomization.Images) != 1 {
		t.Fatalf("kustomization.yaml names %d images, want 1 (siorelay's)", len(m.kustomization.Images))
	}
	img := m.kustomization.Images[0]
	var out []siorelayContainer
	for i := range m.deployments {
		d := &m.deployments[i]
		all := append(slices.Clone(d.Spec.Template.Spec.InitContainers), d.Spec.Template.Spec.Containers...)
		for j, c := range all {
			repo, tag, _ := strings.Cut(c.Image, ":")
			if repo != img.Name {
				continue
			}
			where := fmt.Sprintf("Deployment %s, container %s", d.Metadata.Name, c.Name)
			if tag != img.NewTag {
				t.Errorf("%s: image tag %q, kustomization.yaml sets %q", where, tag, img.NewTag)
			}
			if len(c.Command) > 0 {
				t.Errorf("%s: command %v overrides the image's ENTRYPOINT", where, c.Command)
			}
			if len(c.Args) == 0 || listenFlag[c.Args[0]] == "" {
				t.Fatalf("%s: args %v do not start with serve or emitter", where, c.Args)
			}
			out = append(out, siorelayContainer{where: where, dep: d, c: c, init: j < len(d.Spec.Template.Spec.InitContainers), args: parseArgs(t, bin, c.Args)})
		}
	}
	var subs []string
	for _, sc := range out {
		subs = append(subs, sc.args.sub)
	}
	slices.Sort(subs)
	if !slices.Equal(subs, []string{"emitter", "serve"}) {
		t.Fatalf("siorelay containers run %v, want one relay (serve) and one sidecar (emitter)", subs)
	}
	return out
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	var want []string
	for _, f := range m.files {
		if f != "kustomization.yaml" {
			want = append(want, f)
		}
	}
	got := slices.Sorted(slices.Values(m.kustomization.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources %v, want every manifest: %v", got, want)
	}
}

// TestManifestsAgreeWithBinary checks the siorelay containers against the
// binary's flags and the Dockerfile: arguments and SIORELAY_* variables
// are real flags, listening ports match containerPorts, probes and
// EXPOSE, probes hit /readyz, /healthz and the gRPC health service, the
// grace period outlasts the drain (--shutdown-delay or a preStop sleep) plus --shutdown-timeout, and the user is
// the image's non-root one.
func TestManifestsAgreeWithBinary(t *testing.T) {
	t.Parallel()
	bin := buildLikeDocker(t)
	m := loadManifests(t)
	uid, exposed := dockerUID(t), dockerExposed(t)
	redisSecret := ""
	for _, sc := range siorelayContainers(t, bin, m) {
		where, c, pod := sc.where, sc.c, sc.dep.Spec.Template.Spec

		// Environment: SIORELAY_* are flags not also given as arguments; the
		// Redis URL (it may hold a password) comes from a Secret.
		for _, e := range c.Env {
			if !strings.HasPrefix(e.Name, "SIORELAY_") {
				continue
			}
			name := ""
			for n, f := range sc.args.flags {
				if f.Env == e.Name {
					name = n
				}
			}
			if name == "" {
				t.Errorf("%s: %s is not a variable of siorelay %s", where, e.Name, sc.args.sub)
			} else if _, dup := sc.args.given[name]; dup {
				t.Errorf("%s: --%s is set by both an argument and %s", where, name, e.Name)
			}
		}
		redis := envVarNamed(c, "SIORELAY_REDIS")
		if redis == nil || redis.ValueFrom == nil || redis.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: SIORELAY_REDIS must come from a secretKeyRef", where)
		} else if ref := redis.ValueFrom.SecretKeyRef.Name + "/" + redis.ValueFrom.SecretKeyRef.Key; redisSecret != "" && ref != redisSecret {
			t.Errorf("%s: SIORELAY_REDIS from Secret %s, another container uses %s", where, ref, redisSecret)
		} else {
			redisSecret = ref
		}

		// The listening address is reachable, and its port declared and exposed.
		addr := sc.args.value(listenFlag[sc.args.sub])
		if !strings.HasPrefix(addr, "0.0.0.0:") {
			t.Errorf("%s: --%s=%s: probes dial the pod IP, so listen on 0.0.0.0", where, listenFlag[sc.args.sub], addr)
		}
		port := portOf(t, addr)
		if !slices.ContainsFunc(c.Ports, func(p containerPort) bool { return p.ContainerPort == port }) {
			t.Errorf("%s: listens on %d, not among its ports %v", where, port, c.Ports)
		}
		if !slices.Contains(exposed, port) {
			t.Errorf("%s: listens on %d, which the Dockerfile does not EXPOSE (%v)", where, port, exposed)
		}

		switch sc.args.sub {
		case "serve":
			checkHTTPProbe(t, where+": readinessProbe", c, c.ReadinessProbe, "/readyz", port)
			checkHTTPProbe(t, where+": livenessProbe", c, c.LivenessProbe, "/healthz", port)
		case "emitter":
			if !sc.init || c.RestartPolicy != "Always" {
				t.Errorf("%s: want a native sidecar (an init container with restartPolicy: Always)", where)
			}
			for name, p := range map[string]*probe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe} {
				if p == nil {
					continue
				}
				if p.GRPC == nil || p.GRPC.Port != port || p.GRPC.Service != siorelayv1.EmitterService_ServiceDesc.ServiceName {
					t.Errorf("%s: %s %+v, want grpc on port %d, service %s", where, name, p.GRPC, port, siorelayv1.EmitterService_ServiceDesc.ServiceName)
				}
			}
			if c.StartupProbe == nil {
				t.Errorf("%s: no startupProbe: the app would start before the sidecar serves", where)
			}
			if p := c.LivenessProbe; p == nil || p.TCPSocket == nil || resolvePort(t, where, c, p.TCPSocket.Port) != port {
				t.Errorf("%s: livenessProbe must dial port %d (tcpSocket)", where, port)
			}
		}

		// Prometheus scrapes the port /metrics is served on.
		mport := metricsPort(t, sc)
		ann := sc.dep.Spec.Template.Metadata.Annotations
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(mport) || ann["prometheus.io/path"] != "/metrics" {
			t.Errorf("%s: prometheus.io annotations %v, want scrape true, port %d, path /metrics", where, ann, mport)
		}
		if !slices.ContainsFunc(c.Ports, func(p containerPort) bool { return p.ContainerPort == mport }) || !slices.Contains(exposed, mport) {
			t.Errorf("%s: metrics port %d must be a containerPort and EXPOSEd", where, mport)
		}

		// SIGTERM handling fits in the grace period.
		timeout, err := time.ParseDuration(sc.args.value("shutdown-timeout"))
		if err != nil {
			t.Fatalf("%s: --shutdown-timeout: %v", where, err)
		}
		// The endpoint is removed while the relay drains: a preStop sleep
		// or serve's --shutdown-delay (503 on /readyz, still serving).
		var drain time.Duration
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			drain = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
		if v := sc.args.value("shutdown-delay"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("%s: --shutdown-delay: %v", where, err)
			}
			drain += d
		}
		if sc.args.sub == "serve" && drain == 0 {
			t.Errorf("%s: neither --shutdown-delay nor a preStop sleep: the endpoint would still get connections after SIGTERM", where)
		}
		grace := 30 // Kubernetes' default
		if pod.TerminationGracePeriodSeconds != nil {
			grace = *pod.TerminationGracePeriodSeconds
		}
		if need := drain + timeout; time.Duration(grace)*time.Second <= need {
			t.Errorf("%s: terminationGracePeriodSeconds %d does not exceed the drain %s + --shutdown-timeout %s", where, grace, drain, timeout)
		}

		// The image's numeric non-root user.
		user := pod.SecurityContext.RunAsUser
		if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
			user = c.SecurityContext.RunAsUser
		}
		if user == nil {
			t.Errorf("%s: no runAsUser, want the image's USER %d", where, uid)
		} else if *user != uid {
			t.Errorf("%s: runs as user %d, want the image's USER %d", where, *user, uid)
		}

		// GOMEMLIMIT, if set, stays under the memory limit.
		if e := envVarNamed(c, "GOMEMLIMIT"); e != nil {
			if lim, goLim := bytesOf(t, c.Resources.Limits["memory"]), bytesOf(t, e.Value); goLim >= lim {
				t.Errorf("%s: GOMEMLIMIT %s is not below the memory limit %s", where, e.Value, c.Resources.Limits["memory"])
			}
		}
	}
}

// TestManifestsSecurity checks every container of every pod, the app's too.
func TestManifestsSecurity(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	for _, d := range m.deployments {
		pod := d.Spec.Template.Spec
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Errorf("Deployment %s: pod securityContext.runAsNonRoot must be true", d.Metadata.Name)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("Deployment %s: automountServiceAccountToken must be false (nothing here calls the Kubernetes API)", d.Metadata.Name)
		}
		if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("Deployment %s: want seccompProfile RuntimeDefault", d.Metadata.Name)
		}
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			where := fmt.Sprintf("Deployment %s, container %s", d.Metadata.Name, c.Name)
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("%s: no securityContext", where)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("%s: allowPrivilegeEscalation must be false", where)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("%s: readOnlyRootFilesystem must be true", where)
			case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0:
				t.Errorf("%s: capabilities must drop ALL and add none", where)
			}
			if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
				t.Errorf("%s: resources %+v: want cpu and memory requests and a memory limit", where, c.Resources)
			}
		}
	}
}

// TestManifestsWiring checks the objects against each other: selectors
// select the pods, Service targetPorts and the Ingress backend exist, and
// the Ingress keeps long-polling sticky with timeouts longer than the
// relay's heartbeat.
func TestManifestsWiring(t *testing.T) {
	t.Parallel()
	bin := buildLikeDocker(t)
	m := loadManifests(t)
	podOf := func(sel map[string]string) *deployment {
		for i, d := range m.deployments {
			if len(sel) > 0 && subset(sel, d.Spec.Template.Metadata.Labels) {
				return &m.deployments[i]
			}
		}
		return nil
	}
	for _, d := range m.deployments {
		if !subset(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("Deployment %s: selector %v does not select its own pods %v", d.Metadata.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
		}
		for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
			if !subset(c.LabelSelector.MatchLabels, d.Spec.Template.Metadata.Labels) || len(c.LabelSelector.MatchLabels) == 0 {
				t.Errorf("Deployment %s: topologySpreadConstraint selector %v does not select its own pods", d.Metadata.Name, c.LabelSelector.MatchLabels)
			}
		}
	}
	for _, s := range m.services {
		d := podOf(s.Spec.Selector)
		if d == nil {
			t.Errorf("Service %s: selector %v selects no Deployment's pods", s.Metadata.Name, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			found := false
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, cp := range c.Ports {
					found = found || (p.TargetPort.IsInt && cp.ContainerPort == p.TargetPort.Int) || (!p.TargetPort.IsInt && cp.Name == p.TargetPort.Str)
				}
			}
			if !found {
				t.Errorf("Service %s: targetPort %+v is no port of Deployment %s", s.Metadata.Name, p.TargetPort, d.Metadata.Name)
			}
		}
		if s.Spec.SessionAffinity != "ClientIP" {
			t.Errorf("Service %s: sessionAffinity %q, want ClientIP (long-polling through the Service)", s.Metadata.Name, s.Spec.SessionAffinity)
		}
	}
	for _, b := range m.disruptionBgts {
		if podOf(b.Spec.Selector.MatchLabels) == nil {
			t.Errorf("PodDisruptionBudget %s selects no Deployment's pods", b.Metadata.Name)
		}
	}

	var serve parsedArgs
	for _, sc := range siorelayContainers(t, bin, m) {
		if sc.args.sub == "serve" {
			serve = sc.args
		}
	}
	heartbeat := duration(t, serve.value("ping-interval")) + duration(t, serve.value("ping-timeout"))
	if len(m.ingresses) == 0 {
		t.Fatal("no Ingress")
	}
	for _, in := range m.ingresses {
		where := "Ingress " + in.Metadata.Name
		for _, r := range in.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				svc := p.Backend.Service
				i := slices.IndexFunc(m.services, func(s service) bool { return s.Metadata.Name == svc.Name })
				if i < 0 {
					t.Errorf("%s: backend Service %s does not exist", where, svc.Name)
					continue
				}
				if !slices.ContainsFunc(m.services[i].Spec.Ports, func(sp servicePort) bool {
					return sp.Name == svc.Port.Name && svc.Port.Name != "" || sp.Port == svc.Port.Number && svc.Port.Number != 0
				}) {
					t.Errorf("%s: backend port %+v is not a port of Service %s", where, svc.Port, svc.Name)
				}
				if p.Path != "/socket.io/" && p.Path != "/" {
					t.Errorf("%s: path %s does not cover the relay's /socket.io/", where, p.Path)
				}
			}
		}
		ann := in.Metadata.Annotations
		const pfx = "nginx.ingress.kubernetes.io/"
		if ann[pfx+"affinity"] != "cookie" {
			t.Errorf("%s: affinity %q, want cookie (long-polling needs sticky sessions)", where, ann[pfx+"affinity"])
		}
		for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			s, err := strconv.Atoi(ann[pfx+k])
			if err != nil || time.Duration(s)*time.Second <= heartbeat {
				t.Errorf("%s: %s %q, want seconds above pingInterval + pingTimeout (%s)", where, k, ann[pfx+k], heartbeat)
			}
		}
		if ann[pfx+"proxy-buffering"] != "off" {
			t.Errorf("%s: proxy-buffering %q, want off", where, ann[pfx+"proxy-buffering"])
		}
		if body, max := bytesOf(t, ann[pfx+"proxy-body-size"]), serve.value("max-http-buffer-size"); body < atoi64(t, max) {
			t.Errorf("%s: proxy-body-size %s is below the relay's --max-http-buffer-size %s", where, ann[pfx+"proxy-body-size"], max)
		}
	}
}

// TestManifestsRun runs the binary with each siorelay container's
// arguments and plain environment (on free loopback ports) and checks that
// what the probes ask answers: /readyz and /healthz of the relay, and the
// gRPC health service of the sidecar, with a real Redis.
func TestManifestsRun(t *testing.T) {
	t.Parallel()
	bin := buildLikeDocker(t)
	m := loadManifests(t)
	for _, sc := range siorelayContainers(t, bin, m) {
		t.Run(sc.args.sub, func(t *testing.T) {
			env := os.Environ()
			for _, e := range sc.c.Env {
				if e.ValueFrom == nil {
					env = append(env, e.Name+"="+e.Value)
				}
			}
			args := withAddr(sc.c.Args, listenFlag[sc.args.sub], "127.0.0.1:0")
			switch sc.args.sub {
			case "serve":
				// No Redis: a single relay, ready at once.
				base := startServe(t, bin, args, env)
				paths := []string{sc.c.ReadinessProbe.HTTPGet.Path, sc.c.LivenessProbe.HTTPGet.Path, sc.dep.Spec.Template.Metadata.Annotations["prometheus.io/path"]}
				for _, p := range paths {
					if code := httpStatus(t, base+p); code != 200 {
						t.Errorf("GET %s: %d, want 200", p, code)
					}
				}
				checkNoDemo(t, base)
			case "emitter":
				rds := redistest.Start(t)
				env = append(env, "SIORELAY_REDIS="+rds.URL(), "SIORELAY_TOKEN=manifest-test")
				args = withAddr(args, "metrics-addr", "127.0.0.1:0")
				p := startProcess(t, bin, args, env)
				addr := p.Line(t, "serving gRPC EmitterService on ")
				metrics := p.Line(t, "serving metrics on ")
				if code := httpStatus(t, metrics); code != 200 {
					t.Errorf("GET %s: %d, want 200", metrics, code)
				}
				cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					t.Fatal(err)
				}
				defer cc.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				hc := healthpb.NewHealthClient(cc)
				for {
					// Like the kubelet's probe: no token.
					res, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: sc.c.StartupProbe.GRPC.Service})
					if err == nil && res.Status == healthpb.HealthCheckResponse_SERVING {
						break
					}
					if ctx.Err() != nil {
						t.Fatalf("health of %s: %v %v", sc.c.StartupProbe.GRPC.Service, res, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

// metricsPort returns the port a siorelay container serves /metrics on:
// serve's --metrics-addr, or its --addr when that is empty (--metrics is on
// by default); the emitter's --metrics-addr, which must be set.
func metricsPort(t *testing.T, sc siorelayContainer) int {
	t.Helper()
	if a := sc.args.value("metrics-addr"); a != "" {
		return portOf(t, a)
	}
	if sc.args.sub != "serve" || sc.args.value("metrics") != "true" {
		t.Fatalf("%s: serves no /metrics", sc.where)
	}
	return portOf(t, sc.args.value("addr"))
}

func envVarNamed(c container, name string) *envVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// checkHTTPProbe checks that p is an HTTP GET of path on port.
func checkHTTPProbe(t *testing.T, where string, c container, p *probe, path string, port int) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want httpGet %s", where, path)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: path %s, want %s", where, p.HTTPGet.Path, path)
	}
	if got := resolvePort(t, where, c, p.HTTPGet.Port); got != port {
		t.Errorf("%s: port %d, want %d", where, got, port)
	}
}

// resolvePort turns a probe's port (number or containerPort name) into a
// number.
func resolvePort(t *testing.T, where string, c container, p intOrString) int {
	t.Helper()
	if p.IsInt {
		return p.Int
	}
	for _, cp := range c.Ports {
		if cp.Name == p.Str {
			return cp.ContainerPort
		}
	}
	t.Errorf("%s: port name %q is not a port of the container", where, p.Str)
	return 0
}

func subset(sub, set map[string]string) bool {
	for k, v := range sub {
		if set[k] != v {
			return false
		}
	}
	return true
}

func duration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func atoi64(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// bytesOf parses a size as Kubernetes (128Mi, 1Gi), nginx (1m) or Go's
// GOMEMLIMIT (900MiB) write it.
func bytesOf(t *testing.T, s string) int64 {
	t.Helper()
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			return atoi64(t, n) * u.mult
		}
	}
	return atoi64(t, s)
}

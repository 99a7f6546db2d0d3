// Package overhead measures what gitgate adds to writes through the real
// API server: PATCHes of a declared ConfigMap at a fixed rate, by a person
// (judged: an allowed change of kubectl's last-applied annotation) and by
// the GitOps agent (skipped by the webhook's matchConditions, so the API
// server never calls gitgate), with the project's webhook configuration
// registered and without it, in one run. It is a benchmark, never a test:
// the figures go to BENCHMARKS.md.
//
//	go test -run '^$' -bench APIServerWrites -benchtime 1x ./test/overhead/
package overhead

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitgate/gitgate/test/harness"
)

var (
	stack       *harness.Stack
	gitgateArgs = flag.String("gitgate-args", "", "further flags for gitgate serve, separated by spaces, e.g. --enable-http2")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run()) // no benchmark asked for: start nothing
	}
	os.Exit(harness.Main(m, "overhead", setup))
}

func setup(r *harness.Running) error {
	fleet := filepath.Join(harness.RepoRoot(), "test", "overhead", "testdata", "fleet")
	s, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: fleet, GitgateArgs: strings.Fields(*gitgateArgs)})
	if err != nil {
		return err
	}
	r.Cleanup(s.Stop)
	r.Logs = s.Gitgate.Logs
	stack = s
	if res := s.Kubectl.Run("", "apply", "--as", harness.Agent, "-f", filepath.Join(fleet, "shop.yaml")); res.Failed() {
		return fmt.Errorf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
	}
	return nil
}

const (
	rate   = 100 // writes a second
	writes = 200 // per round, identity and registration
	rounds = 5
)

// BenchmarkAPIServerWrites reports p50 and p99 in ms per identity, with
// and without the webhook, and the difference; and gitgate's CPU per
// write it judged: its CPU time in the person's phases with the webhook
// minus that in the same phases without it (which is what gitgate spends
// meanwhile on anything else), over the writes. The phases alternate in
// rounds, so a busy machine weighs on both alike.
func BenchmarkAPIServerWrites(b *testing.B) {
	ctx := context.Background()
	who := map[string]string{harness.Person: "person", harness.Agent: "agent"}
	clients := map[string]kubernetes.Interface{}
	for user := range who {
		clients[user] = impersonating(b, user)
	}
	for b.Loop() {
		agentBefore, personBefore := decided(b, "agent"), decided(b, "person")
		lat := map[string][]time.Duration{}
		cpu := map[string]time.Duration{}
		for range rounds {
			for _, registered := range []bool{true, false} {
				setRegistered(b, ctx, registered)
				for user, name := range who {
					key := fmt.Sprintf("%s-webhook=%v", name, registered)
					before := cpuTime(b)
					lat[key] = append(lat[key], patchAtRate(b, ctx, clients[user])...)
					cpu[key] += cpuTime(b) - before
				}
			}
		}
		judged := cpu["person-webhook=true"] - cpu["person-webhook=false"]
		b.ReportMetric(float64(judged.Microseconds())/(writes*rounds), "gitgate-cpu-us/judged-write")
		for _, name := range who {
			with, without := lat[name+"-webhook=true"], lat[name+"-webhook=false"]
			for _, p := range []float64{0.5, 0.99} {
				label := fmt.Sprintf("%s-p%d", name, int(p*100))
				b.ReportMetric(ms(percentile(with, p)), label+"-with-ms")
				b.ReportMetric(ms(percentile(without, p)), label+"-without-ms")
				b.ReportMetric(ms(percentile(with, p)-percentile(without, p)), label+"-added-ms")
			}
		}
		// The matchConditions keep the agent's writes away from gitgate.
		if seen := decided(b, "agent") - agentBefore; seen != 0 {
			b.Errorf("gitgate decided %v of the agent's writes; the webhook's matchConditions should skip them all", seen)
		}
		if seen := decided(b, "person") - personBefore; seen < writes*rounds {
			b.Errorf("gitgate decided %v of the person's %d writes with the webhook registered", seen, writes*rounds)
		}
	}
	setRegistered(b, ctx, true)
}

func impersonating(b *testing.B, user string) kubernetes.Interface {
	cfg := rest.CopyConfig(stack.ControlPlane.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	cfg.QPS, cfg.Burst = 2*rate, 2*rate
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// setRegistered registers the project's webhook configuration, or deletes
// it and waits until the API server stops calling gitgate.
func setRegistered(b *testing.B, ctx context.Context, on bool) {
	if on {
		if err := harness.RegisterWebhook(ctx, stack.ControlPlane.Client, stack.Gitgate.URL(), stack.Gitgate.CA); err != nil {
			b.Fatal(err)
		}
	} else {
		shipped, err := harness.ShippedWebhook()
		if err != nil {
			b.Fatal(err)
		}
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: shipped.Name}}
		if err := stack.ControlPlane.Client.Delete(ctx, vwc); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // the API server's webhook informer catches up
}

// patchAtRate sends writes PATCHes at rate a second, each changing the
// ConfigMap, and returns their latencies. Every one must succeed.
func patchAtRate(b *testing.B, ctx context.Context, c kubernetes.Interface) []time.Duration {
	cms := c.CoreV1().ConfigMaps("shop")
	lat := make([]time.Duration, 0, writes)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	for i := range writes {
		<-tick.C
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"%d-%d"}}}`, time.Now().UnixNano(), i)
		start := time.Now()
		if _, err := cms.Patch(ctx, "web-config", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			b.Fatalf("patch %d: %v", i, err)
		}
		lat = append(lat, time.Since(start))
	}
	return lat
}

func cpuTime(b *testing.B) time.Duration {
	d, err := stack.Gitgate.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func percentile(lat []time.Duration, p float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// decided sums gitgate_admission_decisions_total for an identity class.
func decided(b *testing.B, class string) float64 {
	text, err := stack.Gitgate.Metrics()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "gitgate_admission_decisions_total{") && strings.Contains(line, `class="`+class+`"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
			if err != nil {
				b.Fatalf("metric line %q: %v", line, err)
			}
			sum += v
		}
	}
	return sum
}

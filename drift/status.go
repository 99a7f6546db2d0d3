package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// maxListed bounds the drifted objects a status ConfigMap lists, far
// under the 1 MiB an object may hold.
const maxListed = 200

// ConfigMapStatus keeps the latest drift summary in one ConfigMap of
// gitgate's namespace: the revision, the time, counts per state and the
// drifted objects with their field paths (never values).
type ConfigMapStatus struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
}

// Write creates or replaces the summary. A conflict (another replica
// wrote first) is an error for this scan only; the next one writes again.
func (c *ConfigMapStatus) Write(ctx context.Context, r *Report, at time.Time) error {
	data, err := summary(r, at)
	if err != nil {
		return err
	}
	cms := c.Client.CoreV1().ConfigMaps(c.Namespace)
	cm, err := cms.Get(ctx, c.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace}, Data: data}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		return wrapStatus(err, c)
	}
	if err != nil {
		return wrapStatus(err, c)
	}
	cm.Data = data
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return wrapStatus(err, c)
}

func wrapStatus(err error, c *ConfigMapStatus) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("write drift status %s/%s: %w", c.Namespace, c.Name, err)
}

func summary(r *Report, at time.Time) (map[string]string, error) {
	counts := map[State]int{}
	var drifted []Object
	for _, o := range r.Objects {
		counts[o.State]++
		if o.Drifted() && len(drifted) < maxListed {
			drifted = append(drifted, o)
		}
	}
	var parts []string
	for _, s := range States {
		if s != Undeclared {
			parts = append(parts, fmt.Sprintf("%s=%d", s, counts[s]))
		}
	}
	sort.Strings(parts)
	list, err := json.Marshal(drifted)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"revision":  r.Revision,
		"scannedAt": at.UTC().Format(time.RFC3339),
		"summary":   strings.Join(parts, " "),
		"drifted":   string(list),
	}, nil
}

package breakglass

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Client manages grants in the ConfigMap through the API server, for
// `gitgate breakglass`. Every change is a read-modify-write retried on
// conflict, so two operators granting at once both succeed.
type Client struct {
	Kube      kubernetes.Interface
	Namespace string
	Name      string
}

// ErrNoGrant is returned when revoking a grant that does not exist.
var ErrNoGrant = errors.New("no such grant")

// Grant stores g under g.Name, replacing a grant of that name.
func (c *Client) Grant(ctx context.Context, g Grant) error {
	value, err := g.Encode()
	if err != nil {
		return err
	}
	return c.update(ctx, true, func(cm *corev1.ConfigMap) error {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[g.Name] = value
		return nil
	})
}

// Revoke removes the grant name.
func (c *Client) Revoke(ctx context.Context, name string) error {
	return c.update(ctx, false, func(cm *corev1.ConfigMap) error {
		if _, ok := cm.Data[name]; !ok {
			return fmt.Errorf("%w %q in %s/%s", ErrNoGrant, name, c.Namespace, c.Name)
		}
		delete(cm.Data, name)
		return nil
	})
}

// Listed is one entry of the ConfigMap as List reports it.
type Listed struct {
	Grant Grant
	// Err is why the entry is invalid (gitgate ignores it), or nil.
	Err error
}

// List returns every entry, validated against max at now, sorted by name.
func (c *Client) List(ctx context.Context, max time.Duration, now time.Time) ([]Listed, error) {
	cm, err := c.Kube.CoreV1().ConfigMaps(c.Namespace).Get(ctx, c.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", c.Namespace, c.Name, err)
	}
	var out []Listed
	for name, value := range cm.Data {
		g, err := Parse(name, value)
		if err == nil {
			err = g.Validate(max, now)
		}
		g.Name = name
		out = append(out, Listed{Grant: g, Err: err})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Grant.Name < out[j].Grant.Name })
	return out, nil
}

func (c *Client) update(ctx context.Context, create bool, mutate func(*corev1.ConfigMap) error) error {
	cms := c.Kube.CoreV1().ConfigMaps(c.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, c.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if !create {
				return fmt.Errorf("%w: %s/%s does not exist", ErrNoGrant, c.Namespace, c.Name)
			}
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name}}
			if err := mutate(cm); err != nil {
				return err
			}
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Someone created it meanwhile: retry as an update.
				return apierrors.NewConflict(corev1.Resource("configmaps"), c.Name, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		if err := mutate(cm); err != nil {
			return err
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

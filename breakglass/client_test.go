package breakglass

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

func TestClientGrantRevokeList(t *testing.T) {
	ctx := context.Background()
	c := &Client{Kube: fake.NewClientset(), Namespace: "gitgate-system", Name: DefaultConfigMap}
	if err := c.Revoke(ctx, "nothing"); !errors.Is(err, ErrNoGrant) {
		t.Errorf("revoke before any grant = %v, want ErrNoGrant", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, name := range []string{"b", "a"} {
		if err := c.Grant(ctx, Grant{Name: name, Users: []string{"dev-user"}, Reason: "INC-" + name, GrantedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.List(ctx, DefaultMaxDuration, now)
	if err != nil || len(got) != 2 || got[0].Grant.Name != "a" || got[1].Err != nil || got[1].Grant.Reason != "INC-b" {
		t.Fatalf("List = %+v, %v", got, err)
	}
	if err := c.Revoke(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, "a"); !errors.Is(err, ErrNoGrant) {
		t.Errorf("second revoke = %v, want ErrNoGrant", err)
	}
	got, _ = c.List(ctx, DefaultMaxDuration, now)
	if len(got) != 1 || got[0].Grant.Name != "b" {
		t.Errorf("after revoke List = %+v", got)
	}
}

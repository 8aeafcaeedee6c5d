package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/config/crd"
	"github.com/weftnet/weft/config/webhook"
)

// webhookConfigName is the lab's ValidatingWebhookConfiguration: the controller's default
// --webhook-config, whose caBundle the controller keeps, as in the Helm chart.
const webhookConfigName = "weft-validating-webhook-configuration"

// installWebhooks creates weft's ValidatingWebhookConfiguration (config/webhook, as the chart
// installs it) with every webhook pointed by URL at https://ip:port: the lab's API server has
// no cluster network to reach a Service over. The controller fills in the caBundle when it
// starts; until then the API server refuses weft objects (failurePolicy Fail), as a cluster
// would.
func installWebhooks(ctx context.Context, c client.Client, ip string, port int) error {
	var cfg admissionv1.ValidatingWebhookConfiguration
	if err := yaml.Unmarshal([]byte(strings.TrimPrefix(string(webhook.Manifests), "---\n")), &cfg); err != nil {
		return fmt.Errorf("read config/webhook/manifests.yaml: %w", err)
	}
	if len(cfg.Webhooks) == 0 {
		return errors.New("config/webhook/manifests.yaml has no webhook")
	}
	cfg.Name = webhookConfigName
	for i := range cfg.Webhooks {
		cc := &cfg.Webhooks[i].ClientConfig
		if cc.Service == nil || cc.Service.Path == nil {
			return fmt.Errorf("webhook %s has no service path", cfg.Webhooks[i].Name)
		}
		url := "https://" + net.JoinHostPort(ip, strconv.Itoa(port)) + *cc.Service.Path
		cc.Service, cc.URL = nil, &url
	}
	if err := c.Create(ctx, &cfg); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ValidatingWebhookConfiguration %s: %w", cfg.Name, err)
	}
	return nil
}

// kubectlApply runs `kubectl apply -f path` against the lab's API server, as a user would:
// client-side apply records each object's last-applied configuration, so applying the same
// objects again (examples/) prints "unchanged". It retries while the webhooks are not
// serving yet (the controller is starting) and fails on anything else, the webhooks'
// rejections included.
func (s *State) kubectlApply(ctx context.Context, c *Cluster, path string) error {
	kubectl, err := s.Kubectl()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := run(ctx, kubectl, "--kubeconfig", c.Kubeconfig, "apply", "-f", path)
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// installCRDs creates weft's CRDs (embedded in the binary) and waits until they are served.
func installCRDs(ctx context.Context, c client.Client) error {
	files, err := fs.Glob(crd.Bases, "bases/*.yaml")
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		data, err := crd.Bases.ReadFile(f)
		if err != nil {
			return err
		}
		u, err := decode(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := c.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("install CRD %s: %w", u.GetName(), err)
		}
		names = append(names, u.GetName())
	}
	for _, name := range names {
		if err := poll(ctx, 30*time.Second, func() error {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("apiextensions.k8s.io/v1")
			u.SetKind("CustomResourceDefinition")
			if err := c.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, cond := range conds {
				if m, ok := cond.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
			return fmt.Errorf("CRD %s not established yet", name)
		}); err != nil {
			return err
		}
	}
	return nil
}

func decode(data []byte) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		return nil, err
	}
	return u, nil
}

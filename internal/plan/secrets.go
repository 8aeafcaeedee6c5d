package plan

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/weftnet/weft/internal/frr"
)

// Passwords indexes the Secrets' values for frr.Render, which is the only place that reads
// them. Keys from StringData win over Data, as the API server merges them.
func Passwords(secrets []corev1.Secret) frr.SecretMap {
	out := frr.SecretMap{}
	for _, s := range secrets {
		for k, v := range s.Data {
			out[frr.SecretRef{Name: s.Name, Key: k}] = string(v)
		}
		for k, v := range s.StringData {
			out[frr.SecretRef{Name: s.Name, Key: k}] = v
		}
	}
	return out
}

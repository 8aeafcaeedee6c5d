package testenv

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// InertWebhookConfiguration is a ValidatingWebhookConfiguration shaped like the chart's (its
// vl2vni webhook points at the weft-webhook Service) for the code that patches its caBundle.
// Its rule matches nothing: the Service is not reachable from the test's API server, so no
// real request may ever be sent to it.
func InertWebhookConfiguration(name string) *admissionv1.ValidatingWebhookConfiguration {
	none := admissionv1.SideEffectClassNone
	return &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:                    "vl2vni.network.weft.dev",
			ClientConfig:            admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{Namespace: Namespace, Name: "weft-webhook", Path: ptr.To("/x")}},
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{APIGroups: []string{"example.invalid"}, APIVersions: []string{"v1"}, Resources: []string{"nothing"}}}},
		}},
	}
}

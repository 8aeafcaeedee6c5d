// Package webhook embeds weft's ValidatingWebhookConfiguration (generated into
// manifests.yaml by make generate), so `weft lab up --kubernetes` installs the same webhooks
// as the Helm chart, pointed at its controller by URL.
package webhook

import _ "embed"

// Manifests is manifests.yaml: one ValidatingWebhookConfiguration.
//
//go:embed manifests.yaml
var Manifests []byte

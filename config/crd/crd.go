// Package crd embeds weft's CustomResourceDefinitions (generated into bases/ by make generate),
// so programs that install them, such as `weft lab up --kubernetes`, carry the exact schemas of
// the binary's API types and need no checkout of the repository.
package crd

import "embed"

// Bases holds bases/*.yaml, one CustomResourceDefinition per file.
//
//go:embed bases/*.yaml
var Bases embed.FS

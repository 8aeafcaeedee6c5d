// Command weft is weft's CLI: offline rendering of a node's configuration and the local lab.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return "" // the command has already said why
	}
	return e.err.Error()
}

func main() {
	root := &cobra.Command{
		Use:           "weft",
		Short:         "weft: a Kubernetes-native EVPN provider-edge router",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(renderCmd(), statusCmd(), traceCmd(), labCmd())
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil && ee.err.Error() != "" {
				fmt.Fprintln(os.Stderr, "weft:", ee.err)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "weft:", err)
		os.Exit(1)
	}
}

// checkTextOrJSON refuses an --output other than text or json.
func checkTextOrJSON(output string) error {
	if output != "text" && output != "json" {
		return &exitError{1, fmt.Errorf("--output %q: must be text or json", output)}
	}
	return nil
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// emit writes a check's result as JSON (-o json) or as text for people, and exits with 2
// when the result is not ok: scripts read the code, people read the text.
func emit(w io.Writer, output string, v any, text func(io.Writer), ok bool) error {
	if output == "json" {
		if err := writeJSON(w, v); err != nil {
			return err
		}
	} else {
		text(w)
	}
	if !ok {
		return &exitError{2, nil}
	}
	return nil
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type inspectOptions struct {
	format     string
	objectType string
	size       bool
	refs       []string
}

func newInspectCommand(c *berthCLI) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on Docker objects",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.refs = args
			return runInspect(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	f.StringVar(&opts.objectType, "type", "", "Only inspect objects of the given type")
	f.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes if the type is container")
	return cmd
}

const inspectFormatHelp = "Format output using a custom template:\n" +
	"'json':             Print in JSON format\n" +
	"'TEMPLATE':         Print output using the given Go template.\n" +
	"Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"

func newContainerInspectCommand(c *berthCLI) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.refs = args
			opts.objectType = "container"
			return runInspect(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	f.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	return cmd
}

func newImageInspectCommand(c *berthCLI) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.refs = args
			opts.objectType = "image"
			return runInspect(cmd.Context(), c, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	return cmd
}

// inspectFunc fetches one object: its typed form for templates and its raw
// JSON for the default output.
type inspectFunc func(ctx context.Context, ref string) (any, []byte, error)

func runInspect(ctx context.Context, c *berthCLI, opts *inspectOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	getContainer := func(ctx context.Context, ref string) (any, []byte, error) {
		res, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{Size: opts.size})
		if err != nil {
			return nil, nil, err
		}
		return res.Container, res.Raw, nil
	}
	getImage := func(ctx context.Context, ref string) (any, []byte, error) {
		var raw bytes.Buffer
		res, err := api.ImageInspect(ctx, ref, client.ImageInspectWithRawResponse(&raw))
		if err != nil {
			return nil, nil, err
		}
		return res.InspectResponse, raw.Bytes(), nil
	}
	var get inspectFunc
	switch opts.objectType {
	case "container":
		get = getContainer
	case "image":
		get = getImage
	case "":
		get = func(ctx context.Context, ref string) (any, []byte, error) {
			for _, fn := range []inspectFunc{getContainer, getImage} {
				v, raw, err := fn(ctx, ref)
				if err == nil {
					return v, raw, nil
				}
				if !cerrdefs.IsNotFound(err) {
					return nil, nil, err
				}
			}
			return nil, nil, fmt.Errorf("Error: No such object: %s", ref)
		}
	default:
		return fmt.Errorf("%q is not a valid value for --type", opts.objectType)
	}
	return inspectAll(ctx, c, opts.refs, opts.format, get)
}

// inspectAll prints every object found and then every error, exit 1 when
// any lookup failed, like docker inspect.
func inspectAll(ctx context.Context, c *berthCLI, refs []string, format string, get inspectFunc) error {
	var errs []string
	var raws []json.RawMessage
	var out bytes.Buffer
	var tmplErr error
	if format == "json" {
		format = "{{json .}}"
	}
	var render func(typed any, raw []byte) error
	if format != "" {
		tmpl, err := parseTemplate(format)
		if err != nil {
			return statusError{status: err.Error(), code: 1}
		}
		render = func(typed any, raw []byte) error {
			var buf bytes.Buffer
			if err := tmpl.Execute(&buf, typed); err != nil {
				// Fields the typed struct lacks may still exist in the
				// daemon's JSON; retry on the generic form.
				var generic any
				if jerr := json.Unmarshal(raw, &generic); jerr != nil {
					return err
				}
				buf.Reset()
				if err2 := tmpl.Execute(&buf, generic); err2 != nil {
					return fmt.Errorf("template: %w", err)
				}
			}
			out.Write(buf.Bytes())
			out.WriteString("\n")
			return nil
		}
	}
	for _, ref := range refs {
		typed, raw, err := get(ctx, ref)
		if err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		if render != nil {
			if err := render(typed, raw); err != nil {
				tmplErr = err
				break
			}
			continue
		}
		raws = append(raws, json.RawMessage(raw))
	}
	if render == nil {
		if err := writeJSONArray(c.out, raws); err != nil {
			return err
		}
	} else {
		_, _ = c.out.Write(out.Bytes())
	}
	if tmplErr != nil {
		return tmplErr
	}
	if len(errs) > 0 {
		return statusError{status: strings.Join(errs, "\n"), code: 1}
	}
	return nil
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type loginOptions struct {
	username      string
	password      string
	passwordStdin bool
}

func newLoginCommand(c *berthCLI) *cobra.Command {
	var opts loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Authenticate to a registry",
		Long:  "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			return runLogin(cmd.Context(), c, &opts, server)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.username, "username", "u", "", "Username")
	f.StringVarP(&opts.password, "password", "p", "", "Password or Personal Access Token (PAT)")
	f.BoolVar(&opts.passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return cmd
}

func runLogin(ctx context.Context, c *berthCLI, opts *loginOptions, server string) error {
	if opts.password != "" {
		fmt.Fprintln(c.err, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if opts.passwordStdin {
			return errors.New("--password and --password-stdin are mutually exclusive")
		}
	}
	if opts.passwordStdin {
		if opts.username == "" {
			return errors.New("Must provide --username with --password-stdin")
		}
		b, err := io.ReadAll(c.in)
		if err != nil {
			return err
		}
		opts.password = strings.TrimRight(string(b), "\r\n")
	}
	key := loginServerKey(server)
	cs, err := loadCredStore()
	if err != nil {
		return err
	}
	ac := registry.AuthConfig{Username: opts.username, Password: opts.password, ServerAddress: key}
	if opts.username == "" || opts.password == "" {
		stored := cs.get(key)
		switch {
		case opts.username == "" && stored.Username != "":
			ac = stored
		case opts.username == "" && stored.IdentityToken != "":
			ac = stored
		default:
			if err := promptCredentials(c, &ac); err != nil {
				return err
			}
		}
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.RegistryLogin(ctx, client.RegistryLoginOptions{
		Username: ac.Username, Password: ac.Password, ServerAddress: key, IdentityToken: ac.IdentityToken,
	})
	if err != nil {
		return err
	}
	if res.Auth.IdentityToken != "" {
		ac.Password, ac.IdentityToken = "", res.Auth.IdentityToken
	}
	ac.ServerAddress = ""
	plain, err := cs.store(key, ac)
	if err != nil {
		return fmt.Errorf("error saving credentials: %w", err)
	}
	if plain {
		fmt.Fprintf(c.err, "WARNING! Your credentials are stored unencrypted in '%s'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n", cs.path)
	}
	status := res.Auth.Status
	if status == "" {
		status = "Login Succeeded"
	}
	fmt.Fprintln(c.out, status)
	return nil
}

// promptCredentials asks for what the flags left out, on the CLI's input.
func promptCredentials(c *berthCLI, ac *registry.AuthConfig) error {
	r := bufio.NewReader(c.in)
	if ac.Username == "" {
		fmt.Fprint(c.out, "Username: ")
		line, _ := r.ReadString('\n')
		ac.Username = strings.TrimSpace(line)
		if ac.Username == "" {
			return errors.New("Error: Non-null Username Required")
		}
	}
	if ac.Password == "" {
		fmt.Fprint(c.out, "Password: ")
		line, _ := r.ReadString('\n')
		fmt.Fprintln(c.out)
		ac.Password = strings.TrimRight(line, "\r\n")
		if ac.Password == "" {
			return errors.New("Error: Password Required")
		}
	}
	return nil
}

func newLogoutCommand(c *berthCLI) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Long:  "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			key := loginServerKey(server)
			cs, err := loadCredStore()
			if err != nil {
				return err
			}
			had, err := cs.erase(key)
			if err != nil {
				fmt.Fprintf(c.err, "WARNING: could not erase credentials: %s: %v\n", key, err)
				return nil
			}
			if !had {
				fmt.Fprintf(c.out, "Not logged in to %s\n", key)
				return nil
			}
			fmt.Fprintf(c.out, "Removing login credentials for %s\n", key)
			return nil
		},
	}
}

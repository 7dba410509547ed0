package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nightjar-telescope/nightjar/internal/web"
)

// newUserCommand returns "nightjar user": the web dashboard's accounts.
func newUserCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the web dashboard's users: add, remove, list",
		Long: `The dashboard ("nightjar serve --users FILE") lets in the users of a YAML
file, each a viewer (sees every page) or an admin (also enrolls and revokes
sensors). Passwords are stored as argon2id hashes (RFC 9106: memory-hard,
per-user random salt, t=3, 64 MiB, 4 lanes), never in clear. The file is
written with mode 0600; a running server rereads it within a second, and a
removed user's sessions end at once.`,
		Example: `  nightjar user add --users users.yaml --role admin alice     # asks for the password twice
  nightjar user add --users users.yaml --password-file pw.txt bob
  printf '%s\n' "$PW" | nightjar user add --users users.yaml carol
  nightjar user list --users users.yaml
  nightjar user remove --users users.yaml bob`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for \"nightjar user\" (want add, remove or list)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newUserAddCommand(), newUserRemoveCommand(), newUserListCommand())
	return cmd
}

func requireUsersFile(path string) error {
	if path == "" {
		return errors.New("--users FILE is required")
	}
	return nil
}

func newUserAddCommand() *cobra.Command {
	var (
		users, role, passwordFile string
		replace                   bool
	)
	cmd := &cobra.Command{
		Use:   "add --users FILE [--role viewer|admin] [--password-file FILE] NAME",
		Short: "Add a user (or, with --replace, change a user's role and password)",
		Long: `Adds a user to the users file, creating the file if needed. The password is
read from the terminal without echo (twice), or else from --password-file
or standard input (its first line), for scripts. Passwords have at least 8
characters.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireUsersFile(users); err != nil {
				return err
			}
			name := args[0]
			if err := web.ValidUserName(name); err != nil {
				return err
			}
			r, err := web.ParseRole(role)
			if err != nil {
				return err
			}
			f, err := web.LoadUserFile(users)
			if err != nil {
				return err
			}
			if _, exists := f.Find(name); exists && !replace {
				return fmt.Errorf("user %q exists already in %s (give --replace to change its role and password)", name, users)
			}
			pw, err := readNewPassword(cmd, passwordFile, name)
			if err != nil {
				return err
			}
			replaced, err := f.Set(name, r, pw)
			if err != nil {
				return err
			}
			if err := f.Save(users); err != nil {
				return err
			}
			verb := "added"
			if replaced {
				verb = "updated"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s) in %s\n", verb, name, r, users)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&users, "users", "", "the users `FILE` (created if missing, mode 0600)")
	f.StringVar(&role, "role", string(web.Viewer), "viewer (sees every page) or admin (also enrolls and revokes sensors)")
	f.StringVar(&passwordFile, "password-file", "", "read the password from the first line of `FILE` instead of the terminal")
	f.BoolVar(&replace, "replace", false, "change the role and password of an existing user")
	return cmd
}

// readNewPassword reads a password: from --password-file, from the
// terminal without echo (asked twice), or from the first line of standard
// input.
func readNewPassword(cmd *cobra.Command, file, name string) ([]byte, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read --password-file: %w", err)
		}
		return firstLine(bytes.NewReader(data))
	}
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(cmd.ErrOrStderr(), "password for %s: ", name)
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the passwords differ")
		}
		return pw, nil
	}
	return firstLine(in)
}

// firstLine returns the first line of r without its line ending.
func firstLine(r io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read password: %w", err)
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return nil, errors.New("no password given (type it at the terminal, or give --password-file or a line on standard input)")
	}
	return line, nil
}

func newUserRemoveCommand() *cobra.Command {
	var users string
	cmd := &cobra.Command{
		Use:   "remove --users FILE NAME",
		Short: "Remove a user (a running server ends their sessions)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireUsersFile(users); err != nil {
				return err
			}
			f, err := web.LoadUserFile(users)
			if err != nil {
				return err
			}
			if !f.Remove(args[0]) {
				return fmt.Errorf("no user %q in %s", args[0], users)
			}
			if err := f.Save(users); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s from %s\n", args[0], users)
			return nil
		},
	}
	cmd.Flags().StringVar(&users, "users", "", "the users `FILE`")
	return cmd
}

func newUserListCommand() *cobra.Command {
	var users string
	cmd := &cobra.Command{
		Use:   "list --users FILE",
		Short: "List the users and their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireUsersFile(users); err != nil {
				return err
			}
			if _, err := os.Stat(users); err != nil {
				return fmt.Errorf("users file: %w", err)
			}
			f, err := web.LoadUserFile(users)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tROLE")
			for _, u := range f.Users {
				fmt.Fprintf(tw, "%s\t%s\n", u.Name, strings.ToLower(string(u.Role)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&users, "users", "", "the users `FILE`")
	return cmd
}

// Command qstashguard shows qstashguard at work and helps test an endpoint
// without QStash.
//
//	qstashguard demo     run the Gin example app and send it real-shaped calls
//	qstashguard sign     print an Upstash-Signature value, or a curl command
//	qstashguard verify   check an Upstash-Signature value and explain the verdict
//
// Signing keys come from the environment, as in package core
// (QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY, QSTASH_REGION and its
// region-prefixed pairs, or QSTASH_DEV=true for the local dev server's
// published keys). No subcommand ever prints a key.
//
// Exit status: 0 on success, 1 when a verification fails, 2 for a usage or
// configuration error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK       = 0
	exitRejected = 1
	exitUsage    = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// env is what a subcommand may touch of the outside world. Tests hand in
// buffers and a map in place of the process's streams and environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

var commands = []command{
	{"demo", "start the Gin example app on loopback and send it a scripted series of calls",
		runDemo},
	{"sign", "print an Upstash-Signature value as QStash issues them, or a curl command",
		runSign},
	{"verify", "check an Upstash-Signature value and say which checks pass and why",
		runVerify},
}

const toolUsage = `qstashguard verifies Upstash QStash and Upstash Workflow requests.

Usage:
  qstashguard <command> [flags]
  qstashguard <command> --help

Commands:
%s
Signing keys come from the environment: QSTASH_CURRENT_SIGNING_KEY and
QSTASH_NEXT_SIGNING_KEY (with QSTASH_REGION, the region-prefixed pairs such as
EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY), or QSTASH_DEV=true for the published
keys of the QStash local dev server. The demo needs none of them.

Exit status: 0 success, 1 verification failed, 2 usage or configuration error.
`

// run is the whole program: main only binds it to the process.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		printToolUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			return run([]string{args[1], "--help"}, stdout, stderr, getenv)
		}
		printToolUsage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "qstashguard: unknown command %q\n\n", name)
	printToolUsage(stderr)
	return exitUsage
}

func printToolUsage(w io.Writer) {
	var list strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&list, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, toolUsage, list.String())
}

// newFlagSet returns a flag set whose errors go to stderr and whose usage
// text the caller prints, so that --help can go to stdout.
func newFlagSet(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("qstashguard "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs. It returns done when the caller should
// return status at once: after --help, or after a usage error.
func parseFlags(e *env, fs *flag.FlagSet, usage string, args []string) (status int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printCommandUsage(e.stdout, fs, usage)
		return exitOK, true
	case err != nil:
		// The flag package has already said what was wrong.
		fmt.Fprintf(e.stderr, "run '%s --help' for usage\n", fs.Name())
		return exitUsage, true
	case fs.NArg() > 0:
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0)), true
	}
	return exitOK, false
}

func printCommandUsage(w io.Writer, fs *flag.FlagSet, usage string) {
	fmt.Fprint(w, usage)
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// usageError reports a usage error of the subcommand fs belongs to.
func usageError(e *env, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\nrun '%s --help' for usage\n", fs.Name(),
		fmt.Sprintf(format, args...), fs.Name())
	return exitUsage
}

// isSet reports whether the flag called name was given on the command line,
// to tell an empty value from an absent one.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// bodyFromFlags returns the body given by --body or --body-file, exactly
// one of which must be set.
func bodyFromFlags(fs *flag.FlagSet, body, file string) ([]byte, error) {
	hasBody, hasFile := isSet(fs, "body"), isSet(fs, "body-file")
	switch {
	case hasBody && hasFile:
		return nil, errors.New("use --body or --body-file, not both")
	case hasBody:
		return []byte(body), nil
	case hasFile:
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading --body-file: %w", err)
		}
		return b, nil
	}
	return nil, errors.New("give the request body with --body or --body-file " +
		"(--body '' for an empty one)")
}

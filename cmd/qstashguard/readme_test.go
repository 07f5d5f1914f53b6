package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

func readReadme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goTool returns the go command, which the tests that build code need.
func goTool(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return goBin
}

// offlineGoEnv is the environment for a go command that must work from the
// module cache alone: the modules these builds need are the repository's
// own dependencies, which building the repository has already fetched.
func offlineGoEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
}

// goBlocks returns the ```go fenced blocks of a Markdown text.
func goBlocks(md string) []string {
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(strings.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// TestReadmeGoBlocksCompile writes each Go block of README.md into its own
// package of a scratch module that uses this repository in place of the
// published module, and vets them all: a block that does not compile, or
// that calls an API that no longer exists, fails the test.
func TestReadmeGoBlocksCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the README's examples")
	}
	root := repoRoot(t)
	blocks := goBlocks(readReadme(t))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go blocks")
	}

	dir := t.TempDir()
	goMod := fmt.Sprintf("module readme.example\n\ngo 1.26.0\n\n"+
		"require github.com/qstashguard/qstashguard v0.0.0\n\n"+
		"replace github.com/qstashguard/qstashguard => %s\n", root)
	write(t, filepath.Join(dir, "go.mod"), goMod)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	for i, b := range blocks {
		if !strings.HasPrefix(b, "package ") {
			t.Fatalf("Go block %d of README.md is not a whole file (it must start with "+
				"a package clause):\n%s", i+1, b)
		}
		write(t, filepath.Join(dir, fmt.Sprintf("block%02d", i+1), "main.go"), b)
	}

	cmd := exec.Command(goTool(t), "vet", "./...")
	cmd.Dir = dir
	cmd.Env = offlineGoEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README.md's Go blocks do not build (blockNN is the NNth block): %v\n%s",
			err, out)
	}
}

// TestReadmeStartsWithTheCommands checks that the first block of README.md
// holds the demo and the same test command as CI, so a newcomer runs what
// CI runs.
func TestReadmeStartsWithTheCommands(t *testing.T) {
	ci, err := os.ReadFile(filepath.Join(repoRoot(t), ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	ciTest := regexp.MustCompile(`(?m)^\s*(go test[^\n]*?)\s*$`).FindStringSubmatch(string(ci))
	if ciTest == nil {
		t.Fatal(".ci/run runs no go test")
	}

	readme := readReadme(t)
	start := strings.Index(readme, "```")
	if start < 0 {
		t.Fatal("README.md has no code block")
	}
	first := readme[start:]
	first = first[:strings.Index(first[3:], "```")+3]
	var cmds []string
	for _, line := range strings.Split(first, "\n")[1:] {
		if cmd, _, _ := strings.Cut(line, "#"); strings.TrimSpace(cmd) != "" {
			cmds = append(cmds, strings.TrimSpace(cmd))
		}
	}
	want := []string{"go run ./cmd/qstashguard demo", ciTest[1]}
	if strings.Join(cmds, "\n") != strings.Join(want, "\n") {
		t.Fatalf("README.md's first block runs %q, want %q", cmds, want)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

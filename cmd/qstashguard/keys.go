package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/qstashguard/qstashguard/core"
)

// The published keys of the QStash local development server, as core's dev
// mode uses them. They are not secret, but the tool prints them no more than
// any other key.
const (
	devCurrentSigningKey = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r"
	devNextSigningKey    = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"
)

// knownRegions are the QStash regions whose prefixed keys core reads.
var knownRegions = []string{"US_EAST_1", "EU_CENTRAL_1"}

// keySet is the pair of keys a subcommand signs or verifies with, and where
// it came from, for messages that must name the source but never the key.
type keySet struct {
	current, next string
	dev           bool   // the dev server's keys, from QSTASH_DEV
	fromFlag      bool   // current came from --key
	source        string // where the keys came from, in words
}

// name says which key of the set matched, in words for a report.
func (k keySet) name(which core.Key) string {
	switch {
	case k.fromFlag:
		return "the key given with --key"
	case which == core.KeyNext:
		return "the next signing key"
	}
	return "the current signing key"
}

// verifierOptions are the core options that make a verifier use exactly k,
// whatever the process's own environment holds.
func (k keySet) verifierOptions() []core.Option {
	if k.dev {
		return []core.Option{core.WithDevMode(true)}
	}
	return []core.Option{core.WithSigningKeys(k.current, k.next), core.WithDevMode(false)}
}

// resolveKeys picks the keys as core does, reading the environment through
// getenv: QSTASH_DEV=true first, then the unprefixed pair, then with
// QSTASH_REGION the region-prefixed pairs. region, when not empty, plays the
// part of an Upstash-Region header. A key given with --key replaces all of
// them (flagKey is nil when --key was not given): the user asked for it
// explicitly.
func resolveKeys(getenv func(string) string, flagKey *string, region string) (keySet, error) {
	if flagKey != nil {
		k := strings.TrimSpace(*flagKey)
		if k == "" {
			return keySet{}, errors.New("--key is blank")
		}
		return keySet{current: k, fromFlag: true, source: "the key given with --key"}, nil
	}

	switch strings.ToLower(strings.TrimSpace(getenv(core.EnvDev))) {
	case "true", "1":
		return keySet{current: devCurrentSigningKey, next: devNextSigningKey, dev: true,
			source: core.EnvDev + " (the local dev server's published keys)"}, nil
	case "", "false", "0":
	default:
		return keySet{}, fmt.Errorf("%s=%q: use true, 1, false or 0", core.EnvDev,
			getenv(core.EnvDev))
	}

	want := ""
	if region != "" {
		name, ok := normalizeRegion(region)
		if !ok {
			return keySet{}, fmt.Errorf("--region %q is not a QStash region name", region)
		}
		want = name
	}
	get := func(prefix string) keySet {
		return keySet{
			current: strings.TrimSpace(getenv(prefix + core.EnvCurrentSigningKey)),
			next:    strings.TrimSpace(getenv(prefix + core.EnvNextSigningKey)),
			source:  "environment (" + prefix + core.EnvCurrentSigningKey + ")",
		}
	}
	empty := func(k keySet) bool { return k.current == "" && k.next == "" }

	base := get("")
	defaultRegion := ""
	if v := getenv(core.EnvRegion); v != "" {
		name, ok := normalizeRegion(v)
		if !ok {
			return keySet{}, fmt.Errorf("%s=%q is not a QStash region name", core.EnvRegion, v)
		}
		defaultRegion = name
	}
	// Prefixed keys count only in multi-region mode, as in core.
	if defaultRegion != "" && want != "" &&
		(want == defaultRegion || slices.Contains(knownRegions, want)) {
		if k := get(want + "_"); !empty(k) {
			return k, nil
		}
	}
	if !empty(base) {
		return base, nil
	}
	if defaultRegion != "" {
		if k := get(defaultRegion + "_"); !empty(k) {
			return k, nil
		}
	}
	return keySet{}, fmt.Errorf("no signing key: set %s (and %s after a rotation), "+
		"or %s=true for the local dev server's keys, or give --key",
		core.EnvCurrentSigningKey, core.EnvNextSigningKey, core.EnvDev)
}

// normalizeRegion turns "eu-central-1" into "EU_CENTRAL_1", and refuses
// anything that could not prefix an environment variable.
func normalizeRegion(s string) (string, bool) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	if s == "" || len(s) > 32 {
		return "", false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return "", false
		}
	}
	return s, true
}

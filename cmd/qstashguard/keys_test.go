package main

import (
	"strings"
	"testing"
)

func TestResolveKeys(t *testing.T) {
	flagKey := "sig_flagKey"
	tests := []struct {
		name          string
		environ       map[string]string
		flagKey       *string
		region        string
		current, next string
		wantErr       string
	}{
		{
			name: "the unprefixed pair is read",
			environ: map[string]string{
				"QSTASH_CURRENT_SIGNING_KEY": " sig_c\n",
				"QSTASH_NEXT_SIGNING_KEY":    "sig_n",
			},
			current: "sig_c", next: "sig_n",
		},
		{
			name:    "a next key alone is enough",
			environ: map[string]string{"QSTASH_NEXT_SIGNING_KEY": "sig_n"},
			next:    "sig_n",
		},
		{
			name:    "QSTASH_DEV=false leaves the environment's keys",
			environ: map[string]string{"QSTASH_DEV": "False", "QSTASH_CURRENT_SIGNING_KEY": "sig_c"},
			current: "sig_c",
		},
		{
			name:    "QSTASH_DEV=true selects the dev server's keys",
			environ: map[string]string{"QSTASH_DEV": "TRUE", "QSTASH_CURRENT_SIGNING_KEY": "sig_c"},
			current: devCurrentSigningKey, next: devNextSigningKey,
		},
		{
			name:    "--key wins over QSTASH_DEV, since the user asked for it",
			environ: map[string]string{"QSTASH_DEV": "true"},
			flagKey: &flagKey,
			current: flagKey,
		},
		{
			name:    "region keys count only with QSTASH_REGION",
			environ: map[string]string{"EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY": "sig_eu"},
			region:  "EU_CENTRAL_1",
			wantErr: "no signing key",
		},
		{
			name: "a region without keys falls back to the unprefixed pair",
			environ: map[string]string{
				"QSTASH_REGION":              "EU_CENTRAL_1",
				"QSTASH_CURRENT_SIGNING_KEY": "sig_c",
			},
			region:  "us-east-1",
			current: "sig_c",
		},
		{
			name: "the unprefixed pair wins when no region is asked for",
			environ: map[string]string{
				"QSTASH_REGION":                           "EU_CENTRAL_1",
				"QSTASH_CURRENT_SIGNING_KEY":              "sig_c",
				"EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY": "sig_eu",
			},
			current: "sig_c",
		},
		{
			name: "an unknown region's keys are read when QSTASH_REGION names it",
			environ: map[string]string{
				"QSTASH_REGION":                         "AP_SOUTH_1",
				"AP_SOUTH_1_QSTASH_CURRENT_SIGNING_KEY": "sig_ap",
				"QSTASH_CURRENT_SIGNING_KEY":            "sig_c",
			},
			region:  "ap-south-1",
			current: "sig_ap",
		},
		{
			name:    "a bad QSTASH_REGION is an error",
			environ: map[string]string{"QSTASH_REGION": "eu central", "QSTASH_CURRENT_SIGNING_KEY": "sig_c"},
			wantErr: "not a QStash region name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := resolveKeys(func(s string) string { return tt.environ[s] }, tt.flagKey,
				tt.region)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.current != tt.current || k.next != tt.next {
				t.Fatalf("got keys %q, %q; want %q, %q", k.current, k.next, tt.current, tt.next)
			}
		})
	}
}

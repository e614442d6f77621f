package cli

import (
	"testing"

	"github.com/moby/moby/client"
)

func TestUpdateConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, up client.ContainerUpdateOptions)
		wantErr string
	}{
		{name: "limits", args: []string{"-m", "128m", "--cpus", "0.5", "--pids-limit", "20"},
			check: func(t *testing.T, up client.ContainerUpdateOptions) {
				r := up.Resources
				if r.Memory != 128<<20 || r.NanoCPUs != 5e8 || r.PidsLimit == nil || *r.PidsLimit != 20 || up.RestartPolicy != nil {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "pids limit only when given", args: []string{"--cpu-shares", "512"},
			check: func(t *testing.T, up client.ContainerUpdateOptions) {
				if r := up.Resources; r.PidsLimit != nil || r.CPUShares != 512 {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "unlimited pids", args: []string{"--pids-limit", "-1", "--memory-swap", "-1"},
			check: func(t *testing.T, up client.ContainerUpdateOptions) {
				if r := up.Resources; r.PidsLimit == nil || *r.PidsLimit != -1 || r.MemorySwap != -1 {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "restart", args: []string{"--restart", "on-failure:3"},
			check: func(t *testing.T, up client.ContainerUpdateOptions) {
				if p := up.RestartPolicy; p == nil || p.Name != "on-failure" || p.MaximumRetryCount != 3 {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "bad restart", args: []string{"--restart", "sometimes"}, wantErr: "invalid restart policy format: unknown policy 'sometimes'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &updateOptions{}
			cmd := updateCommand(&berthCLI{}, o)
			if err := cmd.Flags().Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			up, err := o.updateConfig(cmd)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, up)
		})
	}
}

package integration

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"berth/internal/testutil"
)

func TestImportWithChangesAndStdin(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	tarPath := testutil.BusyboxRootfsTar(t)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ref := "changed-" + c.name + ":v1"
			id := must(t, c, "import", "-c", `CMD ["echo", "from", "cmd"]`, "-c", "ENV GREETING=hi", "-c", "WORKDIR /tmp",
				"-m", "imported for a test", tarPath, ref)
			if !strings.HasPrefix(id, "sha256:") {
				t.Fatalf("import printed %q", id)
			}
			if got := must(t, c, "run", "--rm", ref); got != "from cmd" {
				t.Fatalf("CMD change: %q", got)
			}
			if got := must(t, c, "run", "--rm", ref, "sh", "-c", "echo $GREETING; pwd"); got != "hi\n/tmp" {
				t.Fatalf("ENV/WORKDIR change: %q", got)
			}
			if got := must(t, c, "image", "inspect", "-f", "{{.Comment}}", ref); got != "imported for a test" {
				t.Fatalf("comment %q", got)
			}
			_, stderr, code := c.run(t, "import", "-c", "FROB x", tarPath, "bad-change")
			if code == 0 || !strings.Contains(strings.ToLower(stderr), "frob") {
				t.Fatalf("bad change: exit %d %q", code, stderr)
			}
			must(t, c, "rmi", ref)
		})
	}
	// From stdin, as `cat rootfs.tar | berth import - name`.
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(d.Binary, "import", "-", "fromstdin")
	cmd.Env = append(os.Environ(), "BERTH_HOST="+d.Host)
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("import from stdin: %v %s", err, out)
	}
	if got, _, _ := d.Berth(t, "run", "--rm", "fromstdin", "echo", "ok"); strings.TrimSpace(got) != "ok" {
		t.Fatalf("run of stdin import: %q", got)
	}
}

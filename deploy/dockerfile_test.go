package deploy

// The Dockerfile and .dockerignore.

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

type dockerStage struct {
	from string // the FROM line's image, build args substituted
	text string // the stage's instructions, continuation lines joined
}

// dockerfileStages splits the Dockerfile into its stages.
func dockerfileStages(t *testing.T) []dockerStage {
	t.Helper()
	raw := string(readRepoFile(t, "Dockerfile"))
	raw = strings.ReplaceAll(raw, "\\\n", " ")
	args := map[string]string{} // ARG defaults before the first FROM
	var stages []dockerStage
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "ARG":
			if len(stages) == 0 {
				if k, v, ok := strings.Cut(strings.TrimSpace(rest), "="); ok {
					args[k] = strings.Trim(v, `"`)
				}
			}
		case "FROM":
			var image string
			for _, f := range strings.Fields(rest) {
				if !strings.HasPrefix(f, "--") {
					image = f
					break
				}
			}
			image = os.Expand(image, func(k string) string { return args[k] })
			stages = append(stages, dockerStage{from: image})
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].text += line + "\n"
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a build stage and a runtime stage", len(stages))
	}
	return stages
}

func TestDockerfile(t *testing.T) {
	stages := dockerfileStages(t)
	var build *dockerStage
	for i := range stages {
		if strings.Contains(stages[i].text, "go build") {
			build = &stages[i]
		}
	}
	if build == nil {
		t.Fatal("Dockerfile: no stage runs go build")
	}
	final := stages[len(stages)-1]

	t.Run("go version", func(t *testing.T) {
		repo, tag := splitImage(build.from)
		if repo != "golang" {
			t.Fatalf("build stage FROM %s, want golang", build.from)
		}
		goLine := majorMinor(goModGo(t))
		if got := majorMinor(strings.SplitN(tag, "-", 2)[0]); got != goLine {
			t.Errorf("build stage FROM %s: Go %s, go.mod says go %s", build.from, got, goLine)
		}
	})
	t.Run("static build of cmd/aftersales", func(t *testing.T) {
		if !regexp.MustCompile(`CGO_ENABLED=0`).MatchString(build.text) {
			t.Error("build stage does not set CGO_ENABLED=0")
		}
		if !regexp.MustCompile(`go build [^\n]*-trimpath[^\n]*\./cmd/aftersales\b`).MatchString(build.text) {
			t.Error("build stage does not run `go build -trimpath ... ./cmd/aftersales`")
		}
		if !strings.Contains(build.text, "type=cache") {
			t.Error("build stage has no module/build cache mounts")
		}
	})
	t.Run("runtime", func(t *testing.T) {
		if strings.HasPrefix(final.from, "golang") {
			t.Errorf("runtime stage FROM %s: ship the binary, not the toolchain", final.from)
		}
		if _, tag := splitImage(final.from); tag == "" || tag == "latest" {
			t.Errorf("runtime stage FROM %s is not pinned", final.from)
		}
		if !strings.Contains(final.text, `ENTRYPOINT ["/usr/local/bin/aftersales"]`) {
			t.Error(`runtime stage lacks ENTRYPOINT ["/usr/local/bin/aftersales"]`)
		}
		if !regexp.MustCompile(`COPY --from=\S+ \S*aftersales /usr/local/bin/aftersales`).MatchString(final.text) {
			t.Error("runtime stage does not copy the binary to /usr/local/bin/aftersales")
		}
		if !strings.Contains(final.text, "ca-certificates") && !strings.Contains(final.from, "distroless") {
			t.Error("runtime stage lacks ca-certificates")
		}
		m := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(final.text, -1)
		if len(m) == 0 {
			t.Fatal("runtime stage runs as root: no USER")
		}
		if user := m[len(m)-1][1]; user == "root" || user == "0" || strings.HasPrefix(user, "0:") {
			t.Errorf("runtime stage runs as %s", user)
		}
	})
}

func TestDockerignore(t *testing.T) {
	lines := map[string]bool{}
	for _, l := range strings.Split(string(readRepoFile(t, ".dockerignore")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines[strings.TrimPrefix(l, "/")] = true
		}
	}
	for _, must := range []string{".git", ".aftersales"} {
		if !lines[must] {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
	for _, needed := range []string{"go.mod", "go.sum", "cmd", "*.go", "**/*.go"} {
		if lines[needed] {
			t.Errorf(".dockerignore excludes %s, which the build needs", needed)
		}
	}
}

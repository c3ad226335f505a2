package chart

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/secretbridge/secretbridge/internal/testenv"
)

// dockerfile is the parts of the Dockerfile the tests rely on.
type dockerfile struct {
	// buildArgs are the build stage's ARG defaults.
	buildArgs map[string]string
	// goBuild is the shell command of the RUN line that runs `go build`,
	// without RUN's own --mount flags.
	goBuild string
	// finalFrom, user and copyFrom are the final stage's base image, USER and
	// the source path of its COPY --from=build.
	finalFrom, user, copyFrom string
}

// parseDockerfile reads the instructions of a Dockerfile, joining continued
// lines, which is all this Dockerfile uses.
func parseDockerfile(path string) (*dockerfile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var instrs []string
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		instrs = append(instrs, cur.String())
		cur.Reset()
	}
	d := &dockerfile{buildArgs: map[string]string{}}
	stages := 0
	for _, in := range instrs {
		word, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			stages++
			fields := strings.Fields(rest)
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					d.finalFrom = f
					break
				}
			}
		case "ARG":
			if stages == 1 {
				k, v, _ := strings.Cut(rest, "=")
				d.buildArgs[k] = v
			}
		case "RUN":
			if stages == 1 && strings.Contains(rest, "go build") {
				fields := strings.Fields(rest)
				for len(fields) > 0 && strings.HasPrefix(fields[0], "--mount=") {
					fields = fields[1:]
				}
				d.goBuild = strings.Join(fields, " ")
			}
		case "USER":
			d.user = rest
		case "COPY":
			if strings.HasPrefix(rest, "--from=build ") {
				d.copyFrom = strings.Fields(rest)[1]
			}
		}
	}
	if stages != 2 || d.goBuild == "" {
		return nil, fmt.Errorf("%s: want two stages and a `go build` RUN line in the first, found %d stages, go build %q", path, stages, d.goBuild)
	}
	return d, nil
}

var (
	imageBuildOnce sync.Once
	imageBinPath   string
	imageBuildErr  error
	// imageVersion is the VERSION build argument the tests pass.
	imageVersion = "v0.0.0-chart-test"
)

// imageBinary builds cmd/secretbridge once per test run by running the
// Dockerfile's own `go build` command line, for this machine's platform,
// so the controller the tests run is the one the image ships.
func imageBinary(t *testing.T, env *testenv.Env) string {
	t.Helper()
	imageBuildOnce.Do(func() {
		d, err := parseDockerfile(filepath.Join(env.RepoRoot, "Dockerfile"))
		if err != nil {
			imageBuildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "secretbridge-image-")
		if err != nil {
			imageBuildErr = err
			return
		}
		env.OnStop(func() { _ = os.RemoveAll(dir) })
		cmd := exec.Command("sh", "-c", d.goBuild)
		cmd.Dir = env.RepoRoot
		// The ARGs are environment variables of RUN, as in a docker build.
		cmd.Env = os.Environ()
		for k, v := range d.buildArgs {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH, "VERSION="+imageVersion, "OUT_DIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			imageBuildErr = fmt.Errorf("the Dockerfile's build command `%s` failed: %v\n%s", d.goBuild, err, out)
			return
		}
		imageBinPath = filepath.Join(dir, "secretbridge")
	})
	if imageBuildErr != nil {
		t.Fatal(imageBuildErr)
	}
	return imageBinPath
}

// The Dockerfile's build stage produces a static, trimmed, versioned binary
// (no ELF interpreter, no dynamic section, cgo off), and the final stage
// runs it from distroless as the numeric non-root user.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	env := testenv.Get(t)
	d, err := parseDockerfile(filepath.Join(env.RepoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `GOOS="${TARGETOS}"`, `GOARCH="${TARGETARCH}"`, "internal/version.Version=${VERSION}"} {
		if !strings.Contains(d.goBuild, want) {
			t.Errorf("the build command lacks %s: %s", want, d.goBuild)
		}
	}
	if !strings.HasPrefix(d.finalFrom, "gcr.io/distroless/static") || !strings.HasSuffix(d.finalFrom, ":nonroot") {
		t.Errorf("final stage is FROM %s, want gcr.io/distroless/static:nonroot", d.finalFrom)
	}
	if d.user != "65532:65532" {
		t.Errorf("USER %q, want the numeric 65532:65532 so runAsNonRoot can verify it", d.user)
	}
	if want := d.buildArgs["OUT_DIR"] + "/secretbridge"; d.copyFrom != want {
		t.Errorf("the final stage copies %s, but the build writes %s", d.copyFrom, want)
	}

	bin := imageBinary(t, env)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %s program header: it is dynamically linked", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("the binary has a .dynamic section")
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary imports %v", libs)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), imageVersion) {
		t.Errorf("`secretbridge version`: %v %s, want %s", err, out, imageVersion)
	}
}

package deploy

// These tests hold docker-compose.yml and the Dockerfile to the code without a Docker
// engine: they parse the compose file, the Dockerfile, go.mod, and the Go source of
// cmd/aftersales and workflows, so that a renamed flag, a new search attribute or a
// Temporal upgrade that is not carried over to the topology fails here.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aftersales/aftersales/activities/webhook"
)

// ---------------------------------------------------------------------------
// The compose file, as far as these tests read it. Compose accepts several
// spellings for most keys (a list or a map, a string or a list); the types below
// take each of them.

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

type service struct {
	Image         string       `yaml:"image"`
	Build         *buildSpec   `yaml:"build"`
	Command       stringList   `yaml:"command"`
	Entrypoint    stringList   `yaml:"entrypoint"`
	Environment   envMap       `yaml:"environment"`
	DependsOn     dependsOn    `yaml:"depends_on"`
	Healthcheck   *healthcheck `yaml:"healthcheck"`
	Ports         []portSpec   `yaml:"ports"`
	ContainerName string       `yaml:"container_name"`
	Hostname      string       `yaml:"hostname"`
	Secrets       []secretRef  `yaml:"secrets"`
	Volumes       []volumeSpec `yaml:"volumes"`
	Restart       string       `yaml:"restart"`
}

// stringList is a command, entrypoint or healthcheck test: a list, or one string
// (split on blanks, which is all these tests need).
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = strings.Fields(n.Value)
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// envMap is an environment: a map, or a list of KEY=VALUE (or KEY alone).
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	*e = envMap{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]*string
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		(*e)[k] = ""
		if v != nil {
			(*e)[k] = *v
		}
	}
	return nil
}

// dependsOn maps a dependency to its condition: a list means service_started.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, name := range l {
			(*d)[name] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	for name, c := range m {
		(*d)[name] = c.Condition
		if c.Condition == "" {
			(*d)[name] = "service_started"
		}
	}
	return nil
}

type healthcheck struct {
	Test    stringList `yaml:"test"`
	Disable bool       `yaml:"disable"`
}

type buildSpec struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func (b *buildSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain buildSpec
	return n.Decode((*plain)(b))
}

// portSpec is one published port: "[ip:]host:container[/proto]", "container", or
// the long syntax.
type portSpec struct {
	HostIP    string
	Published string // "" when not published on the host
	Target    string
}

func (p *portSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s, _, _ := strings.Cut(n.Value, "/")
		parts := strings.Split(s, ":")
		switch len(parts) {
		case 1:
			p.Target = parts[0]
		case 2:
			p.Published, p.Target = parts[0], parts[1]
		case 3:
			p.HostIP, p.Published, p.Target = parts[0], parts[1], parts[2]
		default:
			return fmt.Errorf("port %q: cannot read it", n.Value)
		}
		return nil
	}
	var long struct {
		HostIP    string `yaml:"host_ip"`
		Published any    `yaml:"published"`
		Target    any    `yaml:"target"`
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	p.HostIP = long.HostIP
	if long.Published != nil {
		p.Published = fmt.Sprint(long.Published)
	}
	p.Target = fmt.Sprint(long.Target)
	return nil
}

// secretRef is a secret given to a service: its name, and where it appears.
type secretRef struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

func (s *secretRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.Source = n.Value
		return nil
	}
	type plain secretRef
	return n.Decode((*plain)(s))
}

// path is where the secret is mounted in the container.
func (s secretRef) path() string {
	switch {
	case s.Target == "":
		return "/run/secrets/" + s.Source
	case strings.HasPrefix(s.Target, "/"):
		return s.Target
	default:
		return "/run/secrets/" + s.Target
	}
}

// volumeSpec is one mount: "source:target[:mode]" or the long syntax.
type volumeSpec struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

func (v *volumeSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		parts := strings.Split(n.Value, ":")
		if len(parts) == 1 {
			v.Target = parts[0]
			return nil
		}
		v.Source, v.Target = parts[0], parts[1]
		return nil
	}
	type plain volumeSpec
	return n.Decode((*plain)(v))
}

// ---------------------------------------------------------------------------
// Loading, once per test binary.

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// repoRoot is the directory of go.mod above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = fmt.Errorf("no go.mod above the test's directory")
				return
			}
			dir = parent
		}
	})
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	return rootDir
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml: no services")
	}
	return c
}

func mustService(t *testing.T, c composeFile, name string) service {
	t.Helper()
	s, ok := c.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return s
}

// The services of the topology and what each one is.
const (
	svcMySQL          = "mysql"           // the read model
	svcPostgres       = "postgresql"      // Temporal's store
	svcTemporalSchema = "temporal-schema" // one-shot: Temporal's databases
	svcTemporal       = "temporal"
	svcTemporalSetup  = "temporal-setup" // one-shot: namespace and search attributes
	svcTemporalUI     = "temporal-ui"
	svcMigrate        = "migrate" // one-shot: the read model's schema
	svcAPI            = "api"
	svcWorker         = "worker"
	svcProviders      = "providers" // the simulated courier and payment provider
)

// appCommands are the services that run our binary, and the subcommand each runs.
var appCommands = map[string]string{svcAPI: "api", svcWorker: "worker", svcMigrate: "migrate", svcProviders: "providers",
	svcTemporalSetup: "temporal-setup"}

// ---------------------------------------------------------------------------
// Topology.

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{svcMySQL, svcPostgres, svcTemporalSchema, svcTemporal, svcTemporalSetup, svcTemporalUI, svcMigrate, svcAPI, svcWorker, svcProviders} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("docker-compose.yml: service %q is missing", name)
		}
	}
}

func TestComposeImagesPinned(t *testing.T) {
	c := loadCompose(t)
	temporalServer := goModRequire(t, "go.temporal.io/server")
	temporalUI := goModRequire(t, "github.com/temporalio/ui-server/v2")
	want := []struct {
		service, repo string
		tagOK         func(tag string) bool
		about         string
	}{
		{svcMySQL, "mysql", func(tag string) bool { return regexp.MustCompile(`^8(\.\d+)*$`).MatchString(tag) }, "a MySQL 8.x tag"},
		{svcPostgres, "postgres", func(tag string) bool { return regexp.MustCompile(`^15(\.\d+)*$`).MatchString(tag) }, "a PostgreSQL 15.x tag (what deploy/cluster runs, Debian 12's)"},
		{svcTemporal, "temporalio/server", eq(strings.TrimPrefix(temporalServer, "v")), "the go.temporal.io/server version of go.mod, " + temporalServer},
		{svcTemporalSchema, "temporalio/admin-tools", eq(strings.TrimPrefix(temporalServer, "v")), "the server's version, " + temporalServer},
		{svcTemporalUI, "temporalio/ui", eq(strings.TrimPrefix(temporalUI, "v")), "the ui-server version of go.mod, " + temporalUI},
	}
	for _, w := range want {
		t.Run(w.service, func(t *testing.T) {
			repo, tag := splitImage(mustService(t, c, w.service).Image)
			if repo != w.repo || !w.tagOK(tag) {
				t.Errorf("image %s:%s, want %s with %s", repo, tag, w.repo, w.about)
			}
		})
	}
	// No floating tags anywhere, our own image included.
	for name, s := range c.Services {
		if s.Image == "" {
			if s.Build == nil {
				t.Errorf("service %s: neither image nor build", name)
			}
			continue
		}
		if _, tag := splitImage(s.Image); tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
	}
}

func eq(want string) func(string) bool { return func(got string) bool { return got == want } }

// splitImage splits "repo:tag" ("docker.io/" and a digest are dropped).
func splitImage(image string) (repo, tag string) {
	image, _, _ = strings.Cut(image, "@")
	image = strings.TrimPrefix(image, "docker.io/")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i+1:]
	}
	return image, ""
}

func TestComposePorts(t *testing.T) {
	c := loadCompose(t)
	for _, w := range []struct {
		service, host, container string
	}{
		{svcAPI, "8080", "8080"},
		{svcTemporal, "7233", "7233"},
		{svcTemporalUI, "8233", "8080"},
	} {
		t.Run(w.service, func(t *testing.T) {
			var got []string
			for _, p := range mustService(t, c, w.service).Ports {
				if p.Published == w.host && p.Target == w.container {
					return
				}
				got = append(got, p.Published+"->"+p.Target)
			}
			t.Errorf("no host port %s -> container %s (ports: %v)", w.host, w.container, got)
		})
	}
}

func TestComposeAppServicesBuildFromRepo(t *testing.T) {
	c := loadCompose(t)
	for name, sub := range appCommands {
		t.Run(name, func(t *testing.T) {
			s := mustService(t, c, name)
			if s.Build == nil {
				t.Fatal("no build section: api, worker and migrate run the image built from this repository")
			}
			if ctx := filepath.Clean(s.Build.Context); ctx != "." {
				t.Errorf("build context %q, want the repository root", s.Build.Context)
			}
			dockerfile := s.Build.Dockerfile
			if dockerfile == "" {
				dockerfile = "Dockerfile"
			}
			if filepath.Clean(dockerfile) != "Dockerfile" {
				t.Errorf("build dockerfile %q, want Dockerfile", dockerfile)
			}
			if len(s.Entrypoint) > 0 {
				t.Errorf("entrypoint %q overrides the image's /usr/local/bin/aftersales", s.Entrypoint)
			}
			if len(s.Command) == 0 || s.Command[0] != sub {
				t.Errorf("command %q, want %q", s.Command, sub)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Environment against the binary's flags.

// runtimeEnv are read by the Go runtime or libc, not by our flags.
var runtimeEnv = map[string]bool{"GOMAXPROCS": true, "GOMEMLIMIT": true, "GOGC": true, "GODEBUG": true, "GOTRACEBACK": true, "TZ": true}

func TestComposeEnvironmentIsReadByBinary(t *testing.T) {
	c := loadCompose(t)
	accepted := binaryEnv(t)
	required := map[string][]string{
		svcAPI:     {"AFTERSALES_DATABASE_URL", "TEMPORAL_ADDRESS", "AFTERSALES_KEYS", "AFTERSALES_COURIER_WEBHOOK_SECRET_FILE", "AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE"},
		svcWorker:  {"AFTERSALES_DATABASE_URL", "TEMPORAL_ADDRESS"},
		svcMigrate: {"AFTERSALES_DATABASE_URL"},
		svcProviders: {"AFTERSALES_COURIER_KEY", "AFTERSALES_PAYMENT_KEY", "AFTERSALES_WEBHOOK_URL",
			"AFTERSALES_COURIER_WEBHOOK_SECRET_FILE", "AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE",
			"AFTERSALES_COURIER_LEDGER_FILE", "AFTERSALES_PAYMENT_LEDGER_FILE"},
	}
	for name, sub := range appCommands {
		t.Run(name, func(t *testing.T) {
			reads := accepted[sub]
			if len(reads) == 0 {
				t.Fatalf("found no environment variables read by `aftersales %s` in cmd/aftersales", sub)
			}
			env := mustService(t, c, name).Environment
			for _, k := range sortedKeys(env) {
				if !reads[k] && !runtimeEnv[k] {
					t.Errorf("%s=%q: `aftersales %s` does not read %s (it reads %s)", k, env[k], sub, k, strings.Join(sortedKeys(reads), ", "))
				}
			}
			for _, k := range required[name] {
				if env[k] == "" {
					t.Errorf("%s is not set", k)
				}
			}
		})
	}
}

func TestComposeDatabaseURL(t *testing.T) {
	c := loadCompose(t)
	mysqlEnv := mustService(t, c, svcMySQL).Environment
	// mysql://user:pass@tcp(host:3306)/db?parseTime=true
	re := regexp.MustCompile(`^mysql://([^:@]+):([^@]+)@tcp\(([^:)]+):(\d+)\)/([^?]+)\?(.*)$`)
	for name := range appCommands {
		if name == svcProviders || name == svcTemporalSetup {
			continue // the providers keep their own ledgers, not ours; the setup speaks to Temporal only
		}
		url := mustService(t, c, name).Environment["AFTERSALES_DATABASE_URL"]
		m := re.FindStringSubmatch(url)
		if m == nil {
			t.Errorf("%s: AFTERSALES_DATABASE_URL %q is not mysql://user:pass@tcp(host:port)/db?parseTime=true", name, url)
			continue
		}
		user, pass, host, db, query := m[1], m[2], m[3], m[5], m[6]
		if host != svcMySQL {
			t.Errorf("%s: database host %q, want the %s service", name, host, svcMySQL)
		}
		if user != mysqlEnv["MYSQL_USER"] || pass != mysqlEnv["MYSQL_PASSWORD"] || db != mysqlEnv["MYSQL_DATABASE"] {
			t.Errorf("%s: database URL user/password/database %s/%s/%s differ from the mysql service's MYSQL_USER/MYSQL_PASSWORD/MYSQL_DATABASE %s/%s/%s",
				name, user, pass, db, mysqlEnv["MYSQL_USER"], mysqlEnv["MYSQL_PASSWORD"], mysqlEnv["MYSQL_DATABASE"])
		}
		if !strings.Contains(query, "parseTime=true") {
			t.Errorf("%s: database URL lacks parseTime=true", name)
		}
	}
}

func TestComposeTemporalClients(t *testing.T) {
	c := loadCompose(t)
	setupNS := namespaceOf(mustService(t, c, svcTemporalSetup).Environment)
	for _, name := range []string{svcAPI, svcWorker, svcTemporalSetup, svcTemporalUI} {
		env := mustService(t, c, name).Environment
		if got := env["TEMPORAL_ADDRESS"]; got != svcTemporal+":7233" {
			t.Errorf("%s: TEMPORAL_ADDRESS=%q, want %s:7233", name, got, svcTemporal)
		}
		if name == svcTemporalUI {
			continue
		}
		if ns := namespaceOf(env); ns != setupNS {
			t.Errorf("%s: namespace %q, but %s sets up %q", name, ns, svcTemporalSetup, setupNS)
		}
	}
}

func namespaceOf(env envMap) string {
	if ns := env["TEMPORAL_NAMESPACE"]; ns != "" {
		return ns
	}
	return "default"
}

// The worker reaches the providers over HTTP (it holds no provider's state):
// the providers service's courier and payment APIs, with the keys that service
// checks; the providers sign their webhooks with the api's secrets and post them
// to the api, and keep their ledgers in a volume.
func TestComposeWorkerProviders(t *testing.T) {
	c := loadCompose(t)
	worker, providers := mustService(t, c, svcWorker).Environment, mustService(t, c, svcProviders).Environment
	for k, want := range map[string]string{
		"AFTERSALES_COURIER":     "http",
		"AFTERSALES_COURIER_URL": "http://" + svcProviders + ":8090/courier",
		"AFTERSALES_COURIER_KEY": providers["AFTERSALES_COURIER_KEY"],
		"AFTERSALES_PAYMENT":     "http",
		"AFTERSALES_PAYMENT_URL": "http://" + svcProviders + ":8090/payment",
		"AFTERSALES_PAYMENT_KEY": providers["AFTERSALES_PAYMENT_KEY"],
	} {
		if worker[k] != want || want == "" {
			t.Errorf("worker %s=%q, want %q", k, worker[k], want)
		}
	}
	if providers["AFTERSALES_HTTP"] != "0.0.0.0:8090" || providers["AFTERSALES_WEBHOOK_URL"] != "http://"+svcAPI+":8080" {
		t.Errorf("providers listen on %q and post to %q; want 0.0.0.0:8090 and the api", providers["AFTERSALES_HTTP"], providers["AFTERSALES_WEBHOOK_URL"])
	}
	api := mustService(t, c, svcAPI).Environment
	for _, k := range []string{"AFTERSALES_COURIER_WEBHOOK_SECRET_FILE", "AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE"} {
		if providers[k] == "" || providers[k] != api[k] {
			t.Errorf("providers %s=%q, the api checks %q: the webhooks would not verify", k, providers[k], api[k])
		}
	}
	for _, k := range []string{"AFTERSALES_COURIER_LEDGER_FILE", "AFTERSALES_PAYMENT_LEDGER_FILE"} {
		if !strings.HasPrefix(providers[k], "/var/lib/aftersales/") {
			t.Errorf("providers %s=%q: the ledgers belong in the providers-data volume at /var/lib/aftersales", k, providers[k])
		}
	}
}

// ---------------------------------------------------------------------------
// Secrets and mounted files.

func TestComposeSecretFiles(t *testing.T) {
	c := loadCompose(t)
	root := repoRoot(t)
	files := map[string]string{} // AFTERSALES_KEYS and the webhook secret files -> repository file
	for _, name := range []string{svcAPI, svcWorker} {
		s := mustService(t, c, name)
		mounted := map[string]string{}
		for _, ref := range s.Secrets {
			top, ok := c.Secrets[ref.Source]
			if !ok {
				t.Errorf("%s: secret %q is not declared under the top-level secrets", name, ref.Source)
				continue
			}
			mounted[ref.path()] = top.File
		}
		for _, k := range []string{"AFTERSALES_KEYS", "AFTERSALES_COURIER_WEBHOOK_SECRET_FILE", "AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE"} {
			path, ok := s.Environment[k]
			if !ok {
				continue
			}
			file, ok := mounted[path]
			if !ok {
				t.Errorf("%s: %s=%s, but no secret is mounted there (mounted: %v)", name, k, path, sortedKeys(mounted))
				continue
			}
			files[k] = file
		}
	}
	keys := files["AFTERSALES_KEYS"]
	secrets := []string{files["AFTERSALES_COURIER_WEBHOOK_SECRET_FILE"], files["AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE"]}
	if keys == "" || secrets[0] == "" || secrets[1] == "" {
		t.Fatalf("api must mount the keys file and both webhook secrets (got %q, %q)", keys, secrets)
	}
	if secrets[0] == secrets[1] {
		t.Errorf("the courier and the payment provider share a webhook secret %s: each needs its own", secrets[0])
	}
	for _, f := range append([]string{keys}, secrets...) {
		if !strings.Contains(strings.ToLower(f), "example") {
			t.Errorf("secret file %s: the repository ships example secrets only; name it so", f)
		}
	}

	// The example keys file must load: what api.LoadKeys demands of it.
	raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(keys)))
	if err != nil {
		t.Fatal(err)
	}
	var list []struct{ Key, Role, Subject string }
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("%s: not a JSON list of {key, role, subject}: %v", keys, err)
	}
	roles := map[string]bool{}
	for i, k := range list {
		switch {
		case len(k.Key) < 16:
			t.Errorf("%s entry %d: key shorter than 16 characters", keys, i)
		case !slices.Contains([]string{"buyer", "seller", "platform", "admin"}, k.Role):
			t.Errorf("%s entry %d: role %q", keys, i, k.Role)
		case (k.Role == "buyer" || k.Role == "seller") && k.Subject == "":
			t.Errorf("%s entry %d: a %s key needs a subject", keys, i, k.Role)
		}
		roles[k.Role] = true
	}
	if len(roles) < 4 {
		t.Errorf("%s: want one example key per role, have roles %v", keys, sortedKeys(roles))
	}

	for _, secret := range secrets {
		if _, err := webhook.LoadKeys(filepath.Join(root, filepath.FromSlash(secret)), false); err != nil {
			t.Errorf("%s: the api would refuse it: %v", secret, err)
		}
	}
}

func TestComposeBindMountsExist(t *testing.T) {
	c := loadCompose(t)
	root := repoRoot(t)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			if !strings.HasPrefix(v.Source, "./") && !strings.HasPrefix(v.Source, "../") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(v.Source))); err != nil {
				t.Errorf("%s: mounts %s at %s: %v", name, v.Source, v.Target, err)
			}
		}
	}
	for name, sec := range c.Secrets {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(sec.File))); err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Start-up order and health.

func TestComposeDependsOn(t *testing.T) {
	c := loadCompose(t)
	const healthy, completed = "service_healthy", "service_completed_successfully"
	want := map[string]map[string]string{
		svcTemporalSchema: {svcPostgres: healthy},
		svcTemporal:       {svcTemporalSchema: completed},
		svcTemporalSetup:  {svcTemporal: healthy},
		svcTemporalUI:     {svcTemporal: healthy},
		svcMigrate:        {svcMySQL: healthy},
		svcAPI:            {svcMySQL: healthy, svcTemporal: healthy, svcTemporalSetup: completed, svcMigrate: completed},
		svcWorker:         {svcMySQL: healthy, svcTemporal: healthy, svcTemporalSetup: completed, svcMigrate: completed, svcProviders: healthy},
	}
	for _, name := range sortedKeys(want) {
		t.Run(name, func(t *testing.T) {
			got := mustService(t, c, name).DependsOn
			for dep, cond := range want[name] {
				if got[dep] != cond {
					t.Errorf("depends on %s with condition %q, want %q", dep, got[dep], cond)
				}
			}
		})
	}
	// Whatever the conditions, they must be satisfiable.
	for name, s := range c.Services {
		for dep, cond := range s.DependsOn {
			d, ok := c.Services[dep]
			switch {
			case !ok:
				t.Errorf("%s depends on unknown service %s", name, dep)
			case cond == healthy && (d.Healthcheck == nil || d.Healthcheck.Disable || len(d.Healthcheck.Test) == 0):
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			case cond == completed && (d.Restart == "always" || d.Restart == "unless-stopped"):
				t.Errorf("%s waits for %s to complete, but %s restarts %s", name, dep, dep, d.Restart)
			}
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	c := loadCompose(t)
	for _, w := range []struct {
		service  string
		contains []string
	}{
		{svcMySQL, []string{"mysqladmin", "ping"}},
		{svcPostgres, []string{"pg_isready", "127.0.0.1"}},
		{svcTemporal, nil},
		{svcAPI, []string{"/healthz", "8080"}},
	} {
		t.Run(w.service, func(t *testing.T) {
			h := mustService(t, c, w.service).Healthcheck
			if h == nil || h.Disable || len(h.Test) == 0 {
				t.Fatal("no healthcheck")
			}
			test := strings.Join(h.Test, " ")
			for _, s := range w.contains {
				if !strings.Contains(test, s) {
					t.Errorf("healthcheck %q does not mention %q", test, s)
				}
			}
		})
	}
	// The api's healthcheck runs inside our image: its tool must be installed there.
	h := mustService(t, c, svcAPI).Healthcheck
	if h != nil && len(h.Test) > 1 {
		tool := h.Test[1] // after CMD or CMD-SHELL
		if h.Test[0] == "CMD-SHELL" {
			tool = strings.Fields(h.Test[1])[0]
		}
		stages := dockerfileStages(t)
		final := stages[len(stages)-1]
		if tool != "/usr/local/bin/aftersales" && !regexp.MustCompile(`apt-get install[^&]*\b`+regexp.QuoteMeta(tool)+`\b`).MatchString(final.text) {
			t.Errorf("the api healthcheck runs %s, which the Dockerfile's runtime stage does not install", tool)
		}
	}
}

func TestComposeWorkerScales(t *testing.T) {
	w := mustService(t, loadCompose(t), svcWorker)
	if w.ContainerName != "" {
		t.Errorf("worker has container_name %q: `docker compose up --scale worker=3` needs none", w.ContainerName)
	}
	if w.Hostname != "" {
		t.Errorf("worker has a fixed hostname %q", w.Hostname)
	}
	for _, p := range w.Ports {
		if p.Published != "" {
			t.Errorf("worker publishes host port %s: replicas would collide", p.Published)
		}
	}
}

// ---------------------------------------------------------------------------
// Temporal setup: the product's own subcommand, so what it registers is
// workflows.SearchAttributes itself (cmd/aftersales tests the subcommand).

func TestComposeTemporalSetupIsTheProducts(t *testing.T) {
	c := loadCompose(t)
	s, api := mustService(t, c, svcTemporalSetup), mustService(t, c, svcAPI)
	if s.Image == "" || s.Image != api.Image {
		t.Errorf("temporal-setup runs image %q, want the product's %q", s.Image, api.Image)
	}
	if len(s.Command) == 0 || s.Command[0] != "temporal-setup" || len(s.Entrypoint) != 0 {
		t.Errorf("temporal-setup runs %q %q, want `aftersales temporal-setup`", s.Entrypoint, s.Command)
	}
	if len(codeSearchAttributes(t)) == 0 {
		t.Errorf("workflows.SearchAttributes is empty: nothing for temporal-setup to register")
	}
}

// mountedFile reads the repository file mounted at containerPath in s.
func mountedFile(t *testing.T, s service, containerPath string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == containerPath {
			return string(readRepoFile(t, v.Source))
		}
	}
	t.Fatalf("nothing from the repository is mounted at %s", containerPath)
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestComposeTopLevelKeysBothToolsAccept: `docker-compose` 1.29 validates the file
// against a schema that allows only these top-level keys (and x- extensions); a
// top-level `name:`, which `docker compose` v2 takes, makes 1.29 refuse the file.
func TestComposeTopLevelKeysBothToolsAccept(t *testing.T) {
	var top map[string]any
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &top); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"version": true, "services": true, "networks": true, "volumes": true, "secrets": true, "configs": true}
	for k := range top {
		if !allowed[k] && !strings.HasPrefix(k, "x-") {
			t.Errorf("top-level key %q: docker-compose 1.29 refuses it (allowed: services, networks, volumes, secrets, configs, x-*)", k)
		}
	}
}

// TestComposeTemporalStoreIsWhatCIRuns: compose keeps Temporal's store where
// deploy/cluster (which CI brings up and kills process by process) keeps it: on
// PostgreSQL through the postgres12 plugin, its schemas applied from the same
// schema directories by temporal-sql-tool, in databases of the same names; the
// read model stays on MySQL.
func TestComposeTemporalStoreIsWhatCIRuns(t *testing.T) {
	c := loadCompose(t)
	up := string(readRepoFile(t, "deploy/cluster/up.sh"))
	for _, want := range []string{"--plugin postgres12", "postgresql/v12/temporal", "postgresql/v12/visibility",
		"databaseName: temporal\n", "databaseName: temporal_visibility\n"} {
		if !strings.Contains(up, want) {
			t.Fatalf("deploy/cluster/up.sh no longer has %q: this test's picture of the cluster is out of date", want)
		}
	}
	schema := mustService(t, c, svcTemporalSchema)
	if got := schema.Environment["SQL_PLUGIN"]; got != "postgres12" {
		t.Errorf("temporal-schema SQL_PLUGIN=%q, deploy/cluster uses postgres12", got)
	}
	if got := schema.Environment["SQL_HOST"]; got != svcPostgres {
		t.Errorf("temporal-schema SQL_HOST=%q, want the %s service", got, svcPostgres)
	}
	script := mountedFile(t, schema, schema.Entrypoint[len(schema.Entrypoint)-1])
	for _, want := range []string{"=postgresql/v12/temporal", "=postgresql/v12/visibility", "setup-schema -v 0.0", "update-schema --schema-name", "create-database"} {
		if !strings.Contains(script, want) {
			t.Errorf("the schema script lacks %q, which deploy/cluster/up.sh runs", want)
		}
	}
	env := mustService(t, c, svcTemporal).Environment
	pg := mustService(t, c, svcPostgres).Environment
	for k, want := range map[string]string{"DB": "postgres12", "POSTGRES_SEEDS": svcPostgres, "DB_PORT": "5432",
		"DBNAME": "temporal", "VISIBILITY_DBNAME": "temporal_visibility",
		"POSTGRES_USER": pg["POSTGRES_USER"], "POSTGRES_PWD": pg["POSTGRES_PASSWORD"]} {
		if env[k] != want || want == "" {
			t.Errorf("temporal %s=%q, want %q", k, env[k], want)
		}
	}
	if schema.Environment["SQL_USER"] != pg["POSTGRES_USER"] || schema.Environment["SQL_PASSWORD"] != pg["POSTGRES_PASSWORD"] {
		t.Errorf("temporal-schema connects as %s, the postgresql service creates %s",
			schema.Environment["SQL_USER"], pg["POSTGRES_USER"])
	}
	for _, name := range []string{svcTemporal, svcTemporalSchema} {
		for k, v := range mustService(t, c, name).Environment {
			if strings.HasPrefix(k, "MYSQL") {
				t.Errorf("%s sets %s=%q: only the read model is on MySQL", name, k, v)
			}
		}
	}
}

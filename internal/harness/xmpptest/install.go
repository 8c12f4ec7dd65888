package xmpptest

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Install is one installed XMPP server the harness can start: the system's
// package (prosody and ejabberdctl in PATH) or a Debian package unpacked
// beside it by .ci/install-servers (Prosody 13 and ejabberd 24.12 from
// bookworm-backports under /opt/xmpp-servers), so that several versions of
// one server can be tested on one machine.
type Install struct {
	Family  string // "prosody" or "ejabberd"
	Version string // as the package says: "0.12.3", "13.0.1", "23.01", "24.12"
	Bin     string // the prosody or ejabberdctl script
	Ctl     string // prosodyctl (Prosody only)
	Etc     string // the package's /etc/ejabberd, for its inetrc (ejabberd only)
}

// Name is the family and the version, e.g. "prosody-13.0.1": the name of
// the subtests that run against it.
func (i Install) Name() string { return i.Family + "-" + i.Version }

// Start starts a throw-away server of this install for tb; see StartProsody
// and StartEjabberd. Like every Start function, it skips the test under
// -short (see SkipIfShort).
func (i Install) Start(tb TB) *Server {
	tb.Helper()
	return i.start(tb, variant{})
}

// StartWith is Start with the Options o.
func (i Install) StartWith(tb TB, o Options) *Server {
	tb.Helper()
	return i.start(tb, variant{Options: o})
}

// StartNotAdmin starts a server whose registration of the component lacks
// the lines of the contrib snippets that give it admin rights over the MUC
// service (Prosody's admins and component_admins_as_room_owners, ejabberd's
// access_admin): the misconfiguration `muc-kick check` must catch.
func (i Install) StartNotAdmin(tb TB) *Server {
	tb.Helper()
	return i.start(tb, variant{notAdmin: true})
}

// StartHA starts a server registered with contrib/ha's snippet instead of
// contrib/prosody's or contrib/ejabberd's: two component domains (see
// Server.ComponentDomains), both admins of the MUC service, for two
// muc-kick instances side by side. ComponentDomain is the first of them.
func (i Install) StartHA(tb TB) *Server {
	tb.Helper()
	return i.start(tb, variant{ha: true})
}

func (i Install) start(tb TB, v variant) *Server {
	tb.Helper()
	SkipIfShort(tb)
	if i.Family == "prosody" {
		return startProsody(tb, i, v)
	}
	return startEjabberd(tb, i, v)
}

// ServersDirEnv names the environment variable with the folder that holds
// unpacked server packages, one per subfolder (default /opt/xmpp-servers).
const ServersDirEnv = "XMPPTEST_SERVERS_DIR"

// RequireEnv names the environment variable that lists the installs a run
// must have, e.g. "prosody-0.12 prosody-13 ejabberd-23.01 ejabberd-24.12"
// (each a prefix of an Install's Name). .ci/run sets it, so that CI fails
// instead of silently testing fewer servers; TestServerMatrix checks it.
const RequireEnv = "XMPPTEST_REQUIRE"

var (
	installsOnce sync.Once
	installs     []Install
)

// Installs returns the servers found on this machine, Prosody before
// ejabberd and older versions first. A version found twice (the system's and
// an unpacked copy) is listed once, the system's.
func Installs() []Install {
	installsOnce.Do(func() { installs = findInstalls() })
	return slices.Clone(installs)
}

func findInstalls() []Install {
	var found []Install
	if p, err := exec.LookPath("prosody"); err == nil {
		ctl, _ := exec.LookPath("prosodyctl")
		found = appendInstall(found, prosodyInstall(p, ctl))
	}
	if p, err := exec.LookPath("ejabberdctl"); err == nil {
		found = appendInstall(found, ejabberdInstall(p, "/etc/ejabberd"))
	}
	dir := os.Getenv(ServersDirEnv)
	if dir == "" {
		dir = "/opt/xmpp-servers"
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		root := filepath.Join(dir, e.Name())
		if p := filepath.Join(root, "usr/bin/prosody"); isFile(p) {
			found = appendInstall(found, prosodyInstall(p, filepath.Join(root, "usr/bin/prosodyctl")))
		}
		if p := filepath.Join(root, "usr/sbin/ejabberdctl"); isFile(p) {
			found = appendInstall(found, ejabberdInstall(p, filepath.Join(root, "etc/ejabberd")))
		}
	}
	slices.SortStableFunc(found, func(a, b Install) int {
		return cmp.Or(cmp.Compare(b.Family, a.Family), compareVersions(a.Version, b.Version))
	})
	return found
}

func appendInstall(list []Install, i Install) []Install {
	if i.Version == "" || slices.ContainsFunc(list, func(j Install) bool { return j.Name() == i.Name() }) {
		return list
	}
	return append(list, i)
}

// prosodyInstall reads the version from the prosody.version file in the
// source directory that the prosody script names (CFG_SOURCEDIR).
func prosodyInstall(bin, ctl string) Install {
	i := Install{Family: "prosody", Bin: bin, Ctl: ctl}
	if src := scriptSetting(bin, "CFG_SOURCEDIR"); src != "" {
		i.Version = strings.TrimSpace(readFileString(filepath.Join(src, "prosody.version")))
	}
	return i
}

var ejabberdDir = regexp.MustCompile(`^ejabberd-(\d+\.\d+(?:\.\d+)?)$`)

// ejabberdInstall reads the version from the ejabberd-VERSION application
// folder in the first directory of the ERL_LIBS that ejabberdctl sets.
func ejabberdInstall(bin, etc string) Install {
	i := Install{Family: "ejabberd", Bin: bin, Etc: etc}
	libs, _, _ := strings.Cut(scriptSetting(bin, "ERL_LIBS"), ":")
	entries, _ := os.ReadDir(libs)
	for _, e := range entries {
		if m := ejabberdDir.FindStringSubmatch(e.Name()); m != nil {
			i.Version = m[1]
		}
	}
	return i
}

// scriptSetting returns the value of the first NAME='value' line of a shell
// or Lua script.
func scriptSetting(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), name+"=")
		if ok {
			return strings.Trim(strings.TrimSuffix(v, ";"), `'"`)
		}
	}
	return ""
}

// compareVersions orders dotted versions numerically: 0.12.3 < 13.0.1.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for k := 0; k < max(len(as), len(bs)); k++ {
		var x, y int
		if k < len(as) {
			x, _ = strconv.Atoi(as[k])
		}
		if k < len(bs) {
			y, _ = strconv.Atoi(bs[k])
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// newest returns the newest install of family, or false when there is none.
func newest(family string) (Install, bool) {
	var best Install
	ok := false
	for _, i := range Installs() {
		if i.Family == family {
			best, ok = i, true
		}
	}
	return best, ok
}

// MissingRequired lists the entries of $XMPPTEST_REQUIRE that no install
// matches.
func MissingRequired() []string {
	var missing []string
	for _, want := range strings.Fields(os.Getenv(RequireEnv)) {
		if !slices.ContainsFunc(Installs(), func(i Install) bool {
			n := i.Name()
			return n == want || strings.HasPrefix(n, want+".")
		}) {
			missing = append(missing, want)
		}
	}
	return missing
}

// Describe lists the installs in one line, for `make test` to say which
// servers the real-server tests run against.
func Describe() string {
	var names []string
	for _, i := range Installs() {
		names = append(names, fmt.Sprintf("%s (%s)", i.Name(), i.Bin))
	}
	if len(names) == 0 {
		return "no XMPP server found: real-server tests will skip (install them with `make deps`)"
	}
	return "real-server tests run against: " + strings.Join(names, ", ")
}

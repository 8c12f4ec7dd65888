# muc-kick — see README.md.
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     := muc-kick

.PHONY: all build test test-short vet fuzz bench bench-ha demo soak deps clean install deb image

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

# Every test, against every Prosody and ejabberd found (the system's and
# those .ci/install-servers unpacked), each started on loopback; it says
# first which servers those are. `make deps` installs all four.
test:
	@$(GO) run ./tools/servers
	$(GO) test -race -count=1 -timeout 15m ./...

# Every test that needs no XMPP server, and none that does: under -short,
# each test that would start Prosody or ejabberd skips (xmpptest.SkipIfShort),
# whether they are installed or not, CI set or not. The other tools the tests
# use (systemd-analyze, make install) are used as in `make test`. CI runs it
# before it installs the servers, to prove it needs none.
RACE ?= -race
test-short:
	$(GO) test $(RACE) -count=1 -short ./...

# go vet, staticcheck (a pinned version, fetched by go run) and gofmt.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
vet:
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Each fuzz target for FUZZTIME; the corpus lives in */testdata/fuzz and is
# replayed by `make test`. A count of executions (Nx), not a duration: a
# duration races Go's fuzz coordinator (golang/go#75804, #51484) and fails now
# and then with a bare "context deadline exceeded".
FUZZTIME ?= 100000x
# Minimising a new input is bounded by a count too: by default it may take a
# minute per input.
FUZZFLAGS = -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzKickRequest$$' $(FUZZFLAGS) ./httpapi
	$(GO) test -run='^$$' -fuzz='^FuzzMatchRoom$$' $(FUZZFLAGS) ./httpapi
	$(GO) test -run='^$$' -fuzz='^FuzzRetractRequest$$' $(FUZZFLAGS) ./httpapi
	$(GO) test -run='^$$' -fuzz='^FuzzOccupantsQuery$$' $(FUZZFLAGS) ./httpapi
	$(GO) test -run='^$$' -fuzz='^FuzzKickQuery$$' $(FUZZFLAGS) ./muc
	$(GO) test -run='^$$' -fuzz='^FuzzMUCUserPresence$$' $(FUZZFLAGS) ./muc
	$(GO) test -run='^$$' -fuzz='^FuzzStanza$$' $(FUZZFLAGS) ./component
	$(GO) test -run='^$$' -fuzz='^FuzzPresenceAsGosrc$$' $(FUZZFLAGS) ./component
	$(GO) test -run='^$$' -fuzz='^FuzzSkipContent$$' $(FUZZFLAGS) ./internal/xmlrec
	$(GO) test -run='^$$' -fuzz='^FuzzScannerAsDecoder$$' $(FUZZFLAGS) ./internal/xmltok
	$(GO) test -run='^$$' -fuzz='^FuzzSkipContent$$' $(FUZZFLAGS) ./internal/xmltok
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' $(FUZZFLAGS) ./internal/jid
	$(GO) test -run='^$$' -fuzz='^FuzzOccupantIDPresence$$' $(FUZZFLAGS) ./muc
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' $(FUZZFLAGS) ./internal/config
	$(GO) test -run='^$$' -fuzz='^FuzzNode$$' $(FUZZFLAGS) ./internal/jidprep
	$(GO) test -run='^$$' -fuzz='^FuzzASCIIAsPrepared$$' $(FUZZFLAGS) ./internal/jidprep
	$(GO) test -run='^$$' -fuzz='^FuzzPayloadsDecodeAsReflection$$' $(FUZZFLAGS) ./muc

# Installs what the tests and the demo need on Debian bookworm (as root):
# Prosody 0.12 and ejabberd 23.01 with apt, Prosody 13 and ejabberd 24.12
# from bookworm-backports unpacked under /opt/xmpp-servers.
deps:
	bash .ci/install-servers

# A real kick you can watch: a throw-away Prosody on loopback, muc-kick, two
# occupants, and a curl that kicks one.
demo:
	@command -v prosody >/dev/null || $(MAKE) deps
	$(GO) run ./tools/demo

# Throughput, latency, CPU and memory, side by side with baselines measured
# in the same run: prints a table per part, shows progress on stderr and
# writes the scaling figures under docs/img (docs/performance.md). Set
# MUC_KICK_BENCH_MODULE to a mod_http_muc_kick.lua to compare with it.
# BENCH_FLAGS="-quick" for a short run; docs/performance.md has the rest.
bench:
	$(GO) run ./tools/bench -plots docs/img $(BENCH_FLAGS)

# High availability on a two-node ejabberd cluster (each ejabberd found):
# kicks/s through HAProxy with one muc-kick against two, and the failover
# time from kill -9 of one muc-kick to the next 200. Needs haproxy.
bench-ha:
	$(GO) test -run '^$$' -bench '^BenchmarkHACluster$$' -benchtime 1x -count 1 -timeout 10m -v .

# Ten minutes of kicks against a real Prosody restarted every 30 s; prints
# requests, outcomes, reconnects, goroutines and RSS at start and end.
# SOAK_FLAGS="-duration 1m" shortens it.
soak:
	$(GO) run ./tools/soak $(SOAK_FLAGS)

clean:
	rm -f $(BIN)
	rm -rf dist

# The binary, the example configuration, the README with docs/ beside it,
# and the systemd unit (whose ExecStart follows PREFIX). An existing
# config.toml is never touched.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/muc-kick
	install -D -m 0644 config.toml.example $(DESTDIR)/etc/muc-kick/config.toml.example
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/muc-kick/README.md
	install -d $(DESTDIR)$(PREFIX)/share/doc/muc-kick/docs
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/muc-kick/docs/
	install -d $(DESTDIR)$(PREFIX)/share/doc/muc-kick/docs/img
	install -m 0644 docs/img/*.svg $(DESTDIR)$(PREFIX)/share/doc/muc-kick/docs/img/
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|/usr/local/bin/muc-kick|$(PREFIX)/bin/muc-kick|; s|/usr/local/share/doc|$(PREFIX)/share/doc|' \
		contrib/systemd/muc-kick.service > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/muc-kick.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/muc-kick.service

# The Debian package, dist/muc-kick_<version>_<arch>.deb, built with
# goreleaser's nfpm from contrib/debian/nfpm.yaml (no debhelper, no source
# package). The version is `git describe` made a Debian version
# (contrib/debian/version). .ci/deb-check lints, installs and purges it.
NFPM           ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
DEB_VERSION    ?= $(shell sh contrib/debian/version)
DEB_ARCH       ?= $(shell $(GO) env GOARCH)
DEB_MAINTAINER ?= The muc-kick developers <maintainers@users.noreply.r-seed-84f8ecfd.example>
DEB_DIR        := dist/deb
deb:
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)
	# Static (no libc dependency), position-independent, stripped.
	CGO_ENABLED=0 GOARCH=$(DEB_ARCH) $(GO) build -trimpath -buildmode=pie \
		-ldflags "-s -w -X main.version=$(VERSION)" -o $(DEB_DIR)/muc-kick .
	sed 's|/usr/local/bin/muc-kick|/usr/bin/muc-kick|; s|/usr/local/share/doc|/usr/share/doc|; s|Install with `make install`|Installed by the Debian package|' \
		contrib/systemd/muc-kick.service > $(DEB_DIR)/muc-kick.service
	# The conffile: the example with its required keys commented out, so
	# that an unedited install cannot start.
	sed -e 's/^\(domain\|secret\|domains\|authorization_header\) = /#&/' \
		-e 's|^# Copy this file to /etc/muc-kick/config.toml and edit it. |# Installed by the Debian package: set the required keys (commented out below\n# until you do: muc-kick refuses to start without them), then run\n# systemctl enable --now muc-kick. |' \
		config.toml.example > $(DEB_DIR)/config.toml
	printf 'muc-kick (%s) unstable; urgency=medium\n\n  * Built from %s; see git log for the changes.\n\n -- %s  %s\n' \
		'$(DEB_VERSION)' '$(VERSION)' '$(DEB_MAINTAINER)' "$$(date -R -u -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))" \
		| gzip -9n > $(DEB_DIR)/changelog.gz
	gzip -9n < contrib/debian/muc-kick.1 > $(DEB_DIR)/muc-kick.1.gz
	DEB_VERSION='$(DEB_VERSION)' DEB_ARCH='$(DEB_ARCH)' DEB_MAINTAINER='$(DEB_MAINTAINER)' \
		$(NFPM) package --config contrib/debian/nfpm.yaml --packager deb --target dist/

# The container image $(IMAGE): the static binary alone, FROM scratch (it
# pulls nothing), built from contrib/container/Containerfile with Podman, or
# CONTAINER_ENGINE=docker. Its labels, and with Podman the OCI annotations
# too, carry org.opencontainers.image.version and the commit. It prints the
# image's size.
CONTAINER_ENGINE ?= podman
IMAGE            ?= muc-kick:$(VERSION)
IMAGE_DIR        := dist/image
IMAGE_REVISION    = $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_CREATED     = $(shell git log -1 --format=%cI 2>/dev/null)
IMAGE_ARGS        = VERSION=$(VERSION) REVISION=$(IMAGE_REVISION) CREATED=$(IMAGE_CREATED)
IMAGE_ANNOTATIONS = title=muc-kick version=$(VERSION) revision=$(IMAGE_REVISION) created=$(IMAGE_CREATED) licenses=MIT
image:
	@rm -rf $(IMAGE_DIR) && mkdir -p $(IMAGE_DIR)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(IMAGE_DIR)/muc-kick .
	$(CONTAINER_ENGINE) build -f contrib/container/Containerfile -t $(IMAGE) \
		$(foreach a,$(IMAGE_ARGS),--build-arg $(a)) \
		$(if $(findstring podman,$(CONTAINER_ENGINE)),$(foreach a,$(IMAGE_ANNOTATIONS),--annotation org.opencontainers.image.$(a))) \
		$(IMAGE_DIR)
	@echo "$(IMAGE): $$($(CONTAINER_ENGINE) image inspect --format '{{.Size}}' $(IMAGE) | awk '{printf "%.1f MB", $$1/1e6}')"

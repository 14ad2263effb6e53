# Build, run and test the daemon (lxd) and the client (lxc).

GO ?= go
GOTAGS := libsqlite3
GOFLAGS_BUILD := -tags "$(GOTAGS)" -trimpath
export CGO_ENABLED := 1

# Debian packages needed to build and run.
DEB_RUN := gcc pkg-config lxc lxc-dev libsqlite3-dev uidmap xz-utils zstd bzip2 squashfs-tools ca-certificates isal dnsmasq-base nftables iproute2 btrfs-progs libdqlite-dev libraft-dev
# Debian packages needed by the integration suite only.
DEB_TEST := lxd lxd-client busybox-static curl jq openssl nginx-light debootstrap iproute2 bc sqlite3 python3-pylxd python3-websocket docker-registry skopeo umoci xfsprogs

DATA_DIR ?= /var/lib/lxd

.PHONY: all build deps test-deps run test unit fuzz integration test-race static-analysis bench clean

all: build

build:
	$(GO) build $(GOFLAGS_BUILD) -o bin/ ./lxd ./lxc

deps:
	@./test/deps/apt-install.sh $(DEB_RUN)

test-deps: deps
	@./test/deps/apt-install.sh $(DEB_TEST)

# The daemon in the foreground; a server that has no storage pool yet (never initialised) gets "lxd init --auto"
# once it answers: a dir pool "default" and the managed bridge lxdbr0, both in the default profile.
run: deps build
	@mkdir -p $(DATA_DIR)
	@LXD_DIR=$(DATA_DIR) ./bin/lxd --verbose & pid=$$!; \
	trap 'kill -TERM $$pid 2>/dev/null' INT TERM; \
	if LXD_DIR=$(DATA_DIR) ./bin/lxd waitready --timeout 60 && \
		[ -z "$$(LXD_DIR=$(DATA_DIR) ./bin/lxc storage list --format csv)" ]; then \
		echo "initialising a new server: lxd init --auto"; \
		LXD_DIR=$(DATA_DIR) ./bin/lxd init --auto || echo "lxd init --auto failed; the daemon runs on" >&2; \
	fi; \
	while kill -0 $$pid 2>/dev/null; do wait $$pid; done

# Under the race detector lxd/rest's bad-input corpus (every method of every endpoint, also against a running
# container) takes several minutes on two cores: more than go test's default ten.
unit: deps
	$(GO) test $(GOFLAGS_BUILD) -race -count=1 -timeout 30m ./...

# Fuzz targets, as package:function; each runs for FUZZTIME. Inputs that fail are written to the package's
# testdata/fuzz/ and then run by every "go test" as regression cases. The budget is a count of runs (about 2 s
# here): a duration can fail spuriously with "context deadline exceeded" (go.dev/issue/75804, fixed in Go 1.27).
FUZZ_TARGETS := \
	./lxd/rest:FuzzInstancesPost ./lxd/rest:FuzzInstancePut ./lxd/rest:FuzzInstancePatch \
	./lxd/rest:FuzzImagesPost ./lxd/rest:FuzzImagePut ./lxd/rest:FuzzImageAliasesPost \
	./lxd/rest:FuzzProfilesPost ./lxd/rest:FuzzCertificatesPost ./lxd/rest:FuzzInstanceExecPost \
	./lxd/rest:FuzzInstanceSnapshotsPost \
	./lxd/images:FuzzParseMetadata ./lxd/images:FuzzValidateTar ./simplestreams:FuzzParseProducts \
	./lxd/template:FuzzRender ./lxd/oci:FuzzApplyLayer ./lxd/oci:FuzzManifest ./lxd/oci:FuzzReadLayout ./shared/oci:FuzzReference
FUZZTIME ?= 500x

fuzz: deps
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t ($(FUZZTIME))"; \
		$(GO) test $(GOFLAGS_BUILD) -run "^$${t##*:}$$" -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}" >/tmp/fuzz.$$$$.log 2>&1 \
			|| { grep -v '^time=' /tmp/fuzz.$$$$.log | tail -n 30; rm -f /tmp/fuzz.$$$$.log; exit 1; }; \
	done; rm -f /tmp/fuzz.$$$$.log

integration: test-deps build
	./test/machine-check.sh
	./test/main.sh

test: static-analysis unit fuzz integration test-race

# Concurrency tests against a daemon built with the race detector (in bin/race/, apart from bin/lxd); a data race
# in the daemon log fails the test.
RACE_TESTS ?= test_reliability_concurrent_imports_and_lists test_reliability_kill_during_imports test_reliability_parallel_launches test_load_100_clients

test-race: test-deps build
	$(GO) build $(GOFLAGS_BUILD) -race -o bin/race/ ./lxd
	LXD_RACE_BIN=$(CURDIR)/bin/race/lxd LOAD_DURATION=$${LOAD_DURATION:-15s} ./test/main.sh $(RACE_TESTS)

# Static analysis: gofmt, vet, staticcheck (pinned, installed under bin/tools/), the import boundaries of
# doc/architecture.md (test/lint/imports.sh, with the reviewed list in test/lint/imports.list) and the file size limit.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/tools/staticcheck-$(STATICCHECK_VERSION)/staticcheck

$(STATICCHECK):
	GOBIN=$(CURDIR)/$(dir $(STATICCHECK)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

static-analysis: deps $(STATICCHECK)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags "$(GOTAGS)" ./...
	$(STATICCHECK) -tags "$(GOTAGS)" ./...
	GOTAGS="$(GOTAGS)" ./test/lint/imports.sh
	./test/lint/filesize.sh

clean:
	rm -rf bin/

bench: test-deps
	./test/bench/bench.sh

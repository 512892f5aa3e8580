# weft — the only build file.
#
#   make            build everything into $(OUT)/bin        (installs missing Debian packages first)
#   make demo       build, then run the netlab bridge scenario end to end
#   make check      unit tests (+ ASan/UBSan), NetworkPolicy model, integration + conformance
#                   (root), fuzz smoke, lint
#   make bench      weft against the reference plugins, side by side (see tests/bench/)
#   make install    DESTDIR=, PREFIX=/usr/local, CNI_BIN_DIR=/opt/cni/bin
#   V=1             show the commands;  OUT=dir  another build directory;  SANITIZE=1  ASan+UBSan
#   make image      the node image (deploy/Containerfile) with podman, offline; IMAGE=, PODMAN=
#   STATIC=0        link dynamically (default: host-local static-pie, the plugins with libnftnl
#                   and jansson built in: fewer objects to map per exec, ~150 KiB less RSS)

OUT	?= build
PREFIX	?= /usr/local
CNI_BIN_DIR ?= /opt/cni/bin
DESTDIR	?=

CC	?= cc
CLANG	?= clang
BPFTOOL	?= bpftool
PKGS	:= libmnl libnftnl jansson libbpf
AGENT_PKGS := libcurl yaml-0.1 libmicrohttpd

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2)
MAKEFLAGS += --no-print-directory
endif

CFLAGS	?= -O2 -g
WEFT_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes \
	-Werror=implicit-function-declaration -fstack-protector-strong -fno-strict-aliasing \
	-I. -I$(OUT)/bpf -MMD -MP
LDFLAGS	?=
WEFT_LDFLAGS := -Wl,--as-needed -Wl,-z,relro -Wl,-z,now

ifeq ($(SANITIZE),1)
WEFT_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
WEFT_LDFLAGS += -fsanitize=address,undefined
STATIC := 0
endif
STATIC ?= 1

# pkg-config is asked only when building (not for deps/clean on a bare machine).
ifeq ($(filter deps clean distclean lint,$(MAKECMDGOALS)),)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
PKG_CFLAGS += $(shell pkg-config --cflags $(AGENT_PKGS) 2>/dev/null)
AGENT_LIBS := $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null) -lpthread
endif

# ---- sources (discovered: adding a file never needs a Makefile edit) -------------------------
# One archive per layer, bottom to top (docs/design.md §1). No file includes a header of a later
# layer (tests/lint-layers.sh checks it), so the archives link in one pass, highest layer first.
LAYERS := base cni nl nft bpftc ipam podnet runtime nsrun netlab agent install
SRC_base    := $(wildcard common/*.c)
SRC_cni     := $(wildcard common/cni/*.c)
SRC_nl      := $(wildcard common/nl/*.c)
SRC_nft     := $(wildcard common/nft/*.c)
SRC_bpftc   := $(wildcard common/bpf/*.c)
SRC_ipam    := $(filter-out ipam/main.c,$(wildcard ipam/*.c))
SRC_podnet  := $(wildcard plugins/lib/*.c)
SRC_runtime := $(wildcard netns-tools/runtime/*.c)
SRC_nsrun   := $(filter-out netns-tools/nsrun/nsrun.c,$(wildcard netns-tools/nsrun/*.c))
SRC_netlab  := $(filter-out netns-tools/netlab/netlab.c,$(wildcard netns-tools/netlab/*.c))
SRC_agent   := $(filter-out agent/main.c,$(wildcard agent/*.c))
SRC_install := $(filter-out agent/install/weft-install.c,$(wildcard agent/install/*.c))
PLUGINS    := $(sort $(filter-out lib,$(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c))))))
BPF_SRC    := $(wildcard bpf/*.bpf.c)
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz-*.c)

obj = $(patsubst %.c,$(OUT)/obj/%.o,$(1))
lib = $(OUT)/lib/lib$(1).a

# What each program links, highest layer first.
LIBS_PLUGIN := $(foreach l,podnet ipam bpftc nft nl cni base,$(call lib,$(l)))
LIBS_TOOLS  := $(foreach l,netlab nsrun runtime,$(call lib,$(l))) $(LIBS_PLUGIN)
LIBS_AGENT  := $(call lib,agent) $(call lib,runtime) $(LIBS_PLUGIN)
LIBS_INSTALL := $(call lib,install) $(LIBS_AGENT)
LIBS        := $(call lib,install) $(call lib,agent) $(LIBS_TOOLS)

BINS := $(addprefix $(OUT)/bin/,$(PLUGINS)) $(OUT)/bin/host-local $(OUT)/bin/nsrun $(OUT)/bin/netlab \
	$(OUT)/bin/weft-node $(OUT)/bin/weft-install
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRC))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.skel.h,$(BPF_SRC))

.PHONY: all deps build image unit unit-asan integration conformance lint format check demo bench \
	fuzz fuzz-smoke install uninstall clean check-valgrind
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:

all: deps
	$(Q)$(MAKE) build

build: $(BINS)

# ---- the node image (deploy/): FROM scratch, built offline ------------------------------------
IMAGE  ?= localhost/weft:latest
PODMAN ?= podman
image: build
	$(call msg,IMAGE,$(IMAGE))
	$(Q)./deploy/image-rootfs.sh $(OUT)/bin $(OUT)/image/rootfs
	$(Q)cp deploy/Containerfile $(OUT)/image/Containerfile
	$(Q)$(PODMAN) build -q -t $(IMAGE) -f $(OUT)/image/Containerfile $(OUT)/image >/dev/null

# ---- dependencies -----------------------------------------------------------------------------
deps:
	$(Q)./tests/deps.sh build

# ---- version ----------------------------------------------------------------------------------
# `git describe` of this checkout, baked into common/version.o only (a new version recompiles one
# file): $(OUT)/version.txt changes only when the version does. Asked only when this tree is a
# checkout itself (a tarball unpacked inside another repository must not take its version);
# "0.1.0-unknown" otherwise, or when git is missing. `make WEFT_VERSION=x` overrides it. Quotes
# (legal in a tag) are dropped: the string goes into a C literal through the shell.
WEFT_GIT_VERSION := $(if $(wildcard $(CURDIR)/.git),$(shell git -C $(CURDIR) describe --tags --always --dirty 2>/dev/null))
WEFT_VERSION := $(subst ',,$(subst ",,$(or $(WEFT_GIT_VERSION),0.1.0-unknown)))
$(OUT)/version.txt: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)echo '$(WEFT_VERSION)' | cmp -s - $@ || echo '$(WEFT_VERSION)' >$@
$(call obj,common/version.c): $(OUT)/version.txt
$(call obj,common/version.c): WEFT_CFLAGS += -DWEFT_VERSION='"$(WEFT_VERSION)"'
.PHONY: FORCE
FORCE:

# ---- compile ----------------------------------------------------------------------------------
$(OUT)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WEFT_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(foreach l,$(LAYERS),$(eval $(call lib,$(l)): $(call obj,$(SRC_$(l)))))
$(OUT)/lib/%.a:
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# The plugins link libnftnl and jansson statically when their archives are there (STATIC=1):
# two shared objects fewer to map and relocate per exec (~200k instructions, ~0.3 MiB RSS);
# libmnl, libbpf's libelf/libz and libc stay shared (Debian ships no libmnl.a).
PLUGIN_STATIC := $(if $(filter 1,$(STATIC)),$(foreach l,nftnl jansson,$(if $(wildcard \
	/usr/lib/$(shell $(CC) -dumpmachine)/lib$(l).a),$(l))))
PLUGIN_LIBS = $(foreach f,$(PKG_LIBS),$(if $(filter $(addprefix -l,$(PLUGIN_STATIC)),$(f)),-l:lib$(f:-l%=%).a,$(f)))

define plugin_rule
$(OUT)/bin/$(1): $(call obj,$(wildcard plugins/$(1)/*.c)) $(LIBS_PLUGIN)
	$$(call msg,LD,$$@)
	$(Q)mkdir -p $$(@D)
	$(Q)$$(CC) $$(WEFT_LDFLAGS) $$(LDFLAGS) $$(CFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBS_PLUGIN) $$(PLUGIN_LIBS) $$(LDLIBS)
endef
$(foreach p,$(PLUGINS),$(eval $(call plugin_rule,$(p))))

$(OUT)/bin/nsrun: $(call obj,netns-tools/nsrun/nsrun.c) $(LIBS_TOOLS)
$(OUT)/bin/netlab: $(call obj,netns-tools/netlab/netlab.c) $(LIBS_TOOLS)
$(OUT)/bin/nsrun $(OUT)/bin/netlab:
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WEFT_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $(filter %.o,$^) $(LIBS_TOOLS) $(PKG_LIBS) $(LDLIBS)

# weft-node, the node agent: libcurl, libyaml and libmicrohttpd besides the plugins' libraries.
$(OUT)/bin/weft-node: $(call obj,agent/main.c) $(LIBS_AGENT)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WEFT_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $(filter %.o,$^) $(LIBS_AGENT) $(PKG_LIBS) $(AGENT_LIBS) $(LDLIBS)

$(OUT)/bin/weft-install: $(call obj,agent/install/weft-install.c) $(LIBS_INSTALL)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WEFT_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $(filter %.o,$^) $(LIBS_INSTALL) $(PKG_LIBS) $(AGENT_LIBS) $(LDLIBS)

# host-local runs once per IPAM call of another plugin: process start-up is most of its time.
# Static PIE (glibc + libjansson.a, nothing that needs NSS or dlopen; ASLR kept) when the
# archive is there.
HL_STATIC := $(if $(filter 1,$(STATIC)),$(wildcard /usr/lib/$(shell $(CC) -dumpmachine)/libjansson.a))
$(OUT)/bin/host-local: $(call obj,ipam/main.c) $(LIBS_PLUGIN)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WEFT_LDFLAGS) $(LDFLAGS) $(CFLAGS) $(if $(HL_STATIC),-static-pie) -o $@ \
		$(filter %.o,$^) $(LIBS_PLUGIN) $(if $(HL_STATIC),-ljansson,$(PKG_LIBS)) $(LDLIBS)

# ---- eBPF: clang -target bpf -> object -> bpftool skeleton ------------------------------------
CLANG_BPF_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/include/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I. \
		$(CLANG_BPF_SYS_INCLUDES) -c $< -o $@
$(OUT)/bpf/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@
$(call obj,$(wildcard plugins/ebpf/*.c) tests/unit/test-ebpf-prog.c): $(SKELS)

# ---- tests ------------------------------------------------------------------------------------
# The policy compiler answering probes, for the cross-check against tests/policy/model.py;
# polbpf-apply writes compiled pods into an ebpf network's maps (tests/integration/ebpf-policy.bats).
POLICY_TOOLS := $(OUT)/tests/policy-eval $(OUT)/tests/polbpf-apply
$(POLICY_TOOLS): $(OUT)/tests/%: $(OUT)/obj/tests/policy/%.o $(LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WEFT_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(PKG_LIBS) $(AGENT_LIBS) $(LDLIBS)

$(OUT)/tests/%: $(call obj,tests/unit/%.c) $(LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(WEFT_LDFLAGS) $(LDFLAGS) $(CFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(PKG_LIBS) $(AGENT_LIBS) -lcmocka $(LDLIBS)

# Unit tests need no root. Each binary is a cmocka group; any failure fails the target.
unit: $(UNIT_BINS) $(BINS) $(POLICY_TOOLS)
	$(Q)fail=0; for t in $(UNIT_BINS); do \
		WEFT_TEST_BIN=$(abspath $(OUT)/bin) $$t || fail=1; done; exit $$fail

unit-asan:
	$(Q)$(MAKE) OUT=$(OUT)/asan SANITIZE=1 unit

# Integration + conformance: bats, root, every test in throwaway namespaces it creates.
integration: $(BINS)
	$(Q)WEFT_BIN=$(abspath $(OUT)/bin) CRI_NODE_MODULES=$(abspath $(OUT)/cri/node_modules) \
		bats $(BATS_FLAGS) $(or $(BATS_FILES),$(wildcard tests/conformance/*.bats tests/integration/*.bats))

# Lint: formatting is part of the build contract.
LINT_FILES = $(shell git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null)
lint:
	$(call msg,LINT,clang-format)
	$(Q)clang-format --dry-run --Werror $(LINT_FILES)
	$(call msg,LINT,layers)
	$(Q)./tests/lint-layers.sh
format:
	$(Q)clang-format -i $(LINT_FILES)

# Fuzzing (libFuzzer, clang, ASan+UBSan): make fuzz FUZZ_SECONDS=N
FUZZ_SECONDS ?= 60
fuzz fuzz-smoke:
	$(Q)./tests/fuzz/run.sh $(if $(filter fuzz-smoke,$@),smoke,full) $(FUZZ_SECONDS)

check: deps
	$(Q)OUT=$(OUT) ./tests/deps.sh test
	$(Q)OUT=$(OUT) ./tests/check.sh

# Dynamic binaries: valgrind cannot replace malloc in a static one.
check-valgrind: all
	$(Q)$(MAKE) OUT=$(OUT)/valgrind STATIC=0 build
	$(Q)WEFT_VALGRIND=1 WEFT_BIN=$(abspath $(OUT)/valgrind/bin) bats $(wildcard tests/conformance/*.bats tests/integration/*.bats)

demo: deps
	$(Q)./tests/deps.sh demo
	$(Q)$(MAKE) build
	$(Q)./tests/demo.sh $(abspath $(OUT)/bin)

bench: deps
	$(Q)OUT=$(OUT) ./tests/deps.sh bench
	$(Q)$(MAKE) build
	$(Q)CRI_NODE_MODULES=$(abspath $(OUT)/cri/node_modules) ./tests/bench/run.sh $(abspath $(OUT)/bin)

# ---- install ----------------------------------------------------------------------------------
install: all
	$(Q)install -d $(DESTDIR)$(CNI_BIN_DIR)
	$(Q)for p in $(PLUGINS) host-local; do \
		[ -x $(OUT)/bin/$$p ] && install -m 0755 $(OUT)/bin/$$p $(DESTDIR)$(CNI_BIN_DIR)/$$p; done; true
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin
	$(Q)for p in nsrun netlab weft-install weft-node; do \
		[ -x $(OUT)/bin/$$p ] && install -m 0755 $(OUT)/bin/$$p $(DESTDIR)$(PREFIX)/bin/$$p; done; true

uninstall:
	$(Q)for p in $(PLUGINS) host-local; do rm -f $(DESTDIR)$(CNI_BIN_DIR)/$$p; done
	$(Q)rm -f $(DESTDIR)$(PREFIX)/bin/nsrun $(DESTDIR)$(PREFIX)/bin/netlab $(DESTDIR)$(PREFIX)/bin/weft-install $(DESTDIR)$(PREFIX)/bin/weft-node

clean:
	$(Q)rm -rf $(OUT)

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)

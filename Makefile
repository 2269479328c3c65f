# odeflow: XDP flow sampler + Neural-ODE traffic classifier.
# make            build build/odeflow (BPF object, skeleton, userspace)
# make test       install missing packages, build, run every test (also under ASan/UBSan, bounded
#                 fuzzing, and the XDP tests on Debian 12's 6.1 kernel in a VM)
# make bench      run the benchmarks and write BENCHMARKS.md
# make deps       install the Debian packages the project needs (root)
# make layering   check that includes between user/ folders run one way
# V=1 prints the full commands.

BUILD     ?= build
CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
# Flags every userspace object needs, whatever CFLAGS the caller chose.
# -MMD -MP: each object depends on exactly the headers it includes.
# nDPI's headers come in as system headers: -Werror is for our code.
REQ_CFLAGS := $(WARN) -std=gnu11 -D_GNU_SOURCE -Iuser -Ibpf -I$(BUILD) \
             $(shell pkg-config --cflags openblas 2>/dev/null) \
             $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libndpi 2>/dev/null))
DEP_FLAGS := -MMD -MP
LDLIBS    := $(shell pkg-config --libs libxdp 2>/dev/null || echo -lxdp) -lbpf $(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl) -lelf -lz $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas) \
             -ljansson -lpcap $(shell pkg-config --libs libndpi 2>/dev/null || echo -lndpi) \
             -lmicrohttpd $(shell pkg-config --libs libfixbuf 2>/dev/null || echo -lfixbuf) \
             $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium) -lxgboost -lpthread -lm
BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g $(WARN) -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

# user/: one folder per subsystem (see user/README.md); all but cli/main.c
# form $(BUILD)/libodeflow.a.
USER_DIRS := common engine loader capture train teach agent cli
LIB_SRCS  := $(filter-out user/cli/main.c,$(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*.c)))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
PROD_SKEL := $(BUILD)/odeflow.skel.h
BENCH_SKELS := $(patsubst bpf/bench/%.bpf.c,$(BUILD)/%.skel.h,$(wildcard bpf/bench/*.bpf.c))
TEST_SRCS := $(wildcard tests/unit/test_*.c tests/live/test_*.c)
TEST_BINS := $(foreach t,$(TEST_SRCS),$(BUILD)/tests/$(basename $(notdir $(t))))
TOOL_SRCS := $(wildcard tools/bench/*.c)
TOOL_BINS := $(patsubst tools/bench/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

.DELETE_ON_ERROR:
# Keep the generated BPF objects and skeletons (make would delete them as
# intermediates and rebuild them on every run).
.SECONDARY:

.PHONY: FORCE install uninstall all deps test check test-quick san fuzz bench run layering clean print-cflags print-ldlibs
all: $(BUILD)/odeflow $(TEST_BINS) $(TOOL_BINS)

deps:
	@bash tools/deps.sh

# BPF objects depend on the headers they include (-MMD), like userspace.
$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call say,BPF,$<)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEP_FLAGS) -c $< -o $@
$(BUILD)/%.bpf.o: bpf/bench/%.bpf.c | $(BUILD)
	$(call say,BPF,$<)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEP_FLAGS) -c $< -o $@

# libbpf reports every object with a run config for libxdp's dispatcher
# (.xdp_run_config, which only libxdp reads): that line says nothing.
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call say,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp 2> $@.log; rc=$$?; \
	 grep -v 'unrecognized data section.*xdp_run_config' $@.log >&2; rm -f $@.log; \
	 [ $$rc -eq 0 ] && mv $@.tmp $@

# Commands register themselves with a declaration starting ODEFLOW_COMMAND(name,
# in user/cli/cmd_*.c (user/cli/command.h); the table of commands
# (user/cli/commands.c) is made from their names.
$(BUILD)/commands.inc: $(wildcard user/cli/cmd_*.c) | $(BUILD)
	$(call say,GEN,$@)
	$(Q)sed -n 's/^ODEFLOW_COMMAND(\([a-z0-9_]*\),.*/ODEFLOW_COMMAND_NAME(\1)/p' $^ > $@.tmp; \
	mv $@.tmp $@

# Where `make install` puts things (DESTDIR: a staging root for packagers).
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     := $(PREFIX)/bin
SHAREDIR   := $(PREFIX)/share/odeflow
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

# What the binary needs to know of its build: the version for
# `odeflow_build_info` (git describe; "unknown" outside a git checkout) and
# the installed share dir, where it finds its default model. Rewritten only
# when it changes, so a new PREFIX rebuilds just what includes it.
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/build_config.h: FORCE | $(BUILD)
	@v='#define ODEFLOW_VERSION "$(VERSION)"\n#define ODEFLOW_SHARE_DIR "$(SHAREDIR)"'; \
	 [ "$$(cat $@ 2>/dev/null)" = "$$(printf "$$v")" ] || printf "$$v\n" > $@
FORCE:

# The skeleton is order-only: it must exist before the first compile, and
# afterwards the .d files name the objects that really include it.
$(BUILD)/obj/%.o: user/%.c | $(PROD_SKEL) $(BUILD)/commands.inc $(BUILD)/build_config.h
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(REQ_CFLAGS) $(DEP_FLAGS) -c $< -o $@

# libfixbuf's headers include GLib's; only the IPFIX exporter needs them.
$(BUILD)/obj/agent/ipfix_export.o: REQ_CFLAGS += $(shell pkg-config --cflags libfixbuf 2>/dev/null)

$(BUILD)/libodeflow.a: $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@; ar rcs $@ $^

$(BUILD)/odeflow: $(BUILD)/obj/cli/main.o $(BUILD)/libodeflow.a
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(REQ_CFLAGS) $^ $(LDLIBS) -o $@

# Tests and benchmark tools, linked against the library.
define test_rule
$(BUILD)/tests/%: tests/$(1)/%.c $(BUILD)/libodeflow.a | $(PROD_SKEL) $(BENCH_SKELS)
	$$(call say,CC,$$<)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(CFLAGS) $$(REQ_CFLAGS) $$(DEP_FLAGS) -MF $$@.d -Itests $$< $(BUILD)/libodeflow.a $$(LDLIBS) -o $$@
endef
$(eval $(call test_rule,unit))
$(eval $(call test_rule,live))

$(BUILD)/tools/%: tools/bench/%.c $(BUILD)/libodeflow.a | $(PROD_SKEL) $(BENCH_SKELS)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(REQ_CFLAGS) $(DEP_FLAGS) -MF $@.d $< $(BUILD)/libodeflow.a $(LDLIBS) -o $@

$(BUILD):
	@mkdir -p $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The full suite: plain build, then the unit tests again under ASan+UBSan,
# then each fuzzer for a bounded time. `make check` skips the dependency step.
# The builds use every CPU (JOBS), the tests run one at a time.
JOBS ?= $(shell nproc)
export JOBS
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory check

check: all
	@bash tests/run.sh $(BUILD) sanitized fuzz kernel61

# Only the tests, plain build (fast inner loop).
test-quick: all
	@bash tests/run.sh $(BUILD)

layering:
	@bash tools/check_layering.sh

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
san:
	@$(MAKE) --no-print-directory BUILD=build-san CC=$(CLANG) CFLAGS="$(SAN_FLAGS)" all

FUZZ_SECONDS ?= 20
fuzz: all
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: all
	@bash tools/bench/bench.sh

# `make run`: the demo (namespaces, replayed captures, verdicts as they come);
# `make run IFACE=eth0`: the agent on a real interface, shipped model,
# observe-only policy. Both need root.
IFACE ?=
run: deps
	@$(MAKE) --no-print-directory all
ifeq ($(IFACE),)
	@bash tools/demo.sh $(BUILD)
else
	$(BUILD)/odeflow run --iface $(IFACE)
endif

# The manual pages, made by `odeflow man` from the commands' option tables:
# odeflow(1), and odeflow-COMMAND in the section each command names.
$(BUILD)/man/stamp: $(BUILD)/odeflow
	$(call say,MAN,$(BUILD)/man)
	$(Q)rm -rf $(BUILD)/man && mkdir -p $(BUILD)/man/man1 $(BUILD)/man/man8 && \
	$(BUILD)/odeflow man --list | while read -r page sec; do \
		cmd=$${page#odeflow}; \
		$(BUILD)/odeflow man $${cmd#-} > $(BUILD)/man/man$$sec/$$page.$$sec || exit 1; \
	done && touch $@

# `make install` / `make uninstall` (PREFIX, DESTDIR, SYSCONFDIR, UNITDIR,
# MANDIR, COMPLETIONDIR): the binary, its manual pages, its bash completion
# (`odeflow completion`), the shipped models, a systemd unit
# per interface (odeflow@IF.service) and, unless they are there, the default
# observe-only policy and odeflow.conf (every run option, commented out:
# `odeflow run --print-config`). Uninstall removes them, those two only if they are
# still the default.
MODELS := $(wildcard models/*.safetensors models/*.txt)
# The default model's reference windows (user/teach/reference.h).
REFERENCE := $(wildcard models/reference/*.npy models/reference/*.json)
# The default odeflow.conf: every run option, commented out.
$(BUILD)/odeflow.conf: $(BUILD)/odeflow
	$(call say,GEN,$@)
	$(Q)$(BUILD)/odeflow run --print-config > $@

install: $(BUILD)/odeflow $(BUILD)/man/stamp $(BUILD)/odeflow.conf
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/models $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/odeflow $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(BUILD)/odeflow $(DESTDIR)$(BINDIR)/odeflow
	$(BUILD)/odeflow completion > $(DESTDIR)$(COMPLETIONDIR)/odeflow
	chmod 0644 $(DESTDIR)$(COMPLETIONDIR)/odeflow
	install -m 0644 $(BUILD)/man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(BUILD)/man/man8/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MODELS) $(DESTDIR)$(SHAREDIR)/models/
	install -d $(DESTDIR)$(SHAREDIR)/models/reference
	install -m 0644 $(REFERENCE) $(DESTDIR)$(SHAREDIR)/models/reference/
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' tools/install/odeflow@.service.in \
		> $(DESTDIR)$(UNITDIR)/odeflow@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/odeflow@.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/odeflow/policy.conf ] || \
		install -m 0644 tools/install/policy.conf $(DESTDIR)$(SYSCONFDIR)/odeflow/policy.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/odeflow/odeflow.conf ] || \
		install -m 0644 $(BUILD)/odeflow.conf $(DESTDIR)$(SYSCONFDIR)/odeflow/odeflow.conf

uninstall: $(BUILD)/odeflow.conf
	rm -f $(DESTDIR)$(BINDIR)/odeflow $(DESTDIR)$(UNITDIR)/odeflow@.service \
		$(DESTDIR)$(COMPLETIONDIR)/odeflow
	rm -f $(DESTDIR)$(MANDIR)/man1/odeflow.1 $(DESTDIR)$(MANDIR)/man1/odeflow-*.1 \
		$(DESTDIR)$(MANDIR)/man8/odeflow-*.8
	rm -f $(addprefix $(DESTDIR)$(SHAREDIR)/models/,$(notdir $(MODELS))) \
		$(addprefix $(DESTDIR)$(SHAREDIR)/models/reference/,$(notdir $(REFERENCE)))
	-rmdir $(DESTDIR)$(SHAREDIR)/models/reference $(DESTDIR)$(SHAREDIR)/models \
		$(DESTDIR)$(SHAREDIR) 2>/dev/null
	! cmp -s tools/install/policy.conf $(DESTDIR)$(SYSCONFDIR)/odeflow/policy.conf || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/odeflow/policy.conf
	! cmp -s $(BUILD)/odeflow.conf $(DESTDIR)$(SYSCONFDIR)/odeflow/odeflow.conf || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/odeflow/odeflow.conf
	-rmdir $(DESTDIR)$(SYSCONFDIR)/odeflow 2>/dev/null

# For tests/fuzz/run.sh: include paths and warnings, without the optimisation flags.
print-cflags:
	@echo $(REQ_CFLAGS)
print-ldlibs:
	@echo $(LDLIBS)

clean:
	rm -rf build build-san build-fuzz

# odeflow: XDP flow sampler + Neural-ODE traffic classifier.
# make            build build/odeflow (BPF object, skeleton, userspace)
# make test       install missing packages, build, run every test (also under ASan/UBSan, bounded
#                 fuzzing, and the XDP tests on Debian 12's 6.1 kernel in a VM)
# make bench      run the benchmarks and write BENCHMARKS.md
# make deps       install the Debian packages the project needs (root)

BUILD     ?= build
CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
# Flags every userspace object needs, whatever CFLAGS the caller chose.
REQ_CFLAGS := $(WARN) -std=gnu11 -D_GNU_SOURCE -Iuser -Ibpf -I$(BUILD) \
             $(shell pkg-config --cflags openblas 2>/dev/null)
LDLIBS    := -lbpf -lelf -lz $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas) \
             -ljansson -lpcap -lpthread -lm
BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g $(WARN) -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
LIB_SRCS  := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

# Keep the generated BPF objects and skeletons (make would delete them as
# intermediates and rebuild them on every run).
.SECONDARY:

.PHONY: all deps test check test-quick san fuzz bench run clean print-cflags print-ldlibs
all: $(BUILD)/odeflow $(TEST_BINS) $(TOOL_BINS)

deps:
	@bash tools/deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/*.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# Subcommands register themselves with one ODEFLOW_COMMAND(name, "summary")
# line in user/cmd_*.c; main.c's table is generated from those lines.
$(BUILD)/commands.inc: $(wildcard user/cmd_*.c) | $(BUILD)
	grep -h '^ODEFLOW_COMMAND(' $^ /dev/null > $@.tmp; mv $@.tmp $@

$(BUILD)/obj/%.o: user/%.c user/*.h bpf/odeflow.h $(SKELS) | $(BUILD)/obj
	$(CC) $(CFLAGS) $(REQ_CFLAGS) -c $< -o $@

$(BUILD)/obj/main.o: $(BUILD)/commands.inc

$(BUILD)/libodeflow.a: $(LIB_OBJS)
	rm -f $@; ar rcs $@ $^

$(BUILD)/odeflow: $(BUILD)/obj/main.o $(BUILD)/libodeflow.a
	$(CC) $(CFLAGS) $(REQ_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c tests/*.h $(BUILD)/libodeflow.a | $(BUILD)/tests
	$(CC) $(CFLAGS) $(REQ_CFLAGS) -Itests $< $(BUILD)/libodeflow.a $(LDLIBS) -o $@

# Benchmarks and other helper programs, linked like the tests.
$(BUILD)/tools/%: tools/%.c $(BUILD)/libodeflow.a | $(BUILD)/tools
	$(CC) $(CFLAGS) $(REQ_CFLAGS) $< $(BUILD)/libodeflow.a $(LDLIBS) -o $@

$(BUILD) $(BUILD)/obj $(BUILD)/tests $(BUILD)/tools:
	mkdir -p $@

# The full suite: plain build, then the unit tests again under ASan+UBSan,
# then each fuzzer for a bounded time. `make check` skips the dependency step.
test: deps
	@$(MAKE) --no-print-directory check

check: all
	@bash tests/run.sh $(BUILD) sanitized fuzz kernel61

# Only the tests, plain build (fast inner loop).
test-quick: all
	@bash tests/run.sh $(BUILD)

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
san:
	@$(MAKE) --no-print-directory BUILD=build-san CC=$(CLANG) CFLAGS="$(SAN_FLAGS)" all

FUZZ_SECONDS ?= 20
fuzz: all
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: all
	@bash tools/bench.sh

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

# For tests/fuzz/run.sh: include paths and warnings, without the optimisation flags.
print-cflags:
	@echo $(REQ_CFLAGS)
print-ldlibs:
	@echo $(LDLIBS)

clean:
	rm -rf build build-san build-fuzz

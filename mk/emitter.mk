# make bench-emitter: the Go emitter against @socket.io/redis-emitter on one
# fresh redis-server, EMITTER_BENCH_ROUNDS interleaved rounds per row (median
# and min–max; see BenchmarkVersusNode).
#
# Where the publisher and redis-server run decides a serial rate more than
# anything else on our 2-vCPU VMs (5-6x: a wake-up across cores costs far
# more than a switch on one core), and the scheduler's choice made single
# runs noise. The serial rows therefore fix it with taskset: both on CPU A,
# then the publisher on A and Redis on B. 128 in flight runs unpinned: there
# pinning gave wider spreads (and Go one core), not narrower ones.
# EMITTER_BENCH_CPU_A= (empty) runs the serial row unpinned too.
EMITTER_BENCH_ROUNDS ?= 5
EMITTER_BENCH_CPU_A ?= 0
EMITTER_BENCH_CPU_B ?= 1

emitter_comma := ,

# $(call emitter_bench,IN FLIGHT LIST,PUBLISHER CPUS,REDIS CPUS,LABEL)
define emitter_bench
cd emitter && SIORELAY_BENCH_ROUNDS=$(EMITTER_BENCH_ROUNDS) SIORELAY_BENCH_INFLIGHT=$(1) \
	SIORELAY_BENCH_REDIS_CPUS=$(3) SIORELAY_BENCH_PLACEMENT='$(4)' \
	$(BENCH_NICE_CMD) $(if $(2),taskset -c $(2)) \
	../.tmp/bin/emitter.test -test.run '^$$' -test.bench '^BenchmarkVersusNode$$' -test.benchtime 1x
endef

.PHONY: bench-emitter
bench-emitter: deps-compat ## Go emitter vs @socket.io/redis-emitter on one fresh redis-server (1 in flight pinned on one and on two cores, 128 unpinned; interleaved x5), and encode cost
	@mkdir -p .tmp/bin
	$(GO) test -c -o .tmp/bin/emitter.test ./emitter
ifeq ($(EMITTER_BENCH_CPU_A),)
	$(call emitter_bench,1,,,unpinned)
else
	$(call emitter_bench,1,$(EMITTER_BENCH_CPU_A),$(EMITTER_BENCH_CPU_A),publisher and redis-server on CPU $(EMITTER_BENCH_CPU_A))
	$(call emitter_bench,1,$(EMITTER_BENCH_CPU_A),$(EMITTER_BENCH_CPU_B),publisher on CPU $(EMITTER_BENCH_CPU_A)$(emitter_comma) redis-server on CPU $(EMITTER_BENCH_CPU_B))
endif
	$(call emitter_bench,128,,,unpinned)
	$(GO) test ./emitter -run '^$$' -bench 'Encode' -benchmem

.PHONY: bench-streams-emitter
bench-streams-emitter: deps-compat ## Go emitter vs a Node socket.io server with @socket.io/redis-streams-adapter, into one stream (1 and 128 in flight, interleaved rounds)
	$(GO) test ./emitter -run '^$$' -bench 'StreamsVersusNode' -benchtime 1x -timeout 30m
	$(GO) test ./internal/adapter -run '^$$' -bench 'StreamBroadcast|DecodeStreamEntry' -benchmem

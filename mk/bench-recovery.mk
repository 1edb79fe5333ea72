# Connection state recovery benchmark (issue 12; bench/README.md "Recovery"):
# N clients of one server drop at once and reconnect while numbered
# broadcasts flow, Node socket.io 4.8.4 with connectionStateRecovery
# (bench/node/recovery.js) against `siorelay serve --recovery 2m`, ABAB; then
# the relay's memory per retained packet and per kept socket. Uses the
# variables of mk/bench.mk.

# Extra flags for `loadgen recovery-compare`, e.g. RECOVERY_ARGS='-reps 7 -rates 100'.
RECOVERY_ARGS ?=

.PHONY: bench-recovery
bench-recovery: bench-deps bench-build ## Recovery: 5,000 clients drop at once and reconnect during 100 and 10 broadcasts/s, Node vs relay x5 (~6 min); relay memory per retained packet and kept socket
	$(BENCH_NICE_CMD) .tmp/bin/loadgen recovery-compare -targets $(BENCH_TARGETS) -relay-bin .tmp/bin/siorelay \
		-n 5000 -rates 100,10 -reps 5 -quiet-wait 10s \
		-out $(BENCH_OUT)/recovery-$(BENCH_STAMP).jsonl $(RECOVERY_ARGS) | tee $(BENCH_OUT)/recovery-$(BENCH_STAMP).md
	$(GO) test -run '^$$' -bench RecoveryMemory -benchtime 1x ./relay/ | tee -a $(BENCH_OUT)/recovery-$(BENCH_STAMP).md

# Recovery in a Redis Streams cluster (issue 13; bench/README.md "Recovery in a
# Redis Streams cluster"): N clients of one server of a two-server cluster drop
# at once and reconnect, to the same server and to the other, while numbered
# broadcasts flow through the stream; Node socket.io 4.8.4 +
# @socket.io/redis-streams-adapter 0.3.1 (bench/node/recovery.js
# ADAPTER=streams) against `siorelay serve --adapter streams --recovery 2m`,
# ABAB, with the commands Redis ran. Uses the variables of mk/bench.mk.

# Extra flags for `loadgen recovery-streams`, e.g.
# RECOVERY_STREAMS_ARGS='-n 1000,5000 -rates 10' (how Redis work scales with the clients).
RECOVERY_STREAMS_ARGS ?=

.PHONY: bench-recovery-streams
bench-recovery-streams: bench-deps bench-build ## Recovery in a streams cluster: 5,000 clients drop at once, reconnect to the same or the other server, during 100 and 10 broadcasts/s; Node vs relay x5, Redis commands (~10 min)
	$(BENCH_NICE_CMD) .tmp/bin/loadgen recovery-streams -targets $(BENCH_TARGETS) -relay-bin .tmp/bin/siorelay \
		-n 5000 -rates 100,10 -to same,other -reps 5 -quiet-wait 10s \
		-out $(BENCH_OUT)/recovery-streams-$(BENCH_STAMP).jsonl $(RECOVERY_STREAMS_ARGS) | tee $(BENCH_OUT)/recovery-streams-$(BENCH_STAMP).md

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
	@mkdir -p $(BENCH_OUT)
	$(BENCH_NICE_CMD) .tmp/bin/loadgen recovery-compare -targets $(BENCH_TARGETS) -relay-bin .tmp/bin/siorelay \
		-n 5000 -rates 100,10 -reps 5 -quiet-wait 10s \
		-out $(BENCH_OUT)/recovery-$(BENCH_STAMP).jsonl $(RECOVERY_ARGS) | tee $(BENCH_OUT)/recovery-$(BENCH_STAMP).md
	$(GO) test -run '^$$' -bench RecoveryMemory -benchtime 1x ./relay/ | tee -a $(BENCH_OUT)/recovery-$(BENCH_STAMP).md

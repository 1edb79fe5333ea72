.PHONY: bench-emitter
bench-emitter: deps-compat ## Go emitter vs @socket.io/redis-emitter on one fresh redis-server (1 and 128 in flight), and encode cost
	$(GO) test ./emitter -run '^$$' -bench 'VersusNode' -benchtime 1x
	$(GO) test ./emitter -run '^$$' -bench 'Encode' -benchmem

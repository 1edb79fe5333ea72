.PHONY: bench-emitter
bench-emitter: ## Go emitter vs @socket.io/redis-emitter on one fresh redis-server, 1 and 128 in flight (needs deps-compat)
	$(GO) test ./emitter -run '^$$' -bench 'VersusNode|Encode' -benchtime 1x -benchmem

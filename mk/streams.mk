.PHONY: bench-streams-emitter
bench-streams-emitter: ## Go emitter vs a Node socket.io server with @socket.io/redis-streams-adapter, into one stream (1 and 128 in flight, interleaved rounds; needs deps-compat)
	$(GO) test ./emitter -run '^$$' -bench 'StreamsVersusNode' -benchtime 1x -timeout 30m
	$(GO) test ./internal/adapter -run '^$$' -bench 'StreamBroadcast|DecodeStreamEntry' -benchmem

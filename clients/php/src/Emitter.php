<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * The @socket.io/redis-emitter API over siorelay's HTTP API (the
 * EmitterService of `siorelay emitter --http-addr` or `siorelay serve
 * --http-addr`), plus the queries and acknowledgements of Node's server
 * API:
 *
 *     $emitter = new Emitter('http://127.0.0.1:8080', ['token' => getenv('SIORELAY_TOKEN')]);
 *     $emitter->to('room')->except('x')->of('/admin')->emit('event', ['a' => 1]);
 *     $sockets = $emitter->in('room')->fetchSockets();
 *     $answers = $emitter->timeout(5000)->emitWithAck('confirm');
 *
 * An Emitter is the operator of namespace "/" with no rooms; everything
 * derived from it shares its HTTP connection. Not safe for concurrent use
 * from several threads (PHP's usual model has none).
 */
final class Emitter extends BroadcastOperator
{
    /**
     * @param string $url the HTTP API, "http://127.0.0.1:8080"
     * @param array{token?: string|null, timeout?: int, curl?: array<int, mixed>, transport?: Transport} $options
     *   token: sent as "Authorization: Bearer <token>";
     *   timeout: each call's deadline in ms (10000);
     *   curl: extra CURLOPT_* options (CURLOPT_CAINFO for a private CA, ...);
     *   transport: replaces the HTTP transport (tests).
     */
    public function __construct(string $url, array $options = [])
    {
        $unknown = array_diff(array_keys($options), ['token', 'timeout', 'curl', 'transport']);
        if ($unknown !== []) {
            throw new \InvalidArgumentException('siorelay: unknown options: ' . implode(', ', $unknown));
        }
        parent::__construct($options['transport'] ?? new HttpTransport($url, $options['token'] ?? null, $options['timeout'] ?? 10000, $options['curl'] ?? []));
    }
}

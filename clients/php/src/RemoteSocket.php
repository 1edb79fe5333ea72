<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * A socket of the cluster, as fetchSockets() returns it (Node's
 * RemoteSocket): its id, namespace, rooms, data and handshake, and the
 * actions Node offers on it (emit, join, leave, disconnect), which go
 * through the same HTTP API.
 */
final class RemoteSocket
{
    /**
     * @param list<string> $rooms the rooms it is in, its own id room included
     * @param mixed $data socket.data, decoded from JSON (objects as associative arrays)
     * @param array{address: string, headers: array<string, string>, query: array<string, string>, auth: mixed, time: string, issued: int, secure: bool, xdomain: bool, url: string} $handshake
     */
    public function __construct(
        private readonly BroadcastOperator $nsp,
        public readonly string $id,
        public readonly string $namespace,
        public readonly array $rooms,
        public readonly mixed $data,
        public readonly array $handshake,
    ) {
    }

    /** socket.emit(event, ...args): to this socket only. */
    public function emit(string $event, mixed ...$args): void
    {
        $this->nsp->to($this->id)->emit($event, ...$args);
    }

    /** socket.join(rooms) */
    public function join(string|array $rooms): void
    {
        $this->nsp->in($this->id)->socketsJoin($rooms);
    }

    /** socket.leave(room) */
    public function leave(string|array $rooms): void
    {
        $this->nsp->in($this->id)->socketsLeave($rooms);
    }

    /** socket.disconnect(close) */
    public function disconnect(bool $close = false): void
    {
        $this->nsp->in($this->id)->disconnectSockets($close);
    }

    /**
     * @internal builds a RemoteSocket from the API's Socket message.
     * @param array<string, mixed> $s
     */
    public static function fromWire(BroadcastOperator $nsp, array $s): self
    {
        $h = $s['handshake'] ?? [];
        $time = (string) ($h['time'] ?? '');
        return new self(
            $nsp,
            (string) ($s['id'] ?? ''),
            (string) ($s['namespace'] ?? '/'),
            array_values($s['rooms'] ?? []),
            Codec::decode((string) ($s['data'] ?? 'null')),
            [
                'address' => (string) ($h['address'] ?? ''),
                'headers' => $h['headers'] ?? [],
                'query' => $h['query'] ?? [],
                'auth' => Codec::decode((string) ($h['auth'] ?? '{}')),
                'time' => $time,
                'issued' => Codec::millis($time),
                'secure' => (bool) ($h['secure'] ?? false),
                'xdomain' => (bool) ($h['xdomain'] ?? false),
                'url' => (string) ($h['url'] ?? ''),
            ],
        );
    }
}

<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * Selects sockets and acts on them, as io.of(nsp).to(rooms).except(rooms)
 * does in Node: each selector returns a new operator, so one can be kept
 * and reused. Every action is one call of the HTTP API; it returns once the
 * server took it (published it into Redis, or queued it to its own
 * clients) and throws {@see EmitterException} when it did not. A mistake
 * found before any call (a reserved event name, an argument that is not
 * JSON) throws \InvalidArgumentException and sends nothing.
 */
class BroadcastOperator
{
    /** @var list<string> */
    private array $rooms = [];
    /** @var list<string> */
    private array $except = [];
    private bool $volatile = false;
    private ?bool $compress = null;
    private ?int $ackTimeoutMs = null;

    /** @internal use {@see Emitter} */
    protected function __construct(protected readonly Transport $transport, private string $nsp = '/')
    {
    }

    /** io.of(nsp): the same selection in another namespace. */
    public function of(string $nsp): static
    {
        $c = clone $this;
        $c->nsp = Codec::namespace($nsp);
        return $c;
    }

    /**
     * Targets the sockets in these rooms (any of them); a socket id is a room.
     *
     * @param string|list<string> $rooms
     */
    public function to(string|array $rooms): static
    {
        $c = clone $this;
        $c->rooms = array_values(array_unique([...$this->rooms, ...Codec::rooms($rooms)]));
        return $c;
    }

    /** @param string|list<string> $rooms the same as {@see to()} */
    public function in(string|array $rooms): static
    {
        return $this->to($rooms);
    }

    /**
     * Leaves out the sockets in these rooms.
     *
     * @param string|list<string> $rooms
     */
    public function except(string|array $rooms): static
    {
        $c = clone $this;
        $c->except = array_values(array_unique([...$this->except, ...Codec::rooms($rooms)]));
        return $c;
    }

    /** The event may be lost for clients not ready to receive it. */
    public function volatile(): static
    {
        $c = clone $this;
        $c->volatile = true;
        return $c;
    }

    /** Whether the event's data may be compressed (the servers' default: yes). */
    public function compress(bool $compress): static
    {
        $c = clone $this;
        $c->compress = $compress;
        return $c;
    }

    /** How long {@see emitWithAck()} waits for the clients' answers. */
    public function timeout(int $ms): static
    {
        if ($ms <= 0) {
            throw new \InvalidArgumentException('siorelay: timeout must be positive');
        }
        $c = clone $this;
        $c->ackTimeoutMs = $ms;
        return $c;
    }

    /** Sends an event to the selected clients. */
    public function emit(string $event, mixed ...$args): void
    {
        $req = ['target' => $this->target(), 'event' => Codec::event($event), 'args' => Codec::args($args)];
        if ($this->volatile) {
            $req['volatile'] = true;
        }
        if ($this->compress !== null) {
            $req['compress'] = $this->compress;
        }
        $this->transport->call('Emit', $req);
    }

    /**
     * Sends an event to the selected clients and waits for their
     * acknowledgements, as io.timeout(ms).emitWithAck(event, ...args) does:
     * returns the first argument of each client's answer, in the order they
     * arrived. Throws {@see AckTimeoutException} (with the answers that came)
     * when the timeout passed first. Without timeout(), the server's
     * requests timeout applies (5s by default).
     *
     * @return list<mixed>
     */
    public function emitWithAck(string $event, mixed ...$args): array
    {
        $req = ['target' => $this->target(), 'event' => Codec::event($event), 'args' => Codec::args($args)];
        $callMs = null;
        if ($this->ackTimeoutMs !== null) {
            $req['timeout'] = sprintf('%d.%03ds', intdiv($this->ackTimeoutMs, 1000), $this->ackTimeoutMs % 1000);
            $callMs = $this->ackTimeoutMs + 5000; // the server ends the wait itself at the timeout
        }
        $res = $this->transport->call('EmitWithAck', $req, $callMs);
        $responses = [];
        foreach ($res['acks'] ?? [] as $ack) {
            $responses[] = Codec::decode((string) ($ack['json'] ?? 'null'));
        }
        if ($res['timedOut'] ?? false) {
            throw new AckTimeoutException($responses, (int) ($res['clients'] ?? 0));
        }
        return $responses;
    }

    /**
     * Makes the selected sockets join rooms.
     *
     * @param string|list<string> $rooms
     */
    public function socketsJoin(string|array $rooms): void
    {
        $this->transport->call('SocketsJoin', ['target' => $this->target(), 'rooms' => Codec::rooms($rooms)]);
    }

    /**
     * Makes the selected sockets leave rooms.
     *
     * @param string|list<string> $rooms
     */
    public function socketsLeave(string|array $rooms): void
    {
        $this->transport->call('SocketsLeave', ['target' => $this->target(), 'rooms' => Codec::rooms($rooms)]);
    }

    /** Disconnects the selected sockets; with $close, their connections too. */
    public function disconnectSockets(bool $close = false): void
    {
        $this->transport->call('DisconnectSockets', ['target' => $this->target(), 'close' => $close]);
    }

    /**
     * The selected sockets of the whole cluster, as fetchSockets() returns
     * them.
     *
     * @return list<RemoteSocket>
     */
    public function fetchSockets(): array
    {
        $res = $this->transport->call('FetchSockets', ['target' => $this->target()]);
        $nsp = (new self($this->transport))->of($this->nsp);
        return array_map(fn (array $s) => RemoteSocket::fromWire($nsp, $s), $res['sockets'] ?? []);
    }

    /**
     * Sends an event to the other Socket.IO servers of the namespace
     * (their io.of(nsp).on(event) listeners), not to clients. Rooms are
     * ignored.
     */
    public function serverSideEmit(string $event, mixed ...$args): void
    {
        $this->transport->call('ServerSideEmit', ['namespace' => $this->nsp, 'event' => Codec::event($event, true), 'args' => Codec::args($args)]);
    }

    /**
     * The number of Socket.IO servers of the cluster serving the namespace
     * (io.of(nsp).adapter.serverCount()). Rooms are ignored.
     */
    public function serverCount(): int
    {
        return (int) ($this->transport->call('ServerCount', ['namespace' => $this->nsp])['count'] ?? 0);
    }

    /**
     * The rooms of the namespace on the whole cluster, each socket's own id
     * room included (io.of(nsp).adapter.allRooms()). Rooms are ignored.
     *
     * @return list<string>
     */
    public function allRooms(): array
    {
        return array_values($this->transport->call('AllRooms', ['namespace' => $this->nsp])['rooms'] ?? []);
    }

    /** @return array{namespace: string, rooms: list<string>, exceptRooms: list<string>} */
    private function target(): array
    {
        return ['namespace' => $this->nsp, 'rooms' => $this->rooms, 'exceptRooms' => $this->except];
    }
}

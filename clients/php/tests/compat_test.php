<?php

// Compatibility tests: this client → siorelay's HTTP API (of `siorelay
// serve --redis`, and of the `siorelay emitter` sidecar) → a real
// redis-server → a relay and a Node socket.io 4.8.4 server with
// @socket.io/redis-adapter 8.3.0 in one cluster → stock socket.io-client
// 4.8.4 clients of both. What the clients print is what is asserted.
//
// Ordering argument used by settle(): each call returns once its message
// is published, and every server reads the cluster's channels on one Redis
// connection, so an event published after a returned call is delivered
// after it. A marker that every client has received therefore proves that
// nothing sent before it is still on its way.

declare(strict_types=1);

namespace Siorelay\Tests;

use Siorelay\AckTimeoutException;
use Siorelay\Binary;
use Siorelay\Emitter;
use Siorelay\EmitterException;
use Siorelay\HttpTransport;

/** The cluster of one adapter mode that its compat tests share, started on first use. */
final class Cluster
{
    /** @var array<string, self> */
    private static array $c = [];
    /** @var array<string, \Throwable> */
    private static array $failed = [];
    private string $redis;

    public string $relayApi;
    public string $sidecarApi;
    public Proc $relayClients;
    public Proc $peerClients;
    public Proc $peer;
    /** @var array<string, string> socket id by client name */
    public array $ids = [];
    private int $markers = 0;

    public static function get(string $mode): self
    {
        if (isset(self::$failed[$mode])) {
            throw new \RuntimeException('the cluster did not start: ' . self::$failed[$mode]->getMessage());
        }
        try {
            return self::$c[$mode] ??= new self($mode);
        } catch (\Throwable $e) {
            self::$failed[$mode] = $e;
            throw $e;
        }
    }

    private function __construct(public readonly string $mode)
    {
        [, $redis] = Stack::redis();
        $this->redis = $redis;
        $sharded = $mode === 'sharded' ? ['--sharded', '--subscription-mode', 'dynamic'] : [];
        $shardedSidecar = $mode === 'sharded' ? ['--sharded'] : [];
        [, $relay, $this->relayApi] = Stack::relay($redis, ['--grpc-token', 'tok', ...$sharded]);
        [, $this->sidecarApi] = Stack::sidecar($redis, ['--token', 'tok', ...$shardedSidecar]);
        $peer = ['redis' => $redis, 'mode' => $mode, 'namespaces' => ['/', '/admin'], 'serverEvents' => ['ping']];
        if ($mode === 'sharded') {
            $peer['subscriptionMode'] = 'dynamic';
        }
        [$this->peer, $peerUrl] = Stack::peer($peer);
        $this->relayClients = Stack::clients($relay, [
            ['name' => 'r1'], ['name' => 'r2'], ['name' => 'rquiet', 'noAck' => true], ['name' => 'radmin', 'nsp' => '/admin'],
        ]);
        $this->peerClients = Stack::clients($peerUrl, [
            ['name' => 'p1', 'auth' => ['data' => ['user' => 'p1']]], ['name' => 'padmin', 'nsp' => '/admin'],
        ]);
        foreach (['r1', 'r2', 'rquiet', 'radmin'] as $n) {
            $this->ids[$n] = Stack::idOf($this->relayClients, $n);
        }
        foreach (['p1', 'padmin'] as $n) {
            $this->ids[$n] = Stack::idOf($this->peerClients, $n);
        }
    }

    /**
     * Makes sockets join a room, and with the sharded adapter waits until
     * $servers servers subscribed to the room's channel.
     *
     * @param list<string> $clients client names
     */
    public function join(Emitter $e, array $clients, string $room, int $servers): void
    {
        $e->in(array_map(fn ($n) => $this->ids[$n], $clients))->socketsJoin($room);
        if ($this->mode === 'sharded') {
            Stack::waitShardSubscribed($this->redis, "socket.io#/#$room#", $servers);
        }
    }

    public function emitter(string $via, ?string $token = 'tok'): Emitter
    {
        return new Emitter($via === 'serve' ? $this->relayApi : $this->sidecarApi, ['token' => $token]);
    }

    private function procOf(string $client): Proc
    {
        return $client[0] === 'p' ? $this->peerClients : $this->relayClients;
    }

    /** Emits a marker on each namespace and waits until every client got it. */
    public function settle(Emitter $e): void
    {
        $tag = 'm' . ++$this->markers;
        foreach (['/' => ['r1', 'r2', 'rquiet', 'p1'], '/admin' => ['radmin', 'padmin']] as $nsp => $names) {
            $e->of($nsp)->emit('marker', $tag);
            foreach ($names as $n) {
                $this->procOf($n)->waitJson(fn ($v) => ($v['type'] ?? '') === 'event' && $v['client'] === $n && $v['event'] === 'marker' && $v['args'] === [$tag],
                    10.0, 0, "marker $tag at $n");
            }
        }
    }

    /**
     * The events (name and args) a client received whose name starts with
     * $prefix.
     *
     * @return list<array{string, list<mixed>}>
     */
    public function got(string $client, string $prefix): array
    {
        $out = [];
        foreach ($this->procOf($client)->jsonLines(fn ($v) => ($v['type'] ?? '') === 'event' && $v['client'] === $client && str_starts_with($v['event'], $prefix)) as $v) {
            $out[] = [$v['event'], $v['args']];
        }
        return $out;
    }
}

foreach ([['classic', 'serve'], ['classic', 'sidecar'], ['sharded', 'serve'], ['sharded', 'sidecar']] as [$mode, $viaName]) {
    $via = $viaName; // rooms and event names carry it; the cluster is per mode
    Runner::test("compat ($mode, $via): emit to all, to rooms except rooms, to a namespace; JSON and binary", function () use ($mode, $via) {
        $c = Cluster::get($mode);
        $e = $c->emitter($via);
        // Rooms through the API itself: relay clients and the peer's client.
        $c->join($e, ['r1', 'r2', 'p1'], "A-$via", 2);
        $c->join($e, ['r2'], "B-$via", 1);
        $c->settle($e);
        $e->emit("$via-all", ['n' => 1, 's' => 'é'], new Binary("\x01\x02\x03"), null, 1.5);
        $e->to("A-$via")->except("B-$via")->emit("$via-ab", 'x');
        $e->to("B-$via")->of('/admin')->emit("$via-admin-room"); // no /admin socket is in B
        $e->of('/admin')->emit("$via-admin", [1, 2]);
        $c->settle($e);
        $all = ["$via-all", [['n' => 1, 's' => 'é'], ['$bin' => 'AQID'], null, 1.5]];
        assertSame([$all, ["$via-ab", ['x']]], $c->got('r1', $via), 'r1');
        assertSame([$all], $c->got('r2', $via), 'r2');
        assertSame([$all], $c->got('rquiet', $via), 'rquiet');
        assertSame([$all, ["$via-ab", ['x']]], $c->got('p1', $via), 'p1');
        assertSame([["$via-admin", [[1, 2]]]], $c->got('radmin', $via), 'radmin');
        assertSame([["$via-admin", [[1, 2]]]], $c->got('padmin', $via), 'padmin');
    });

    Runner::test("compat ($mode, $via): socketsLeave, then disconnectSockets", function () use ($mode, $via) {
        $c = Cluster::get($mode);
        $e = $c->emitter($via);
        $c->join($e, ['r1', 'p1'], "L-$via", 2);
        $e->in("L-$via")->except($c->ids['p1'])->socketsLeave("L-$via");
        $c->settle($e);
        $e->to("L-$via")->emit("$via-left");
        $c->settle($e);
        assertSame([], $c->got('r1', "$via-left"), 'r1 left');
        assertSame([["$via-left", []]], $c->got('p1', "$via-left"), 'p1 stayed');

        // A client of each server, disconnected by room.
        $from = count($c->relayClients->lines);
        $c->relayClients->command(['cmd' => 'add', 'client' => "rv-$via"]);
        $c->peerClients->command(['cmd' => 'add', 'client' => "pv-$via"]);
        $rv = Stack::idOf($c->relayClients, "rv-$via");
        $pv = Stack::idOf($c->peerClients, "pv-$via");
        $e->in([$rv, $pv])->socketsJoin("D-$via");
        $e->in("D-$via")->disconnectSockets(true);
        foreach ([[$c->relayClients, "rv-$via"], [$c->peerClients, "pv-$via"]] as [$p, $n]) {
            $d = $p->waitJson(fn ($v) => ($v['type'] ?? '') === 'disconnect' && $v['client'] === $n, 10.0, 0, "$n disconnected");
            assertSame('io server disconnect', $d['reason'], "$n reason");
        }
        assertTrue($from > 0, 'lines seen before');
    });

    Runner::test("compat ($mode, $via): serverSideEmit reaches the Node server", function () use ($mode, $via) {
        $c = Cluster::get($mode);
        $c->emitter($via)->serverSideEmit("ping", $via, ['k' => true]);
        $l = $c->peer->waitJson(fn ($v) => ($v['type'] ?? '') === 'serverSideEmit' && ($v['args'][0] ?? null) === $via, 10.0, 0, 'serverSideEmit');
        assertSame(['/', 'ping', [$via, ['k' => true]]], [$l['nsp'], $l['event'], $l['args']], 'serverSideEmit');
    });

    Runner::test("compat ($mode, $via): serverCount, fetchSockets and allRooms see both servers", function () use ($mode, $via) {
        $c = Cluster::get($mode);
        $e = $c->emitter($via);
        // The relay and the Node server; a sidecar holds no sockets and is no server.
        assertSame(2, $e->serverCount(), 'serverCount');
        assertSame(2, $e->of('/admin')->serverCount(), 'serverCount /admin');

        $want = [$c->ids['r1'], $c->ids['rquiet'], $c->ids['p1']];
        sort($want);
        $e->in($want)->socketsJoin("Q-$via");
        $ids = function () use ($e, $via): array {
            $ids = array_map(fn ($s) => $s->id, $e->in("Q-$via")->fetchSockets());
            sort($ids);
            return $ids;
        };
        $deadline = microtime(true) + 10;
        while ($ids() !== $want && microtime(true) < $deadline) {
            usleep(20000);
        }
        assertSame($want, $ids(), 'sockets in Q');
        $byId = [];
        foreach ($e->in("Q-$via")->fetchSockets() as $s) {
            $byId[$s->id] = $s;
        }
        $p1 = $byId[$c->ids['p1']];
        $r1 = $byId[$c->ids['r1']];
        assertSame(['user' => 'p1'], $p1->data, 'p1 data (set by the Node server)');
        foreach ([$p1, $r1] as $s) {
            assertTrue(in_array($s->id, $s->rooms, true) && in_array("Q-$via", $s->rooms, true), "rooms of $s->id: " . json_encode($s->rooms));
            assertSame('4', $s->handshake['query']['EIO'] ?? null, 'handshake query');
            assertTrue($s->handshake['issued'] > 0 && str_contains($s->handshake['address'], '127.0.0.1'), 'handshake ' . json_encode($s->handshake));
        }
        $admin = array_map(fn ($s) => $s->id, $e->of('/admin')->fetchSockets());
        sort($admin);
        $wantAdmin = [$c->ids['radmin'], $c->ids['padmin']];
        sort($wantAdmin);
        assertSame($wantAdmin, $admin, '/admin sockets');

        $rooms = $e->allRooms();
        foreach (["Q-$via", $c->ids['r1'], $c->ids['p1']] as $r) {
            assertTrue(in_array($r, $rooms, true), "$r in allRooms");
        }
        assertTrue(!in_array($c->ids['radmin'], $rooms, true), 'no /admin socket in the rooms of /');

        // A RemoteSocket acts on its socket.
        $p1->emit("$via-direct", 7);
        $c->settle($e);
        assertSame([["$via-direct", [7]]], $c->got('p1', "$via-direct"), 'direct emit');
        assertSame([], $c->got('r1', "$via-direct"), 'direct emit elsewhere');
    });

    Runner::test("compat ($mode, $via): emitWithAck gathers answers from both servers, and times out", function () use ($mode, $via) {
        $c = Cluster::get($mode);
        $e = $c->emitter($via);
        $c->join($e, ['r1', 'rquiet', 'p1'], "K-$via", 2);
        $c->settle($e);
        $answers = $e->timeout(5000)->to("K-$via")->except($c->ids['rquiet'])->emitWithAck("$via-confirm", 1);
        usort($answers, fn ($a, $b) => strcmp($a['client'], $b['client']));
        assertSame([['ok' => true, 'client' => 'p1'], ['ok' => true, 'client' => 'r1']], $answers, 'answers');
        assertSame([], $e->timeout(5000)->to('nobody')->emitWithAck('confirm'), 'no client');

        $err = assertThrows(AckTimeoutException::class, fn () => $e->timeout(500)->to("K-$via")->emitWithAck("$via-confirm"), 'timed out');
        $clients = array_map(fn ($a) => $a['client'], $err->responses);
        sort($clients);
        assertSame([['p1', 'r1'], 3], [$clients, $err->clients], 'partial answers');
    });

    Runner::test("compat ($mode, $via): errors from the server", function () use ($mode, $via) {
        $c = Cluster::get($mode);
        $err = assertThrows(EmitterException::class, fn () => $c->emitter($via, 'wrong')->emit('e'), 'wrong token');
        assertSame(['unauthenticated', 401], [$err->status, $err->httpStatus], 'wrong token');
        $err = assertThrows(EmitterException::class, fn () => $c->emitter($via, null)->emit('e'), 'missing token');
        assertSame(['unauthenticated', 401], [$err->status, $err->httpStatus], 'no token');
        // What the client refuses locally, the server refuses too.
        $raw = new HttpTransport($via === 'serve' ? $c->relayApi : $c->sidecarApi, 'tok');
        $err = assertThrows(EmitterException::class, fn () => $raw->call('Emit', ['event' => 'connect']), 'reserved');
        assertSame(['invalid_argument', 400], [$err->status, $err->httpStatus], 'reserved event');
        $err = assertThrows(EmitterException::class, fn () => $raw->call('Emit', ['event' => 'e', 'args' => [['json' => '{']]]), 'invalid JSON');
        assertSame('invalid_argument', $err->status, 'invalid JSON');
        $err = assertThrows(EmitterException::class, fn () => $raw->call('Nope', []), 'unknown method');
        assertSame(['unimplemented', 404], [$err->status, $err->httpStatus], 'unknown method');
    });
}

<?php

// Unit tests: the requests each call makes, through a recording transport,
// and the checks made before any request.

declare(strict_types=1);

namespace Siorelay\Tests;

use Siorelay\AckTimeoutException;
use Siorelay\Binary;
use Siorelay\Emitter;
use Siorelay\EmitterException;
use Siorelay\Transport;

final class RecordingTransport implements Transport
{
    /** @var list<array{string, array<string, mixed>, int|null}> */
    public array $calls = [];

    /** @param array<string, array<string, mixed>> $answers by method */
    public function __construct(public array $answers = [])
    {
    }

    public function call(string $method, array $request, ?int $timeoutMs = null): array
    {
        $this->calls[] = [$method, $request, $timeoutMs];
        return $this->answers[$method] ?? [];
    }
}

/** @return array{Emitter, RecordingTransport} */
function recorder(array $answers = []): array
{
    $t = new RecordingTransport($answers);
    return [new Emitter('http://unused', ['transport' => $t]), $t];
}

function target(string $nsp = '/', array $rooms = [], array $except = []): array
{
    return ['namespace' => $nsp, 'rooms' => $rooms, 'exceptRooms' => $except];
}

Runner::test('unit: emit requests mirror the redis-emitter API', function () {
    [$e, $t] = recorder();
    $e->emit('hello', 'world', 42, 1.0, null, ['a' => [1, 2]], [], new \stdClass(), new Binary("\x01\x02\x03"), 'é/ü');
    $e->to('room1')->except('room2')->of('/admin')->emit('event');
    $e->of('admin')->to(['a', 'b'])->to('a')->volatile()->compress(false)->emit('tick');
    $base = $e->to('keep');
    $base->except('x')->emit('one');
    $base->emit('two'); // a derived operator leaves its origin unchanged
    assertSame([
        ['Emit', ['target' => target(), 'event' => 'hello', 'args' => [
            ['json' => '"world"'], ['json' => '42'], ['json' => '1.0'], ['json' => 'null'], ['json' => '{"a":[1,2]}'],
            ['json' => '[]'], ['json' => '{}'], ['binary' => 'AQID'], ['json' => '"é/ü"'],
        ]], null],
        ['Emit', ['target' => target('/admin', ['room1'], ['room2']), 'event' => 'event', 'args' => []], null],
        ['Emit', ['target' => target('/admin', ['a', 'b']), 'event' => 'tick', 'args' => [], 'volatile' => true, 'compress' => false], null],
        ['Emit', ['target' => target('/', ['keep'], ['x']), 'event' => 'one', 'args' => []], null],
        ['Emit', ['target' => target('/', ['keep']), 'event' => 'two', 'args' => []], null],
    ], $t->calls, 'requests');
});

Runner::test('unit: rooms, disconnection and server-side emit', function () {
    [$e, $t] = recorder();
    $e->in('r1')->socketsJoin('r2');
    $e->of('/admin')->in('r1')->socketsLeave(['r2', 'r3']);
    $e->disconnectSockets();
    $e->in('r1')->disconnectSockets(true);
    $e->of('/admin')->serverSideEmit('ping', 1);
    assertSame([
        ['SocketsJoin', ['target' => target('/', ['r1']), 'rooms' => ['r2']], null],
        ['SocketsLeave', ['target' => target('/admin', ['r1']), 'rooms' => ['r2', 'r3']], null],
        ['DisconnectSockets', ['target' => target(), 'close' => false], null],
        ['DisconnectSockets', ['target' => target('/', ['r1']), 'close' => true], null],
        ['ServerSideEmit', ['namespace' => '/admin', 'event' => 'ping', 'args' => [['json' => '1']]], null],
    ], $t->calls, 'requests');
});

Runner::test('unit: queries and acknowledgements decode the answers', function () {
    [$e, $t] = recorder([
        'ServerCount' => ['count' => 3],
        'AllRooms' => ['rooms' => ['a', 'b']],
        'FetchSockets' => ['sockets' => [[
            'id' => 'S1', 'namespace' => '/admin', 'rooms' => ['S1', 'r'], 'data' => '{"user":"u1"}',
            'handshake' => ['address' => '127.0.0.1', 'headers' => ['host' => 'h'], 'query' => ['EIO' => '4'], 'auth' => '{"token":"t"}',
                'time' => '2026-12-06T14:51:17.123456789Z', 'secure' => true, 'url' => '/socket.io/?EIO=4'],
        ]]],
        'EmitWithAck' => ['acks' => [['socketId' => 'S1', 'json' => '{"ok":true}'], ['json' => 'null']], 'clients' => 2, 'servers' => 1],
    ]);
    assertSame(3, $e->of('/admin')->serverCount(), 'serverCount');
    assertSame(['a', 'b'], $e->allRooms(), 'allRooms');
    $s = $e->of('/admin')->in('r')->fetchSockets();
    assertSame(1, count($s), 'sockets');
    assertSame(['S1', '/admin', ['S1', 'r'], ['user' => 'u1']], [$s[0]->id, $s[0]->namespace, $s[0]->rooms, $s[0]->data], 'socket');
    assertSame(['token' => 't'], $s[0]->handshake['auth'], 'auth');
    assertSame(1796568677123, $s[0]->handshake['issued'], 'issued');
    assertSame([['ok' => true], null], $e->timeout(1500)->to('r')->emitWithAck('confirm', 1), 'acks');
    assertSame([['ok' => true], null], $e->emitWithAck('noTimeout'), 'acks without timeout');
    $s[0]->emit('direct', 'x');
    $s[0]->join('j');
    $s[0]->disconnect(true);
    $calls = array_slice($t->calls, 3);
    assertSame([
        ['EmitWithAck', ['target' => target('/', ['r']), 'event' => 'confirm', 'args' => [['json' => '1']], 'timeout' => '1.500s'], 6500],
        ['EmitWithAck', ['target' => target(), 'event' => 'noTimeout', 'args' => []], null],
        ['Emit', ['target' => target('/admin', ['S1']), 'event' => 'direct', 'args' => [['json' => '"x"']]], null],
        ['SocketsJoin', ['target' => target('/admin', ['S1']), 'rooms' => ['j']], null],
        ['DisconnectSockets', ['target' => target('/admin', ['S1']), 'close' => true], null],
    ], $calls, 'requests');
    assertSame(['FetchSockets', ['target' => target('/admin', ['r'])], null], $t->calls[2], 'FetchSockets request');

    $t->answers['EmitWithAck'] = ['acks' => [['json' => '"late"']], 'clients' => 3, 'timedOut' => true];
    $err = assertThrows(AckTimeoutException::class, fn () => $e->timeout(10)->emitWithAck('e'), 'operation has timed out (1 of 3 clients answered)');
    assertSame(['late'], $err->responses, 'partial responses');
});

Runner::test('unit: mistakes are refused before any request', function () {
    [$e, $t] = recorder();
    assertThrows(\InvalidArgumentException::class, fn () => $e->emit('disconnect'), '"disconnect" is reserved');
    assertThrows(\InvalidArgumentException::class, fn () => $e->emit(''), 'empty');
    assertThrows(\InvalidArgumentException::class, fn () => $e->serverSideEmit('connection'), 'reserved');
    assertThrows(\InvalidArgumentException::class, fn () => $e->emit('e', fn () => 1), 'emitWithAck');
    assertThrows(\InvalidArgumentException::class, fn () => $e->emit('e', ['file' => new Binary('x')]), 'its own argument');
    assertThrows(\InvalidArgumentException::class, fn () => $e->emit('e', "\xff"), 'argument 0 cannot be encoded');
    assertThrows(\InvalidArgumentException::class, fn () => $e->emit('e', NAN), 'cannot be encoded');
    assertThrows(\InvalidArgumentException::class, fn () => $e->to([1]), 'a room is a string');
    assertThrows(\InvalidArgumentException::class, fn () => $e->timeout(0), 'positive');
    assertThrows(\InvalidArgumentException::class, fn () => new Emitter('127.0.0.1:8080'), 'http://');
    assertThrows(\InvalidArgumentException::class, fn () => new Emitter('http://x', ['tokn' => 'a']), 'unknown options: tokn');
    assertSame([], $t->calls, 'requests');
});

Runner::test('unit: a server that does not answer is unavailable', function () {
    $port = Stack::freePort(); // nothing listens there
    $e = new Emitter("http://127.0.0.1:$port", ['timeout' => 2000]);
    $err = assertThrows(EmitterException::class, fn () => $e->emit('e'));
    assertSame(['unavailable', 0], [$err->status, $err->httpStatus], 'status');
});

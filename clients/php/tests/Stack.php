<?php

declare(strict_types=1);

namespace Siorelay\Tests;

/**
 * The real stack the compatibility tests run against, on free loopback
 * ports: a redis-server, siorelay relays (`serve --redis --http-addr`) and
 * sidecars (`emitter --http-addr`) built from this repository, a Node
 * socket.io 4.8.4 server with @socket.io/redis-adapter 8.3.0
 * (clients/compat/peer.js) and stock socket.io-client 4.8.4 clients
 * (clients/compat/clients.js).
 */
final class Stack
{
    public static function repoRoot(): string
    {
        return dirname(__DIR__, 3);
    }

    public static function freePort(): int
    {
        $s = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($s === false) {
            throw new \RuntimeException("no free port: $errstr");
        }
        $name = stream_socket_get_name($s, false);
        fclose($s);
        return (int) substr($name, strrpos($name, ':') + 1);
    }

    private static function which(string $cmd): ?string
    {
        foreach (explode(PATH_SEPARATOR, (string) getenv('PATH')) as $dir) {
            if (is_executable("$dir/$cmd")) {
                return "$dir/$cmd";
            }
        }
        return null;
    }

    private static function connectable(int $port): bool
    {
        $s = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 0.2);
        if ($s === false) {
            return false;
        }
        fclose($s);
        return true;
    }

    /** @return array{Proc, string} the process and its redis:// URL */
    public static function redis(): array
    {
        $bin = self::which('redis-server') ?? throw new \RuntimeException('redis-server not found on PATH: apt-get install redis-server');
        $port = self::freePort();
        $p = new Proc('redis-server', [$bin, '--port', (string) $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
        $deadline = microtime(true) + 10;
        while (!self::connectable($port)) {
            if (microtime(true) > $deadline) {
                throw new \RuntimeException('redis-server did not start: ' . $p->stderr());
            }
            usleep(20000);
        }
        return [$p, "redis://127.0.0.1:$port"];
    }

    /**
     * Sends one command to the Redis at $url and returns its raw reply, read
     * until it matches $complete (the replies used here are small).
     */
    public static function redisCommand(string $url, string $complete, string ...$args): string
    {
        $s = stream_socket_client('tcp://' . substr($url, strlen('redis://')), $errno, $errstr, 2);
        if ($s === false) {
            throw new \RuntimeException("redis $url: $errstr");
        }
        $cmd = '*' . count($args) . "\r\n";
        foreach ($args as $a) {
            $cmd .= '$' . strlen($a) . "\r\n$a\r\n";
        }
        fwrite($s, $cmd);
        stream_set_timeout($s, 2);
        $reply = '';
        while (!preg_match($complete, $reply) && !str_starts_with($reply, '-')) {
            $chunk = fread($s, 4096);
            if ($chunk === false || $chunk === '') {
                break;
            }
            $reply .= $chunk;
        }
        fclose($s);
        return $reply;
    }

    /**
     * Waits until $servers servers subscribed to a sharded room channel: the
     * sharded adapter's "dynamic" mode subscribes when a room is created
     * (here by socketsJoin), asynchronously, and an event published before
     * that is lost.
     */
    public static function waitShardSubscribed(string $redis, string $channel, int $servers): void
    {
        $deadline = microtime(true) + 10;
        for (;;) {
            $r = self::redisCommand($redis, '/:\d+\r\n$/', 'PUBSUB', 'SHARDNUMSUB', $channel);
            if (preg_match('/:(\d+)\r\n$/', $r, $m) && (int) $m[1] >= $servers) {
                return;
            }
            if (microtime(true) > $deadline) {
                throw new \RuntimeException("SSUBSCRIBE $channel by $servers servers: last reply " . json_encode($r));
            }
            usleep(20000);
        }
    }

    /** The siorelay binary: $SIORELAY_BIN, or built into .tmp/bin. */
    public static function siorelay(): string
    {
        static $bin = null;
        if ($bin === null) {
            $bin = getenv('SIORELAY_BIN') ?: null;
        }
        if ($bin === null) {
            $bin = self::repoRoot() . '/.tmp/bin/siorelay';
            $cmd = sprintf('cd %s && go build -o %s ./cmd/siorelay 2>&1', escapeshellarg(self::repoRoot()), escapeshellarg($bin));
            exec($cmd, $out, $code);
            if ($code !== 0) {
                throw new \RuntimeException("go build failed:\n" . implode("\n", $out));
            }
        }
        return $bin;
    }

    /**
     * `siorelay serve --redis` with the HTTP API.
     *
     * @param list<string> $extra more flags
     * @return array{Proc, string, string} the process, its Socket.IO URL and its HTTP API URL
     */
    public static function relay(string $redis, array $extra = []): array
    {
        $p = new Proc('siorelay serve', [self::siorelay(), 'serve', '--addr', '127.0.0.1:0', '--redis', $redis, '--http-addr', '127.0.0.1:0',
            '--namespaces', '/,/admin', '--log-level', 'warn', '--demo=false', ...$extra]);
        $sio = $p->after('serving Socket.IO on ');
        $api = $p->after('serving HTTP API on ');
        // The relay is ready for cluster requests once its subscriptions
        // are live (/readyz).
        $base = substr($sio, 0, strpos($sio, '/', strlen('http://')));
        $deadline = microtime(true) + 10;
        while (@file_get_contents("$base/readyz") !== "ok\n") {
            if (microtime(true) > $deadline) {
                throw new \RuntimeException('relay not ready: ' . $p->stderr());
            }
            usleep(20000);
        }
        return [$p, $base, $api];
    }

    /**
     * `siorelay emitter` serving the HTTP API only.
     *
     * @param list<string> $extra more flags
     * @return array{Proc, string} the process and its HTTP API URL
     */
    public static function sidecar(string $redis, array $extra = []): array
    {
        $p = new Proc('siorelay emitter', [self::siorelay(), 'emitter', '--grpc-addr', '', '--http-addr', '127.0.0.1:0', '--redis', $redis, '--log-level', 'warn', ...$extra]);
        return [$p, $p->after('serving HTTP API on ')];
    }

    private static function compat(string $script, array $config): Proc
    {
        $dir = self::repoRoot() . '/clients/compat';
        if (!is_dir("$dir/node_modules/socket.io")) {
            throw new \RuntimeException('clients/compat is not installed: run `make clients-compat-deps` (npm ci --prefix clients/compat)');
        }
        $node = self::which('node') ?? throw new \RuntimeException('node not found on PATH');
        return new Proc($script, [$node, "$dir/$script", json_encode($config)], $dir);
    }

    /**
     * clients/compat/peer.js: a Node socket.io 4.8.4 server in the cluster.
     *
     * @param array<string, mixed> $config
     * @return array{Proc, string} the process and its URL
     */
    public static function peer(array $config): array
    {
        $p = self::compat('peer.js', $config);
        $l = $p->waitJson(fn ($v) => ($v['type'] ?? '') === 'listening', 20.0, 0, 'peer listening');
        return [$p, 'http://127.0.0.1:' . $l['port']];
    }

    /**
     * clients/compat/clients.js: socket.io-client 4.8.4 clients of $url,
     * all connected when it returns.
     *
     * @param list<array<string, mixed>> $clients
     */
    public static function clients(string $url, array $clients): Proc
    {
        $p = self::compat('clients.js', ['url' => $url, 'clients' => $clients]);
        $p->waitJson(fn ($v) => ($v['type'] ?? '') === 'ready', 20.0, 0, 'clients ready');
        return $p;
    }

    /** The socket id of a client of a clients.js process. */
    public static function idOf(Proc $clients, string $name): string
    {
        return $clients->waitJson(fn ($v) => ($v['type'] ?? '') === 'connected' && $v['client'] === $name, 10.0, 0, "$name connected")['id'];
    }
}

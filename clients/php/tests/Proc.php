<?php

declare(strict_types=1);

namespace Siorelay\Tests;

/**
 * A child process of the test stack, started without a shell: its stdout
 * is read line by line (JSON lines from the clients/compat fixtures, or
 * siorelay's "serving ..." lines), its stderr kept in a file for failure
 * messages. stop() ends it (SIGTERM, then SIGKILL); so does the runner's
 * shutdown function, so that no process outlives the tests.
 */
final class Proc
{
    /** @var list<self> */
    private static array $all = [];

    /** @var resource */
    private $proc;
    /** @var resource */
    private $stdin;
    /** @var resource */
    private $stdout;
    private string $errFile;
    private string $buf = '';
    /** @var list<string> */
    public array $lines = [];
    private int $nextId = 1;

    /** @param list<string> $cmd */
    public function __construct(public readonly string $name, array $cmd, ?string $cwd = null)
    {
        $this->errFile = tempnam(sys_get_temp_dir(), 'siorelay-php-');
        $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['file', $this->errFile, 'w']], $pipes, $cwd);
        if (!is_resource($proc)) {
            throw new \RuntimeException("cannot start $name");
        }
        $this->proc = $proc;
        [$this->stdin, $this->stdout] = [$pipes[0], $pipes[1]];
        stream_set_blocking($this->stdout, false);
        self::$all[] = $this;
    }

    public static function stopAll(): void
    {
        foreach (array_reverse(self::$all) as $p) {
            $p->stop();
        }
    }

    public function stderr(): string
    {
        return (string) @file_get_contents($this->errFile);
    }

    private function running(): bool
    {
        return proc_get_status($this->proc)['running'];
    }

    /** Reads what stdout has, waiting up to $wait seconds for more. */
    private function pump(float $wait): void
    {
        $r = [$this->stdout];
        $w = $e = null;
        if (@stream_select($r, $w, $e, 0, (int) ($wait * 1e6)) > 0) {
            $chunk = fread($this->stdout, 65536);
            if ($chunk !== false) {
                $this->buf .= $chunk;
            }
        }
        while (($i = strpos($this->buf, "\n")) !== false) {
            $this->lines[] = substr($this->buf, 0, $i);
            $this->buf = substr($this->buf, $i + 1);
        }
    }

    /**
     * The first line (from index $from) for which $pred is true; fails
     * after $timeout seconds or when the process exits first.
     */
    public function waitLine(callable $pred, float $timeout = 10.0, int $from = 0, string $what = 'a line'): string
    {
        $deadline = microtime(true) + $timeout;
        for (;;) {
            for ($i = $from; $i < count($this->lines); $i++) {
                if ($pred($this->lines[$i])) {
                    return $this->lines[$i];
                }
            }
            if (!$this->running()) {
                $this->pump(0);
                throw new \RuntimeException(sprintf("%s exited before %s; stderr: %s", $this->name, $what, substr($this->stderr(), -2000)));
            }
            if (microtime(true) > $deadline) {
                throw new \RuntimeException(sprintf("timed out waiting for %s from %s; lines: %s", $what, $this->name, implode(' | ', array_slice($this->lines, $from))));
            }
            $this->pump(0.02);
        }
    }

    /**
     * The first JSON line (from $from) whose decoded value satisfies $pred.
     *
     * @return array<string, mixed>
     */
    public function waitJson(callable $pred, float $timeout = 10.0, int $from = 0, string $what = 'a line'): array
    {
        $line = $this->waitLine(function (string $l) use ($pred): bool {
            $v = json_decode($l, true);
            return is_array($v) && $pred($v);
        }, $timeout, $from, $what);
        return json_decode($line, true);
    }

    /** Every JSON line seen so far that satisfies $pred. */
    public function jsonLines(callable $pred): array
    {
        $this->pump(0);
        $out = [];
        foreach ($this->lines as $l) {
            $v = json_decode($l, true);
            if (is_array($v) && $pred($v)) {
                $out[] = $v;
            }
        }
        return $out;
    }

    /**
     * Sends a clients/compat command and returns its result.
     *
     * @param array<string, mixed> $cmd
     */
    public function command(array $cmd): mixed
    {
        $id = $this->nextId++;
        fwrite($this->stdin, json_encode($cmd + ['id' => $id]) . "\n");
        $res = $this->waitJson(fn ($v) => ($v['type'] ?? '') === 'result' && ($v['id'] ?? 0) === $id, 10.0, 0, "result of {$cmd['cmd']}");
        if (isset($res['error'])) {
            throw new \RuntimeException("{$cmd['cmd']}: {$res['error']}");
        }
        return $res['result'] ?? null;
    }

    /** The text after $prefix on the first line that has it. */
    public function after(string $prefix, float $timeout = 20.0): string
    {
        $line = $this->waitLine(fn ($l) => str_contains($l, $prefix), $timeout, 0, "\"$prefix\"");
        return trim(substr($line, strpos($line, $prefix) + strlen($prefix)));
    }

    public function stop(): void
    {
        if (!is_resource($this->proc)) {
            return;
        }
        @fclose($this->stdin);
        $deadline = microtime(true) + 5;
        if ($this->running()) {
            proc_terminate($this->proc, 15);
        }
        while ($this->running() && microtime(true) < $deadline) {
            usleep(20000);
        }
        if ($this->running()) {
            proc_terminate($this->proc, 9);
        }
        @fclose($this->stdout);
        proc_close($this->proc);
        @unlink($this->errFile);
    }
}

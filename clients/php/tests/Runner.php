<?php

declare(strict_types=1);

namespace Siorelay\Tests;

/**
 * A plain test runner (no PHPUnit: it would need Packagist): tests are
 * closures registered with test(); a failed assertion throws. It prints one
 * line per test and closes with "N passed, N failed".
 */
final class Runner
{
    /** @var list<array{string, \Closure}> */
    private static array $tests = [];

    public static function test(string $name, \Closure $fn): void
    {
        self::$tests[] = [$name, $fn];
    }

    /** Runs the tests whose name contains $filter; returns the exit code. */
    public static function run(string $filter = ''): int
    {
        $passed = $failed = 0;
        foreach (self::$tests as [$name, $fn]) {
            if ($filter !== '' && !str_contains($name, $filter)) {
                continue;
            }
            $start = microtime(true);
            try {
                $fn();
                $passed++;
                printf("ok    %s (%.2fs)\n", $name, microtime(true) - $start);
            } catch (\Throwable $e) {
                $failed++;
                printf("FAIL  %s (%.2fs)\n      %s: %s\n      at %s:%d\n", $name, microtime(true) - $start, get_class($e), $e->getMessage(), $e->getFile(), $e->getLine());
            }
        }
        printf("%d passed, %d failed\n", $passed, $failed);
        return $failed === 0 && $passed > 0 ? 0 : 1;
    }
}

final class AssertionFailed extends \Exception
{
}

function fail(string $msg): never
{
    throw new AssertionFailed($msg);
}

function assertSame(mixed $want, mixed $got, string $what = ''): void
{
    if ($want !== $got) {
        fail(sprintf("%s\n        got  %s\n        want %s", $what, json_encode($got, JSON_UNESCAPED_SLASHES), json_encode($want, JSON_UNESCAPED_SLASHES)));
    }
}

function assertTrue(bool $cond, string $what): void
{
    if (!$cond) {
        fail($what);
    }
}

/**
 * Runs $fn, which must throw a $class; returns the exception.
 *
 * @template T of \Throwable
 * @param class-string<T> $class
 * @return T
 */
function assertThrows(string $class, \Closure $fn, string $messagePart = ''): \Throwable
{
    try {
        $fn();
    } catch (\Throwable $e) {
        if (!$e instanceof $class) {
            fail(sprintf('threw %s (%s), want %s', get_class($e), $e->getMessage(), $class));
        }
        if ($messagePart !== '' && !str_contains($e->getMessage(), $messagePart)) {
            fail(sprintf('message "%s" does not contain "%s"', $e->getMessage(), $messagePart));
        }
        return $e;
    }
    fail("nothing thrown, want $class");
}

<?php

// Runs the PHP client's tests: php tests/run.php [name filter]
// (make test-client-php from the repository root installs what they need).

declare(strict_types=1);

namespace Siorelay\Tests;

error_reporting(E_ALL);
set_error_handler(function (int $no, string $msg, string $file, int $line): bool {
    if (!(error_reporting() & $no)) {
        return false; // silenced with @
    }
    throw new \ErrorException($msg, 0, $no, $file, $line);
});

$autoload = dirname(__DIR__) . '/vendor/autoload.php';
if (!is_file($autoload)) {
    fwrite(STDERR, "vendor/autoload.php missing: run `composer install` in clients/php\n");
    exit(1);
}
require $autoload;
require __DIR__ . '/Runner.php';
require __DIR__ . '/Proc.php';
require __DIR__ . '/Stack.php';
register_shutdown_function([Proc::class, 'stopAll']);

require __DIR__ . '/unit_test.php';
require __DIR__ . '/compat_test.php';

$code = Runner::run($argv[1] ?? '');
Proc::stopAll();
exit($code);

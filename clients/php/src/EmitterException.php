<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * A call the siorelay HTTP API refused or could not complete.
 *
 * $code is the status code name of the API (the gRPC code in Connect's
 * spelling): "invalid_argument", "unauthenticated", "unavailable",
 * "deadline_exceeded", "resource_exhausted", "unimplemented", ...; for a
 * request that never got an answer (connection refused, timeout on the
 * way) it is "unavailable" or "deadline_exceeded" and $httpStatus is 0.
 * getMessage() is the server's message.
 */
class EmitterException extends \RuntimeException
{
    /**
     * @param list<array{type: string, value: string, debug?: mixed}> $details the error's details (partial answers)
     */
    public function __construct(
        string $message,
        public readonly string $status,
        public readonly int $httpStatus = 0,
        public readonly array $details = [],
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, 0, $previous);
    }
}

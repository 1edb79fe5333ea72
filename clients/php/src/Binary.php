<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * Binary data for an event argument: a PHP string is text (sent as a JSON
 * string), so bytes that a client should receive as a Buffer / ArrayBuffer
 * are wrapped: $emitter->emit('file', ['name' => 'a.png'], new Binary($png)).
 */
final class Binary
{
    public function __construct(public readonly string $bytes)
    {
    }
}

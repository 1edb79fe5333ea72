<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * @internal How values travel in the API: each event argument is one JSON
 * text or one binary blob ({@see Binary}); answers (socket data, auth,
 * acknowledgements) are JSON texts decoded to PHP values with objects as
 * associative arrays.
 */
final class Codec
{
    /** Event names Socket.IO reserves for clients (emit refuses them). */
    public const RESERVED_EVENTS = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];

    /** Event names serverSideEmit refuses. */
    public const RESERVED_SERVER_EVENTS = ['connect', 'connection', 'new_namespace'];

    private const JSON_FLAGS = JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION;

    public static function event(string $event, bool $server = false): string
    {
        if ($event === '') {
            throw new \InvalidArgumentException('siorelay: event name is empty');
        }
        if (in_array($event, $server ? self::RESERVED_SERVER_EVENTS : self::RESERVED_EVENTS, true)) {
            throw new \InvalidArgumentException(sprintf('siorelay: event name "%s" is reserved by Socket.IO', $event));
        }
        return $event;
    }

    /**
     * The API's Arg messages for $args.
     *
     * @param array<mixed> $args
     * @return list<array{json: string}|array{binary: string}>
     */
    public static function args(array $args): array
    {
        $out = [];
        foreach (array_values($args) as $i => $a) {
            if ($a instanceof Binary) {
                $out[] = ['binary' => base64_encode($a->bytes)];
                continue;
            }
            if ($a instanceof \Closure) {
                throw new \InvalidArgumentException(sprintf('siorelay: argument %d is a function: acknowledgements go through timeout($ms)->emitWithAck()', $i));
            }
            self::noNestedBinary($a, $i);
            try {
                $out[] = ['json' => json_encode($a, self::JSON_FLAGS)];
            } catch (\JsonException $e) {
                throw new \InvalidArgumentException(sprintf('siorelay: argument %d cannot be encoded as JSON: %s', $i, $e->getMessage()), 0, $e);
            }
        }
        return $out;
    }

    private static function noNestedBinary(mixed $v, int $arg, int $depth = 0): void
    {
        if ($depth > 0 && $v instanceof Binary) {
            throw new \InvalidArgumentException(sprintf('siorelay: argument %d holds binary inside an array or object: pass each Binary as its own argument', $arg));
        }
        if (is_array($v) || $v instanceof \stdClass) {
            foreach ((array) $v as $item) {
                self::noNestedBinary($item, $arg, $depth + 1);
            }
        }
    }

    /** Decodes a JSON text of an answer (objects as associative arrays). */
    public static function decode(string $json): mixed
    {
        try {
            return json_decode($json, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new EmitterException('siorelay: the server sent invalid JSON: ' . $e->getMessage(), 'internal', 0, [], $e);
        }
    }

    /** Milliseconds since the epoch of an RFC 3339 time, 0 if empty. */
    public static function millis(string $time): int
    {
        if ($time === '') {
            return 0;
        }
        // PHP parses microseconds at most; protobuf JSON may write nanoseconds.
        $t = preg_replace('/(\.\d{6})\d+/', '$1', $time);
        $d = \DateTimeImmutable::createFromFormat('Y-m-d\TH:i:s.uP', $t) ?: \DateTimeImmutable::createFromFormat('Y-m-d\TH:i:sP', $t);
        if ($d === false) {
            return 0;
        }
        return intdiv((int) $d->format('Uu'), 1000);
    }

    /**
     * @param string|list<string> $rooms
     * @return list<string>
     */
    public static function rooms(string|array $rooms): array
    {
        $out = [];
        foreach ((array) $rooms as $r) {
            if (!is_string($r)) {
                throw new \InvalidArgumentException('siorelay: a room is a string, got ' . get_debug_type($r));
            }
            $out[] = $r;
        }
        return $out;
    }

    public static function namespace(string $nsp): string
    {
        return str_starts_with($nsp, '/') ? $nsp : '/' . $nsp;
    }
}

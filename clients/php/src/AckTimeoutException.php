<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * emitWithAck() timed out before every client answered, as Node's
 * emitWithAck() rejects with "operation has timed out". $responses holds
 * the answers that did arrive, as emitWithAck() would have returned them.
 */
final class AckTimeoutException extends \RuntimeException
{
    /**
     * @param list<mixed> $responses the answers that arrived
     * @param int $clients the number of clients the event was sent to
     */
    public function __construct(public readonly array $responses, public readonly int $clients)
    {
        parent::__construct(sprintf('siorelay: operation has timed out (%d of %d clients answered)', count($responses), $clients));
    }
}

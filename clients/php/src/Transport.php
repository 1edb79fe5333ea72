<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * Makes one call of the siorelay HTTP API. {@see HttpTransport} is the
 * real one; tests may record requests with their own.
 */
interface Transport
{
    /**
     * Calls POST /siorelay.v1.EmitterService/$method with $request as JSON.
     *
     * @param array<string, mixed> $request the request message as protobuf JSON
     * @param int|null $timeoutMs the call's deadline; null for the transport's default
     * @return array<string, mixed> the response message, decoded
     * @throws EmitterException when the server refused the call or did not answer
     */
    public function call(string $method, array $request, ?int $timeoutMs = null): array;
}

<?php

declare(strict_types=1);

namespace Siorelay;

/**
 * The siorelay HTTP API over ext-curl: one keep-alive connection reused by
 * every call of an Emitter and of what it derives.
 */
final class HttpTransport implements Transport
{
    private const SERVICE = '/siorelay.v1.EmitterService/';

    private \CurlHandle $curl;
    private string $base;

    /**
     * @param string $url the HTTP API, "http://127.0.0.1:8080" (https:// with --tls-cert)
     * @param string|null $token sent as "Authorization: Bearer <token>"
     * @param int $timeoutMs each call's deadline, sent to the server as Connect-Timeout-Ms
     * @param array<int, mixed> $curlOptions extra CURLOPT_* options (CA file, proxy, ...)
     */
    public function __construct(string $url, private readonly ?string $token = null, private readonly int $timeoutMs = 10000, array $curlOptions = [])
    {
        if (!preg_match('#^https?://#', $url)) {
            throw new \InvalidArgumentException(sprintf('siorelay: the HTTP API URL must start with http:// or https://, got "%s"', $url));
        }
        if ($timeoutMs <= 0) {
            throw new \InvalidArgumentException('siorelay: timeout must be positive');
        }
        $this->base = rtrim($url, '/');
        $this->curl = curl_init();
        curl_setopt_array($this->curl, $curlOptions + [
            CURLOPT_POST => true,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_CONNECTTIMEOUT_MS => min($timeoutMs, 5000),
            CURLOPT_FOLLOWLOCATION => false,
        ]);
    }

    public function call(string $method, array $request, ?int $timeoutMs = null): array
    {
        $timeoutMs ??= $this->timeoutMs;
        $body = json_encode($request === [] ? new \stdClass() : $request, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        $headers = ['Content-Type: application/json', 'Connect-Protocol-Version: 1', 'Connect-Timeout-Ms: ' . $timeoutMs, 'Expect:'];
        if ($this->token !== null) {
            $headers[] = 'Authorization: Bearer ' . $this->token;
        }
        curl_setopt_array($this->curl, [
            CURLOPT_URL => $this->base . self::SERVICE . $method,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_POSTFIELDS => $body,
            // The server gives up at the deadline and answers; this is the
            // fallback for a server that does not answer at all.
            CURLOPT_TIMEOUT_MS => $timeoutMs + 2000,
        ]);
        $answer = curl_exec($this->curl);
        if ($answer === false) {
            $errno = curl_errno($this->curl);
            $status = $errno === CURLE_OPERATION_TIMEDOUT ? 'deadline_exceeded' : 'unavailable';
            throw new EmitterException(sprintf('siorelay: %s: %s', $method, curl_error($this->curl)), $status);
        }
        $http = (int) curl_getinfo($this->curl, CURLINFO_RESPONSE_CODE);
        if ($http === 200) {
            $msg = Codec::decode((string) $answer);
            if (!is_array($msg)) {
                throw new EmitterException(sprintf('siorelay: %s: the answer is not a JSON object', $method), 'internal', $http);
            }
            return $msg;
        }
        throw self::error($method, $http, (string) $answer);
    }

    private static function error(string $method, int $http, string $body): EmitterException
    {
        $e = json_decode($body, true);
        if (is_array($e) && is_string($e['code'] ?? null)) {
            return new EmitterException((string) ($e['message'] ?? $e['code']), $e['code'], $http, $e['details'] ?? []);
        }
        // Not the API's error body (a proxy's page, say): the code follows
        // the HTTP status as the Connect protocol maps it.
        $status = match ($http) {
            400 => 'invalid_argument',
            401 => 'unauthenticated',
            403 => 'permission_denied',
            404 => 'unimplemented',
            429, 502, 503, 504 => 'unavailable',
            default => 'unknown',
        };
        return new EmitterException(sprintf('siorelay: %s: HTTP %d: %s', $method, $http, substr($body, 0, 200)), $status, $http);
    }
}

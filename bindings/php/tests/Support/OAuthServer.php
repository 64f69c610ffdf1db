<?php

declare(strict_types=1);

namespace Mailport\Tests\Support;

/**
 * tests/servers/oauth_server.py: a local OAuth 2.0 token endpoint over TLS on 127.0.0.1 (its CA
 * in $ca), with /control to make it misbehave and /state to see what it issued.
 */
final class OAuthServer
{
    use ReadyProcess;

    public readonly string $url;
    public readonly string $ca;
    public readonly string $dir;

    /** @param list<string> $args e.g. ['--client', 'id:secret', '--refresh-token', 'user:rt', '--rotate'] */
    public function __construct(array $args)
    {
        $this->dir = Paths::tempDir('mailport-oauth-');
        $ready = $this->launch(['python3', Paths::repo() . '/tests/servers/oauth_server.py', '--dir', $this->dir, ...$args]);
        $this->url = (string) $ready['url'];
        $this->ca = (string) $ready['ca'];
    }

    /** @return array<string, mixed> */
    private function request(string $method, string $path, string $body = '', string $type = 'application/json'): array
    {
        $context = stream_context_create([
            'http' => ['method' => $method, 'header' => "Content-Type: $type\r\n", 'content' => $body, 'ignore_errors' => true, 'timeout' => 30],
            'ssl' => ['cafile' => $this->ca, 'verify_peer' => true, 'verify_peer_name' => true, 'peer_name' => '127.0.0.1'],
        ]);
        $answer = file_get_contents($this->url . $path, false, $context);
        if ($answer === false) {
            throw new \RuntimeException("$method {$this->url}$path failed\n" . $this->stderr());
        }
        return json_decode($answer, true, 32, JSON_THROW_ON_ERROR);
    }

    /** @param array<string, mixed> $orders e.g. ['mode' => 'invalid_grant'] */
    public function control(array $orders): array
    {
        return $this->request('POST', '/control', json_encode($orders, JSON_THROW_ON_ERROR));
    }

    /** @return array<string, mixed> grants, refresh_tokens (token => user), access_tokens, last_form */
    public function state(): array
    {
        return $this->request('GET', '/state');
    }

    /** An access token for a refresh token, got as any client would (for a token callback to return). */
    public function accessToken(string $clientId, string $secret, string $refreshToken): string
    {
        $answer = $this->request('POST', '/token', http_build_query([
            'grant_type' => 'refresh_token', 'client_id' => $clientId, 'client_secret' => $secret, 'refresh_token' => $refreshToken,
        ]), 'application/x-www-form-urlencoded');
        return (string) ($answer['access_token'] ?? throw new \RuntimeException('no access token: ' . json_encode($answer)));
    }
}

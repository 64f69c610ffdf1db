<?php

declare(strict_types=1);

namespace Mailport\Tests\Support;

/**
 * tests/servers/aiosmtpd_server.py (aiosmtpd, a server we did not write) on 127.0.0.1, started
 * with proc_open; it prints `READY {json}` and serves until its standard input closes.
 */
final class SmtpServer
{
    use ReadyProcess;

    public readonly int $port;
    public readonly string $host;
    public readonly string $ca;
    public readonly string $dir;

    /** @param list<string> $args */
    private function __construct(array $args)
    {
        $this->dir = Paths::tempDir('mailport-smtp-');
        $ready = $this->launch(['python3', Paths::repo() . '/tests/servers/aiosmtpd_server.py', '--dir', $this->dir, ...$args]);
        $this->port = (int) $ready['port'];
        $this->host = (string) $ready['host'];
        $this->ca = (string) $ready['ca'];
    }

    /** @param list<string> $args e.g. ['--mode', 'starttls', '--auth', 'user:pass'] */
    public static function start(array $args = []): self
    {
        return new self($args);
    }

    /** @return list<string> events.log lines, e.g. "1 AUTH PLAIN" */
    public function events(): array
    {
        $text = (string) @file_get_contents($this->dir . '/events.log');
        return $text === '' ? [] : explode("\n", rtrim($text, "\n"));
    }

    /** @return list<array<string, mixed>> every accepted message (msg-N.json) with "data" decoded */
    public function messages(): array
    {
        $messages = [];
        for ($n = 1; is_file($file = "{$this->dir}/msg-$n.json"); $n++) {
            $record = json_decode((string) file_get_contents($file), true, 64, JSON_THROW_ON_ERROR);
            $record['data'] = base64_decode($record['data_b64'], true);
            $messages[] = $record;
        }
        return $messages;
    }

    /** @return array<string, mixed> the only message received */
    public function onlyMessage(): array
    {
        $messages = $this->messages();
        if (count($messages) !== 1) {
            throw new \RuntimeException(sprintf('expected 1 message, the server has %d', count($messages)));
        }
        return $messages[0];
    }
}

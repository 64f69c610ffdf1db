<?php

declare(strict_types=1);

namespace Mailport\Tests\Support;

/**
 * tests/servers/aiosmtpd_server.py (aiosmtpd, a server we did not write) on 127.0.0.1, started
 * with proc_open; it prints `READY {json}` and serves until its standard input closes.
 */
final class SmtpServer
{
    public readonly int $port;
    public readonly string $host;
    public readonly string $ca;
    public readonly string $dir;

    /** @var resource|null */
    private $process;
    /** @var resource|null */
    private $stdin;

    /** @param list<string> $args */
    private function __construct(array $args)
    {
        $this->dir = Paths::tempDir('mailport-smtp-');
        $command = ['python3', Paths::repo() . '/tests/servers/aiosmtpd_server.py', '--dir', $this->dir, ...$args];
        $pipes = [];
        $process = proc_open(
            $command,
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['file', $this->dir . '/stderr.log', 'a']],
            $pipes,
        );
        if ($process === false) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        $this->process = $process;
        $this->stdin = $pipes[0];
        $ready = $this->readReady($pipes[1], 30.0);
        fclose($pipes[1]);
        $this->port = (int) $ready['port'];
        $this->host = (string) $ready['host'];
        $this->ca = (string) $ready['ca'];
    }

    /** @param list<string> $args e.g. ['--mode', 'starttls', '--auth', 'user:pass'] */
    public static function start(array $args = []): self
    {
        return new self($args);
    }

    /**
     * @param resource $stdout
     * @return array<string, mixed>
     */
    private function readReady($stdout, float $timeout): array
    {
        stream_set_blocking($stdout, false);
        $buffer = '';
        $deadline = microtime(true) + $timeout;
        while (microtime(true) < $deadline) {
            $read = [$stdout];
            $write = $except = null;
            if (stream_select($read, $write, $except, 0, 200_000) > 0) {
                $chunk = fread($stdout, 8192);
                if ($chunk === '' && feof($stdout)) {
                    break;
                }
                $buffer .= (string) $chunk;
                if (($nl = strpos($buffer, "\n")) !== false) {
                    $line = substr($buffer, 0, $nl);
                    if (str_starts_with($line, 'READY ')) {
                        return json_decode(substr($line, 6), true, 16, JSON_THROW_ON_ERROR);
                    }
                    break;
                }
            }
        }
        $this->stop();
        throw new \RuntimeException("the test SMTP server did not get ready: {$buffer}\n" . $this->stderr());
    }

    public function stderr(): string
    {
        return (string) @file_get_contents($this->dir . '/stderr.log');
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

    public function stop(): void
    {
        if ($this->stdin !== null) {
            fclose($this->stdin);
            $this->stdin = null;
        }
        if ($this->process !== null) {
            $deadline = microtime(true) + 10;
            while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
                usleep(20_000);
            }
            if (proc_get_status($this->process)['running']) {
                proc_terminate($this->process);
            }
            proc_close($this->process);
            $this->process = null;
        }
    }

    public function removeFiles(): void
    {
        Paths::remove($this->dir);
    }

    public function __destruct()
    {
        $this->stop();
    }
}

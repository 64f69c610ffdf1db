<?php

declare(strict_types=1);

namespace Mailport\Tests\Support;

use Mailport\Config;
use PHPUnit\Framework\TestCase;

abstract class MailportTestCase extends TestCase
{
    protected const USER = 'alice@example.test';
    protected const PASSWORD = 'S3cret-pass-4471';
    protected const FROM = 'Alice <alice@example.test>';
    protected const TO = 'bob@example.org';

    /** @var list<SmtpServer> */
    private array $servers = [];
    /** @var list<string> */
    private array $temp = [];

    /** @param list<string> $args */
    protected function server(array $args = []): SmtpServer
    {
        $server = SmtpServer::start($args);
        $this->servers[] = $server;
        return $server;
    }

    protected function tempDir(): string
    {
        $dir = Paths::tempDir('mailport-php-');
        $this->temp[] = $dir;
        return $dir;
    }

    protected function tearDown(): void
    {
        foreach ($this->servers as $server) {
            $server->stop();
            $server->removeFiles();
        }
        $this->servers = [];
        foreach ($this->temp as $dir) {
            Paths::remove($dir);
        }
        $this->temp = [];
        gc_collect_cycles();
    }

    /** A config for this server: its CA trusted, short timeouts so a failing test fails fast. */
    protected function configFor(SmtpServer $server, string $security, mixed ...$options): Config
    {
        return new Config(...array_merge([
            'host' => $server->host,
            'port' => $server->port,
            'security' => $security,
            'caFile' => $security === 'none' ? null : $server->ca,
            'connectTimeoutMs' => 5000,
            'commandTimeoutMs' => 5000,
            'dataTimeoutMs' => 5000,
            'sendTimeoutMs' => 20000,
            'heloName' => 'client.example.test',
        ], $options));
    }

    /**
     * Parse a message with Python's email package (tests/servers/inspect_eml.py).
     *
     * @return array<string, mixed>
     */
    protected function inspect(string $data): array
    {
        $file = $this->tempDir() . '/message.eml';
        file_put_contents($file, $data);
        $out = [];
        exec('python3 ' . escapeshellarg(Paths::repo() . '/tests/servers/inspect_eml.py') . ' ' . escapeshellarg($file) . ' 2>&1', $out, $rc);
        $this->assertSame(0, $rc, implode("\n", $out));
        return json_decode(implode("\n", $out), true, 64, JSON_THROW_ON_ERROR);
    }

    /**
     * The decoded value of the first header named $name in an inspect() result.
     *
     * @param array<string, mixed> $parsed
     * @return list<string>
     */
    protected function headers(array $parsed, string $name): array
    {
        $values = [];
        foreach ($parsed['headers'] as [$n, $v]) {
            if (strcasecmp($n, $name) === 0) {
                $values[] = $v;
            }
        }
        return $values;
    }

    /**
     * The leaves of an inspect() structure, depth first.
     *
     * @param array<string, mixed> $node
     * @return list<array<string, mixed>>
     */
    protected function leaves(array $node): array
    {
        if (!isset($node['parts'])) {
            return [$node];
        }
        $leaves = [];
        foreach ($node['parts'] as $part) {
            array_push($leaves, ...$this->leaves($part));
        }
        return $leaves;
    }

    /**
     * Run a PHP script in a child process.
     *
     * @param list<string>          $command e.g. [PHP_BINARY, '-d', 'ffi.enable=1', 'script.php']
     * @param array<string, string> $env     added to (or, with null values, removed from) this process's
     * @return array{0: int, 1: string, 2: string} exit code, stdout, stderr
     */
    protected function runProcess(array $command, array $env = []): array
    {
        $environment = getenv();
        foreach ($env as $k => $v) {
            if ($v === null) {
                unset($environment[$k]);
            } else {
                $environment[$k] = $v;
            }
        }
        $pipes = [];
        $process = proc_open($command, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $environment);
        $this->assertIsResource($process);
        fclose($pipes[0]);
        $stdout = (string) stream_get_contents($pipes[1]);
        $stderr = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $stdout, $stderr];
    }
}

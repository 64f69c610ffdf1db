<?php

declare(strict_types=1);

namespace Mailport\Tests\Support;

/**
 * A test server in tests/servers/ started with proc_open: it prints `READY {json}` once it
 * accepts connections and serves until its standard input closes. Its stderr goes to
 * <dir>/stderr.log.
 */
trait ReadyProcess
{
    /** @var resource|null */
    private $process;
    /** @var resource|null */
    private $stdin;

    /**
     * Start $command and return its READY line's JSON.
     *
     * @param list<string> $command
     * @return array<string, mixed>
     */
    private function launch(array $command): array
    {
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
        $ready = $this->readReady($pipes[1], 30.0, basename($command[1]));
        fclose($pipes[1]);
        return $ready;
    }

    /**
     * @param resource $stdout
     * @return array<string, mixed>
     */
    private function readReady($stdout, float $timeout, string $what): array
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
        throw new \RuntimeException("{$what} did not get ready: {$buffer}\n" . $this->stderr());
    }

    public function stderr(): string
    {
        return (string) @file_get_contents($this->dir . '/stderr.log');
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

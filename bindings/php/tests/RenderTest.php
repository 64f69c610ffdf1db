<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Exception\InvalidArgumentException;
use Mailport\Exception\NetworkException;
use Mailport\Message;
use PHPUnit\Framework\TestCase;

/**
 * render() (one native rendering, one copy into the PHP string) and renderTo() streaming to a
 * path or a stream resource; write errors name the stream and PHP's error; a 25 MiB attachment is
 * streamed to a file in bounded memory (measured in a child process: a memory bound, no timing).
 */
final class RenderTest extends TestCase
{
    private string $dir;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/mailport-php-render-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
    }

    protected function tearDown(): void
    {
        foreach ((array) glob($this->dir . '/*') as $file) {
            unlink((string) $file);
        }
        rmdir($this->dir);
    }

    /** No attachment and no HTML alternative (no random boundary), fixed Date and Message-ID. */
    private static function fixed(): Message
    {
        return (new Message())
            ->setFrom('ann@example.org')
            ->addTo('bob@example.org')
            ->setSubject('Rendered once')
            ->setDate(1700000000)
            ->setMessageId('<render@example.org>')
            ->setText("Hello.\n");
    }

    public function testRenderAndRenderToGiveTheSameBytes(): void
    {
        $msg = self::fixed();
        $rendered = $msg->render();
        $this->assertStringStartsWith('Date: ', $rendered);
        $this->assertSame($rendered, $msg->render());

        $path = $this->dir . '/a.eml';
        $this->assertSame(strlen($rendered), $msg->renderTo($path));
        $this->assertSame($rendered, file_get_contents($path));

        // A stream: written from its position, left open.
        $stream = fopen($this->dir . '/b.eml', 'wb');
        fwrite($stream, "From ann@example.org\r\n");
        $this->assertSame(strlen($rendered), $msg->renderTo($stream));
        fwrite($stream, "\r\n");
        fclose($stream);
        $this->assertSame("From ann@example.org\r\n" . $rendered . "\r\n", file_get_contents($this->dir . '/b.eml'));

        $memory = fopen('php://memory', 'w+b');
        $msg->renderTo($memory);
        rewind($memory);
        $this->assertSame($rendered, stream_get_contents($memory));
        fclose($memory);
    }

    public function testAttachmentsComeInSeveralPiecesAndStillMatch(): void
    {
        $data = str_repeat(implode('', array_map('chr', range(0, 255))), 4096) . 'tail';
        file_put_contents($this->dir . '/data.bin', $data);
        $msg = self::fixed()->attachFile($this->dir . '/data.bin');
        $size = strlen($msg->render());
        $this->assertSame($size, $msg->renderTo($this->dir . '/out.eml'));
        $this->assertSame($size, filesize($this->dir . '/out.eml'));
        $this->assertStringEndsWith("--\r\n", (string) file_get_contents($this->dir . '/out.eml'));
    }

    public function testAFullDiskIsANetworkExceptionWithPhpsError(): void
    {
        if (!is_writable('/dev/full')) {
            $this->markTestSkipped('needs /dev/full');
        }
        try {
            self::fixed()->renderTo('/dev/full');
            $this->fail('writing to /dev/full succeeded');
        } catch (NetworkException $e) {
            $this->assertStringContainsString('/dev/full', $e->getMessage());
            $this->assertStringContainsString('No space left on device', $e->getMessage());
            $this->assertStringContainsString('disk', $e->getHint());
            $this->assertStringContainsString('write callback returned 1', $e->getPrevious()?->getMessage() ?? '');
        }
    }

    public function testBadTargetsAreRefusedNamingWhatWasWrong(): void
    {
        try {
            self::fixed()->renderTo($this->dir . '/missing/dir/x.eml');
            $this->fail('an unwritable path was accepted');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('cannot open', $e->getMessage());
        }
        file_put_contents($this->dir . '/ro.eml', '');
        $readOnly = fopen($this->dir . '/ro.eml', 'rb');
        try {
            self::fixed()->renderTo($readOnly);
            $this->fail('a read-only stream was accepted');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString("read-only (mode 'rb')", $e->getMessage());
        } finally {
            fclose($readOnly);
        }
        try {
            self::fixed()->renderTo(42);
            $this->fail('an int was accepted');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('not int', $e->getMessage());
        }
    }

    public function testAnExceptionInAStreamWrapperPropagates(): void
    {
        if (!in_array('mailport-failing', stream_get_wrappers(), true)) {
            stream_wrapper_register('mailport-failing', FailingStream::class);
        }
        $stream = fopen('mailport-failing://x', 'wb');
        try {
            self::fixed()->renderTo($stream);
            $this->fail('the failing stream was accepted');
        } catch (\RuntimeException $e) {
            $this->assertSame('the sink is closed', $e->getMessage());
        } finally {
            fclose($stream);
        }
    }

    public function testA25MibAttachmentIsStreamedToAFileInBoundedMemory(): void
    {
        if (!is_readable('/proc/self/status')) {
            $this->markTestSkipped('needs /proc/self/status');
        }
        $big = $this->dir . '/big.bin';
        $out = $this->dir . '/big.eml';
        $chunk = str_repeat(implode('', array_map('chr', range(0, 255))), 256);
        $f = fopen($big, 'wb');
        for ($i = 0; $i < 25 * 1024 * 1024 / strlen($chunk); $i++) {
            fwrite($f, $chunk);
        }
        fclose($f);
        $autoload = dirname(__DIR__) . '/autoload.php';
        $child = <<<'PHP'
            require $argv[1];
            function kb(string $field): int {
                foreach (file('/proc/self/status') as $line) {
                    if (str_starts_with($line, $field . ':')) {
                        return (int) preg_split('/\s+/', trim($line))[1];
                    }
                }
                return -1;
            }
            $msg = (new Mailport\Message())->setFrom('a@example.org')->addTo('b@example.org')->setText('x')->attachFile($argv[2]);
            $msg->renderTo('/dev/null'); // warm-up: lazily built state
            file_put_contents('/proc/self/clear_refs', '5'); // VmHWM restarts from the current RSS
            $base = kb('VmRSS');
            $n = $msg->renderTo($argv[3]);
            echo $n, ' ', kb('VmHWM') - $base, "\n";
            PHP;
        $command = [PHP_BINARY, '-d', 'ffi.enable=1', '-r', $child, $autoload, $big, $out];
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        $rc = proc_close($process);
        $this->assertSame(0, $rc, "stdout: $stdout\nstderr: $stderr");
        [$written, $growthKb] = array_map('intval', explode(' ', trim((string) $stdout)));
        $this->assertSame(filesize($out), $written);
        $this->assertGreaterThan(intdiv(25 * 1024 * 1024 * 4, 3), $written);
        $this->assertLessThanOrEqual(16 * 1024, $growthKb, "peak RSS grew by $growthKb kB");
    }
}

/** A stream whose writes throw, as a user stream wrapper may. */
final class FailingStream
{
    /** @var resource|null */
    public $context;

    public function stream_open(string $path, string $mode, int $options, ?string &$openedPath): bool
    {
        return true;
    }

    public function stream_write(string $data): int
    {
        throw new \RuntimeException('the sink is closed');
    }

    public function stream_flush(): bool
    {
        return true;
    }

    public function stream_eof(): bool
    {
        return false;
    }
}

<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Exception\InvalidArgumentException;
use Mailport\Exception\NetworkException;
use Mailport\Message;
use Mailport\Tests\Support\Paths;
use PHPUnit\Framework\TestCase;

/**
 * render() (one native rendering, written straight into the PHP string) and renderTo() streaming
 * to a path or a stream resource; write errors name the stream and PHP's error; with a 25 MiB
 * attachment, render() peaks at ≤ 1.3× its output and renderTo() streams to a file in bounded
 * memory (measured in child processes: memory bounds, no timing).
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

    /** The message with each MIME boundary (random per rendering) replaced by one placeholder. */
    private static function sameBoundaries(string $message): string
    {
        preg_match_all('/boundary="([^"]+)"/', $message, $m);
        return str_replace($m[1], 'BOUNDARY', $message);
    }

    public function testRenderWritesIntoTheStringAndMatchesRenderTo(): void
    {
        $data = str_repeat(implode('', array_map('chr', range(0, 255))), 1024);
        $msg = self::fixed()->setHtml('<p>Hello.</p>')->attachBytes('data.bin', $data);
        $rendered = $msg->render();
        // The in-place path was taken, not the copying fallback (which gives the same bytes).
        $this->assertTrue((new \ReflectionProperty(\Mailport\NativeBytes::class, 'renderInPlace'))->getValue());
        $path = $this->dir . '/c.eml';
        $this->assertSame(strlen($rendered), $msg->renderTo($path));
        $this->assertSame(self::sameBoundaries((string) file_get_contents($path)), self::sameBoundaries($rendered));
        $this->assertStringContainsString(chunk_split(base64_encode($data), 76, "\r\n"), $rendered);
        // Each call makes its own string: an earlier result is never written over.
        $again = $msg->render();
        $this->assertSame(self::sameBoundaries($rendered), self::sameBoundaries($again));
        $this->assertNotSame($rendered, $again, 'a new boundary per rendering, in a new string');
    }

    public function testRenderErrorsComeFromTheSizingCallAndLeaveNothingBehind(): void
    {
        for ($i = 0; $i < 2; $i++) {
            try {
                (new Message())->addTo('bob@example.org')->setText('no author')->render();
                $this->fail('a message without From was rendered');
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('no From', $e->getMessage());
            }
            // The size asked next is this message's: nothing of the failure is left in the way.
            $this->assertSame(self::fixed()->render(), self::fixed()->render());
        }
    }

    /** Run $code in a child PHP with the binding loaded; returns its stdout's words as ints. */
    private function child(string $code, array $args, array $env = []): array
    {
        $autoload = dirname(__DIR__) . '/autoload.php';
        $prelude = <<<'PHP'
            require $argv[1];
            function kb(string $field): int {
                foreach (file('/proc/self/status') as $line) {
                    if (str_starts_with($line, $field . ':')) {
                        return (int) preg_split('/\s+/', trim($line))[1];
                    }
                }
                return -1;
            }
            PHP;
        $command = [PHP_BINARY, '-d', 'ffi.enable=1', '-d', 'memory_limit=-1', '-r', $prelude . $code, $autoload, ...$args];
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        $rc = proc_close($process);
        $this->assertSame(0, $rc, "stdout: $stdout\nstderr: $stderr");
        return array_map('intval', explode(' ', trim((string) $stdout)));
    }

    /**
     * Child code that attaches the file $argv[2] to a message, renders it once (lazily built
     * state), then restarts VmHWM from the current RSS, kept in $base.
     */
    private const AFTER_WARM_UP = <<<'PHP'
        $msg = (new Mailport\Message())->setFrom('a@example.org')->addTo('b@example.org')->setText('x')->attachFile($argv[2]);
        $msg->renderTo('/dev/null');
        file_put_contents('/proc/self/clear_refs', '5');
        $base = kb('VmRSS');

        PHP;

    /** A 25 MiB file of every byte value; skips the test where memory cannot be measured. */
    private function bigFile(): string
    {
        if (!is_readable('/proc/self/status')) {
            $this->markTestSkipped('needs /proc/self/status');
        }
        $big = $this->dir . '/big.bin';
        $chunk = str_repeat(implode('', array_map('chr', range(0, 255))), 256);
        $f = fopen($big, 'wb');
        for ($i = 0; $i < 25 * 1024 * 1024 / strlen($chunk); $i++) {
            fwrite($f, $chunk);
        }
        fclose($f);
        return $big;
    }

    public function testRenderingA25MibAttachmentPeaksAtMost1Point3TimesTheOutput(): void
    {
        $big = $this->bigFile();
        $out = $this->dir . '/big.eml';
        $code = self::AFTER_WARM_UP . <<<'PHP'
            $bytes = $msg->render();
            $growth = kb('VmHWM') - $base;
            $inPlace = (new ReflectionProperty(Mailport\NativeBytes::class, 'renderInPlace'))->getValue();
            $streamed = $msg->renderTo($argv[3]);
            echo strlen($bytes), ' ', $growth, ' ', (int) $inPlace, ' ', $streamed, "\n";
            PHP;
        [$length, $growthKb, $inPlace, $streamed] = $this->child($code, [$big, $out]);
        $this->assertSame(1, $inPlace, 'render() wrote into the string');
        $this->assertSame($streamed, $length, 'render() and renderTo() give as many bytes');
        $this->assertGreaterThan(intdiv(25 * 1024 * 1024 * 4, 3), $length);
        $this->assertLessThanOrEqual(
            (int) (1.3 * $length / 1024),
            $growthKb,
            sprintf('peak RSS grew by %d kB for %d kB of output (%.2fx)', $growthKb, intdiv($length, 1024), $growthKb * 1024 / $length),
        );
    }

    public function testWithADeclarationThatTakesNoStringRenderCopiesOnce(): void
    {
        // A mailport_ffi.h whose declaration the binding does not recognise (here `uint8_t* buf`)
        // stays as it is: FFI then refuses a string for `buf`, and render() takes the copying path.
        $header = (string) file_get_contents(Paths::repo() . '/include/mailport_ffi.h');
        $other = preg_replace('/(mailport_message_render\(const struct mailport_message \*message,\s+)uint8_t \*buf,/', '$1uint8_t* buf,', $header, -1, $count);
        $this->assertSame(1, $count);
        $this->assertSame($other, \Mailport\Native::bindingDeclarations((string) $other));
        file_put_contents($this->dir . '/other.h', $other);
        $code = <<<'PHP'
            $msg = (new Mailport\Message())->setFrom('a@example.org')->addTo('b@example.org')->setText('x')
                ->setDate(1700000000)->setMessageId('<fixed@example.org>');
            $bytes = $msg->render();
            $inPlace = (new ReflectionProperty(Mailport\NativeBytes::class, 'renderInPlace'))->getValue();
            $n = $msg->renderTo($argv[2]);
            echo (int) $inPlace, ' ', (int) ($bytes === file_get_contents($argv[2])), ' ', $n, ' ', strlen($bytes), "\n";
            PHP;
        [$inPlace, $same, $n, $length] = $this->child($code, [$this->dir . '/other.eml'], ['MAILPORT_FFI_HEADER' => $this->dir . '/other.h']);
        $this->assertSame([0, 1], [$inPlace, $same]);
        $this->assertSame($n, $length);
    }

    public function testA25MibAttachmentIsStreamedToAFileInBoundedMemory(): void
    {
        $big = $this->bigFile();
        $out = $this->dir . '/big.eml';
        $code = self::AFTER_WARM_UP . <<<'PHP'
            $n = $msg->renderTo($argv[3]);
            echo $n, ' ', kb('VmHWM') - $base, "\n";
            PHP;
        [$written, $growthKb] = $this->child($code, [$big, $out]);
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

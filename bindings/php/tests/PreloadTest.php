<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\Paths;
use Mailport\Tests\Support\SmtpServer;

/**
 * The php-fpm / Apache set-up with the default ffi.enable=preload: opcache preloads preload.php,
 * which registers the FFI scope MAILPORT, and requests reach the library through FFI::scope().
 *
 * The CLI honours opcache.preload (with opcache.enable_cli=1), but lets any code use FFI under
 * ffi.enable=preload; php-cgi, like php-fpm, enforces the restriction, so it proves that every
 * FFI call comes from preloaded code. When PHP runs as root, preloading needs
 * opcache.preload_user, with which PHP 8.2's FFI::load() refuses to work: the scope then comes
 * from ffi.preload and the header bin/mailport-ffi-header.php writes, as README.md describes.
 */
final class PreloadTest extends MailportTestCase
{
    private static function isRoot(): bool
    {
        return function_exists('posix_geteuid') && posix_geteuid() === 0;
    }

    private function phpCgi(): string
    {
        $path = trim((string) shell_exec('command -v php-cgi' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . ' php-cgi 2>/dev/null | head -n1'));
        if ($path === '') {
            $this->markTestSkipped('php-cgi is not installed (Debian: php' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . '-cgi)');
        }
        return $path;
    }

    /** The scope header for ffi.preload, written the documented way. */
    private function scopeHeader(): string
    {
        $file = $this->tempDir() . '/mailport-ffi.h';
        [$rc, , $err] = $this->runProcess([PHP_BINARY, Paths::package() . '/bin/mailport-ffi-header.php', $file]);
        $this->assertSame(0, $rc, $err);
        chmod($file, 0644);
        return $file;
    }

    /** @return list<string> the -d settings of a preloading server started by this user */
    private function preloadSettings(bool $cli): array
    {
        $settings = [
            '-d', 'opcache.enable=1',
            '-d', 'opcache.preload=' . Paths::package() . '/preload.php',
            '-d', 'ffi.enable=preload',
        ];
        if ($cli) {
            array_push($settings, '-d', 'opcache.enable_cli=1');
        }
        if (self::isRoot()) {
            array_push($settings, '-d', 'opcache.preload_user=root', '-d', 'ffi.preload=' . $this->scopeHeader());
        }
        return $settings;
    }

    /**
     * @param list<string> $command
     * @return array<string, mixed>
     */
    private function sendIn(array $command, array $env = []): array
    {
        [$rc, $out, $err] = $this->runProcess($command, $env);
        $this->assertSame(0, $rc, "$out\n$err");
        $this->assertStringNotContainsString('Warning', $out . $err);
        $lines = array_values(array_filter(explode("\n", $out), static fn ($l) => str_starts_with($l, '{')));
        $this->assertCount(1, $lines, $out);
        return json_decode($lines[0], true, 8, JSON_THROW_ON_ERROR);
    }

    /** @return list<string> */
    private function sendArgs(SmtpServer $server): array
    {
        return [Paths::package() . '/tests/fixtures/send.php', $server->host, (string) $server->port, $server->ca];
    }

    /** php-cgi takes no script arguments: the server goes through the environment. */
    private function cgi(string $cgi, array $settings, SmtpServer $server): array
    {
        return $this->sendIn(
            [$cgi, '-q', ...$settings, Paths::package() . '/tests/fixtures/send.php'],
            ['MAILPORT_TEST_SERVER' => "{$server->host} {$server->port} {$server->ca}"],
        );
    }

    public function testCliWithOpcachePreloadUsesThePreloadedScope(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        $result = $this->sendIn([PHP_BINARY, ...$this->preloadSettings(true), ...$this->sendArgs($server)]);
        $this->assertSame('scope', $result['via']);
        $this->assertSame('FFI scope MAILPORT (preloaded)', $result['library']);
        $this->assertTrue($result['preloaded']);
        $this->assertSame('preload', $result['ffi.enable']);
        $this->assertSame(250, $result['reply']);
        $this->assertCount(1, $server->messages());
    }

    public function testFfiLoadInPreloadWhenNotRoot(): void
    {
        // Without opcache.preload_user, preload.php registers the scope itself with FFI::load().
        if (self::isRoot()) {
            $runuser = trim((string) shell_exec('command -v runuser 2>/dev/null'));
            if ($runuser === '') {
                $this->markTestSkipped('running as root without runuser');
            }
            $prefix = [$runuser, '-u', 'nobody', '--', 'env', 'MAILPORT_LIBRARY=' . getenv('MAILPORT_LIBRARY')];
        } else {
            $prefix = [];
        }
        $server = $this->server(['--mode', 'starttls']);
        $result = $this->sendIn([...$prefix, PHP_BINARY,
            '-d', 'opcache.enable_cli=1',
            '-d', 'opcache.preload=' . Paths::package() . '/preload.php',
            '-d', 'ffi.enable=preload',
            ...$this->sendArgs($server)]);
        $this->assertSame('scope', $result['via']);
        $this->assertSame(250, $result['reply']);
    }

    public function testPreloadAsRootWithoutFfiPreloadStopsWithInstructions(): void
    {
        if (!self::isRoot()) {
            $this->markTestSkipped('only root needs opcache.preload_user');
        }
        [$rc, $out, $err] = $this->runProcess([PHP_BINARY,
            '-d', 'opcache.enable_cli=1',
            '-d', 'opcache.preload=' . Paths::package() . '/preload.php',
            '-d', 'opcache.preload_user=root',
            '-d', 'ffi.enable=preload',
            '-r', 'echo "started";']);
        $this->assertNotSame(0, $rc);
        $this->assertStringNotContainsString('started', $out);
        $this->assertStringContainsString('FFI::load() cannot register the MAILPORT scope here', $out . $err);
        $this->assertStringContainsString(Paths::package() . '/bin/mailport-ffi-header.php', $out . $err);
        $this->assertStringContainsString('ffi.preload=', $out . $err);
    }

    public function testPhpCgiWithPreloadSendsThroughTheScope(): void
    {
        $cgi = $this->phpCgi();
        $server = $this->server(['--mode', 'starttls']);
        $result = $this->cgi($cgi, $this->preloadSettings(false), $server);
        $this->assertSame('cgi-fcgi', $result['sapi']);
        $this->assertSame('scope', $result['via']);
        $this->assertTrue($result['preloaded']);
        $this->assertSame(250, $result['reply']);
    }

    public function testPhpCgiWithoutPreloadExplainsWhatToChange(): void
    {
        $cgi = $this->phpCgi();
        [$rc, $out, $err] = $this->runProcess(
            [$cgi, '-q', '-d', 'ffi.enable=preload', Paths::package() . '/tests/fixtures/send.php'],
            ['MAILPORT_TEST_SERVER' => '127.0.0.1 1 /dev/null'],
        );
        $result = json_decode(trim($out), true);
        $this->assertIsArray($result, $out . $err);
        $this->assertSame('Mailport\Exception\LibraryException', $result['class']);
        $message = $result['message'];
        $this->assertStringContainsString('ffi.enable=preload, the default, under the cgi-fcgi SAPI', $message);
        $this->assertStringContainsString('mailport was not preloaded', $message);
        $this->assertStringContainsString('add opcache.preload=' . Paths::package() . '/preload.php to php.ini and keep ffi.enable=preload', $message);
        $this->assertStringContainsString('or set ffi.enable=true in php.ini', $message);
    }

    public function testPhpCgiWithFfiEnabled(): void
    {
        $cgi = $this->phpCgi();
        $server = $this->server(['--mode', 'starttls']);
        $result = $this->cgi($cgi, ['-d', 'ffi.enable=1'], $server);
        $this->assertSame('cdef', $result['via']);
        $this->assertSame(250, $result['reply']);
    }

    /**
     * Run php-fpm (as a server starts it: a master, and a worker as the pool's user when root)
     * with $settings, make one request to tests/fixtures/send.php through cgi-fcgi, stop it.
     *
     * @param list<string> $settings
     */
    private function fpmRequest(array $settings, string $serverSpec): string
    {
        $version = PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
        $fpm = trim((string) shell_exec("command -v php-fpm$version php-fpm /usr/sbin/php-fpm$version 2>/dev/null | head -n1"));
        $client = trim((string) shell_exec('command -v cgi-fcgi 2>/dev/null'));
        if ($fpm === '' || $client === '') {
            $this->markTestSkipped("php-fpm and cgi-fcgi are needed (Debian: php$version-fpm, libfcgi-bin)");
        }
        $dir = $this->tempDir();
        $port = Paths::refusedPort();
        $pool = self::isRoot() ? self::poolUser() : null;
        file_put_contents("$dir/fpm.conf", implode("\n", [
            '[global]',
            "error_log = $dir/error.log",
            "pid = $dir/fpm.pid",
            'daemonize = no',
            '[www]',
            "listen = 127.0.0.1:$port",
            'pm = static',
            'pm.max_children = 1',
            'clear_env = no',
            'catch_workers_output = yes',
            ...($pool === null ? [] : ["user = $pool", "group = $pool"]),
        ]) . "\n");
        $pipes = [];
        $process = proc_open([$fpm, '-F', '-y', "$dir/fpm.conf", ...$settings], [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$dir/stdout.log", 'w'], 2 => ['file', "$dir/stdout.log", 'a']], $pipes);
        $this->assertIsResource($process);
        try {
            $deadline = microtime(true) + 15;
            while (($socket = @fsockopen('127.0.0.1', $port, $errno, $errstr, 0.2)) === false) {
                if (!proc_get_status($process)['running'] || microtime(true) > $deadline) {
                    return 'FPM DID NOT START: ' . @file_get_contents("$dir/error.log") . @file_get_contents("$dir/stdout.log");
                }
                usleep(50_000);
            }
            fclose($socket);
            [$rc, $out, $err] = $this->runProcess([$client, '-bind', '-connect', "127.0.0.1:$port"], [
                'SCRIPT_FILENAME' => Paths::package() . '/tests/fixtures/send.php',
                'REQUEST_METHOD' => 'GET',
                'MAILPORT_TEST_SERVER' => $serverSpec,
            ]);
            $parts = explode("\r\n\r\n", $out, 2);
            return ($parts[1] ?? $out) . $err;
        } finally {
            proc_terminate($process);
            proc_close($process);
        }
    }

    private static function poolUser(): string
    {
        foreach (['www-data', 'nobody'] as $user) {
            if (function_exists('posix_getpwnam') && posix_getpwnam($user) !== false) {
                return $user;
            }
        }
        return 'nobody';
    }

    public function testPhpFpmWithThePreloadSetUpOfTheReadme(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        $settings = ['-d', 'opcache.enable=1', '-d', 'opcache.preload=' . Paths::package() . '/preload.php', '-d', 'ffi.enable=preload'];
        if (self::isRoot()) {
            // php-fpm's master runs as root: preloading as the pool's user, the scope from ffi.preload.
            array_push($settings, '-d', 'opcache.preload_user=' . self::poolUser(), '-d', 'ffi.preload=' . $this->scopeHeader());
        }
        $body = $this->fpmRequest($settings, "{$server->host} {$server->port} {$server->ca}");
        $result = json_decode(trim($body), true);
        $this->assertIsArray($result, $body);
        $this->assertSame('fpm-fcgi', $result['sapi'] ?? null, $body);
        $this->assertSame('scope', $result['via']);
        $this->assertSame(250, $result['reply']);
        $this->assertCount(1, $server->messages());
    }

    public function testPhpFpmWithoutPreloadExplainsWhatToChange(): void
    {
        $body = $this->fpmRequest(['-d', 'ffi.enable=preload'], '127.0.0.1 1 /dev/null');
        $result = json_decode(trim($body), true);
        $this->assertIsArray($result, $body);
        $this->assertSame('Mailport\Exception\LibraryException', $result['class']);
        $this->assertStringContainsString('under the fpm-fcgi SAPI', $result['message']);
        $this->assertStringContainsString('add opcache.preload=' . Paths::package() . '/preload.php to php.ini and keep ffi.enable=preload', $result['message']);
        $this->assertStringContainsString('or set ffi.enable=true in php.ini', $result['message']);
    }
}

<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Native;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\Paths;

/**
 * The Composer package as a user gets it: `bindings/php/package.sh dist` (the library bundled
 * for linux x86_64, built for glibc 2.17), then, in a new project outside the checkout, the
 * README's `composer config repositories.mailport ...` and `composer require mailport/mailport`
 * with Debian's composer, and a script that only requires vendor/autoload.php sends through a
 * loopback server. No MAILPORT_* variable reaches any of these processes.
 */
final class ComposerInstallTest extends MailportTestCase
{
    /** @var array<string, string|null> what every child process gets: no mailport variable */
    private array $env = [];

    protected function setUp(): void
    {
        if (php_uname('m') !== 'x86_64' || PHP_OS_FAMILY !== 'Linux') {
            $this->markTestSkipped('the package bundles a library for linux x86_64 only');
        }
        $this->need('composer', 'apt-get install composer');
        $this->need('cargo-zigbuild', 'cargo install cargo-zigbuild --version 0.19.8 --locked (packaging/portable-lib.sh)');
        $this->env = [
            'MAILPORT_LIBRARY' => null,
            'MAILPORT_FFI_HEADER' => null,
            'CARGO_TARGET_DIR' => null,
            'COMPOSER_ALLOW_SUPERUSER' => '1',
            'COMPOSER_NO_INTERACTION' => '1',
        ];
    }

    /** Skip when a tool is missing on a developer's machine; CI (.ci/run) installs them, so fail there. */
    private function need(string $tool, string $install): void
    {
        if (trim((string) shell_exec('command -v ' . escapeshellarg($tool) . ' 2>/dev/null')) !== '') {
            return;
        }
        $message = "$tool is not installed ($install)";
        if (getenv('CI') !== false && getenv('CI') !== '') {
            $this->fail($message);
        }
        $this->markTestSkipped($message);
    }

    /**
     * Run a command in $cwd and assert it succeeded.
     *
     * @param list<string> $command
     */
    private function command(array $command, string $cwd, array $env = []): string
    {
        $cmd = 'cd ' . escapeshellarg($cwd) . ' && exec ' . implode(' ', array_map('escapeshellarg', $command));
        [$rc, $out, $err] = $this->runProcess(['sh', '-c', $cmd], $env + $this->env);
        $this->assertSame(0, $rc, implode(' ', $command) . " failed:\n$out$err");
        return $out;
    }

    private function package(string $tmp): string
    {
        $out = $this->command([Paths::package() . '/package.sh', "$tmp/dist"], $tmp);
        $lines = explode("\n", trim($out));
        $package = (string) end($lines);
        $this->assertSame("$tmp/dist/mailport-php", $package);
        $lib = "$package/lib/linux-x86_64/libmailport.so." . Native::ABI_VERSION;
        $this->assertFileExists($lib);
        $this->assertFileDoesNotExist("$package/tests", 'the tests are not shipped');
        // lib/SHA256SUMS matches the library, in the format `sha256sum -c` reads.
        $this->command(['sha256sum', '-c', 'lib/SHA256SUMS'], $package);
        return $package;
    }

    /** A new project in $dir with mailport/mailport required from $package, as the README says. */
    private function project(string $dir, string $package): void
    {
        mkdir($dir);
        $home = ['COMPOSER_HOME' => "$dir/.composer-home"];
        $this->command(['composer', 'init', '--name=example/app', '--no-interaction'], $dir, $home);
        // Not in the README: this machine reaches no package registry besides its own, and the
        // path repository is all this project needs.
        $this->command(['composer', 'config', 'repositories.packagist.org', 'false'], $dir, $home);
        // The README's two commands.
        $this->command(['composer', 'config', 'repositories.mailport',
            json_encode(['type' => 'path', 'url' => $package, 'options' => ['symlink' => false]], JSON_UNESCAPED_SLASHES)], $dir, $home);
        $this->command(['composer', 'require', 'mailport/mailport'], $dir, $home);
        $this->assertDirectoryExists("$dir/vendor/mailport/mailport/src");
        $this->assertFalse(is_link("$dir/vendor/mailport/mailport"), 'a copy, not a link to the package');
    }

    private function sendScript(string $dir): string
    {
        file_put_contents("$dir/send.php", <<<'PHP'
            <?php
            require __DIR__ . '/vendor/autoload.php';

            use Mailport\{Client, Config, Message, Native};

            [, $port, $ca] = $argv;
            try {
                $client = new Client(new Config(host: '127.0.0.1', port: (int) $port, security: 'starttls', caFile: $ca));
                $receipt = $client->send((new Message())->setFrom('App <app@example.test>')
                    ->addTo('bob@example.org')->setSubject('from a Composer project')->setText('Hello.'));
                echo json_encode(['reply' => $receipt->replyCode, 'library' => Native::libraryPath(), 'version' => Native::version()]);
            } catch (Mailport\Exception\ExceptionInterface $e) {
                echo json_encode(['class' => get_class($e), 'message' => $e->getMessage()]);
                exit(3);
            }
            PHP);
        return "$dir/send.php";
    }

    public function testComposerRequireInAFreshProjectSendsWithTheBundledLibrary(): void
    {
        $tmp = $this->tempDir();
        $this->assertStringStartsNotWith(Paths::repo() . '/', $tmp, 'the project must be outside the checkout');
        $package = $this->package($tmp);
        $project = "$tmp/app";
        $this->project($project, $package);

        $server = $this->server(['--mode', 'starttls']);
        $script = $this->sendScript($project);
        [$rc, $out, $err] = $this->runProcess([PHP_BINARY, $script, (string) $server->port, $server->ca], $this->env);
        $this->assertSame(0, $rc, $out . $err);
        $result = json_decode($out, true);
        $this->assertSame(250, $result['reply'], $out);
        $this->assertSame(
            "$project/vendor/mailport/mailport/lib/linux-x86_64/libmailport.so." . Native::ABI_VERSION,
            $result['library'],
            'the library bundled in the installed package was loaded',
        );
        $this->assertSame(['from a Composer project'], $this->headers($this->inspect($server->onlyMessage()['data']), 'Subject'));

        // The php-fpm set-up from the installed package: Composer's vendor/bin proxy writes the
        // ffi.preload header, which names the bundled library, and preload.php is preloaded.
        $header = "$tmp/mailport-ffi.h";
        $this->command([PHP_BINARY, 'vendor/bin/mailport-ffi-header.php', $header], $project);
        $this->assertStringContainsString(
            '#define FFI_LIB "' . "$project/vendor/mailport/mailport/lib/linux-x86_64/libmailport.so." . Native::ABI_VERSION . '"',
            (string) file_get_contents($header),
        );
        $preload = ['-d', 'opcache.enable=1', '-d', 'opcache.enable_cli=1', '-d', 'ffi.enable=preload',
            '-d', "opcache.preload=$project/vendor/mailport/mailport/preload.php", '-d', "ffi.preload=$header"];
        if (function_exists('posix_getuid') && posix_getuid() === 0) {
            $preload = [...$preload, '-d', 'opcache.preload_user=root'];
        }
        [$rc, $out, $err] = $this->runProcess([PHP_BINARY, ...$preload, $script, (string) $server->port, $server->ca], $this->env);
        $this->assertSame(0, $rc, $out . $err);
        $result = json_decode($out, true);
        $this->assertSame(250, $result['reply'], $out);
        $this->assertSame('FFI scope MAILPORT (preloaded)', $result['library']);
        $this->assertCount(2, $server->messages());

        // Without the bundled copy (another platform's install): the system's libmailport.so.1 is
        // looked for, and the error says how to provide it.
        Paths::remove("$project/vendor/mailport/mailport/lib");
        [$rc, $out, $err] = $this->runProcess(
            [PHP_BINARY, $script, (string) $server->port, $server->ca],
            $this->env + ['LD_LIBRARY_PATH' => "$tmp/empty"],
        );
        $this->assertSame(3, $rc, $out . $err);
        $message = (string) (json_decode($out, true)['message'] ?? $out);
        $this->assertStringContainsString('libmailport.so.' . Native::ABI_VERSION . ' (system library path)', $message);
        $this->assertStringContainsString('this package bundles no library for linux-x86_64', $message);
        $this->assertStringContainsString('cargo cinstall', $message);
        $this->assertStringNotContainsString('target/', $message, 'an installed package never looks in a build directory');
    }
}

<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Native;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\Paths;

/**
 * How the library is found and loaded, in child PHP processes: ffi.enable=true, the CLI's
 * default, a disabled FFI, a missing library, an ABI mismatch.
 */
final class LoadingTest extends MailportTestCase
{
    private function sendScript(): string
    {
        return Paths::package() . '/tests/fixtures/send.php';
    }

    /**
     * @param list<string> $phpArgs
     * @return array{0: int, 1: array<string, mixed>|null, 2: string}
     */
    private function child(array $phpArgs, array $scriptArgs, array $env = []): array
    {
        [$rc, $out, $err] = $this->runProcess([PHP_BINARY, ...$phpArgs, $this->sendScript(), ...$scriptArgs], $env);
        $json = json_decode(trim($out), true);
        return [$rc, is_array($json) ? $json : null, $out . $err];
    }

    public function testFfiEnableTrueSendsThroughCdef(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        [$rc, $result, $output] = $this->child(['-d', 'ffi.enable=1'], [$server->host, (string) $server->port, $server->ca]);
        $this->assertSame(0, $rc, $output);
        $this->assertSame('cdef', $result['via']);
        $this->assertSame(getenv('MAILPORT_LIBRARY'), $result['library']);
        $this->assertSame(250, $result['reply']);
        $this->assertNotNull($result['tls']);
        $this->assertSame(['sent via cli'], $this->headers($this->inspect($server->onlyMessage()['data']), 'Subject'));
    }

    public function testTheCliWorksWithTheDefaultPreloadSetting(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        [$rc, $result, $output] = $this->child(['-d', 'ffi.enable=preload'], [$server->host, (string) $server->port, $server->ca]);
        $this->assertSame(0, $rc, $output);
        $this->assertSame('cdef', $result['via'], 'ffi.enable=preload allows FFI::cdef in the CLI');
    }

    public function testDisabledFfiSaysWhatToChange(): void
    {
        [$rc, $result, $output] = $this->child(['-d', 'ffi.enable=0'], ['127.0.0.1', '1', '/dev/null']);
        $this->assertSame(3, $rc, $output);
        $this->assertSame('Mailport\Exception\LibraryException', $result['class']);
        $this->assertStringContainsString("PHP's FFI is disabled (ffi.enable=0)", $result['message']);
        $this->assertStringContainsString('in the php.ini of the cli SAPI', $result['message']);
        $this->assertStringContainsString("set ffi.enable=preload (PHP's default: the CLI may then use FFI", $result['message']);
        $this->assertStringContainsString('also set opcache.preload=' . Paths::package() . '/preload.php', $result['message']);
        $this->assertStringContainsString('or ffi.enable=true (any code may use FFI)', $result['message']);
    }

    public function testAMissingLibraryIsNamed(): void
    {
        [$rc, $result, $output] = $this->child(['-d', 'ffi.enable=1'], ['127.0.0.1', '1', '/dev/null'], ['MAILPORT_LIBRARY' => '/nonexistent/libmailport.so']);
        $this->assertSame(3, $rc, $output);
        $this->assertStringContainsString('libmailport could not be loaded', $result['message']);
        $this->assertStringContainsString('/nonexistent/libmailport.so (MAILPORT_LIBRARY): not found', $result['message']);
        $this->assertStringContainsString('build it with `cargo build -p mailport`', $result['message']);
    }

    /** Build a stand-in libmailport that only reports an ABI and a version. */
    private function fakeLibrary(string $path, int $abi): void
    {
        $gcc = trim((string) shell_exec('command -v gcc cc 2>/dev/null | head -n1'));
        if ($gcc === '') {
            $this->markTestSkipped('no C compiler to build a stand-in library');
        }
        @mkdir(dirname($path), 0755, true);
        $source = dirname($path) . '/fake.c';
        file_put_contents($source, "#include <stdint.h>\nuint32_t mailport_abi_version(void) { return $abi; }\n"
            . "const char *mailport_version(void) { return \"mailport/9.9.9 fake\"; }\n");
        exec(sprintf('%s -shared -fPIC -o %s %s 2>&1', $gcc, escapeshellarg($path), escapeshellarg($source)), $out, $rc);
        $this->assertSame(0, $rc, implode("\n", $out));
    }

    private function fakeHeader(string $dir): string
    {
        file_put_contents("$dir/fake.h", "uint32_t mailport_abi_version(void);\nconst char *mailport_version(void);\n");
        return "$dir/fake.h";
    }

    public function testALibraryOfAnotherAbiIsRefused(): void
    {
        $dir = $this->tempDir();
        $this->fakeLibrary("$dir/libfake.so", 999);
        [$rc, $result, $output] = $this->child(['-d', 'ffi.enable=1'], ['127.0.0.1', '1', '/dev/null'], [
            'MAILPORT_LIBRARY' => "$dir/libfake.so",
            'MAILPORT_FFI_HEADER' => $this->fakeHeader($dir),
        ]);
        $this->assertSame(3, $rc, $output);
        $this->assertStringContainsString(
            "the libmailport loaded from $dir/libfake.so has ABI 999 (mailport/9.9.9 fake), but this PHP binding was written for ABI "
            . Native::ABI_VERSION,
            $result['message'],
        );
    }

    public function testAStaleBuildOfAnotherAbiDoesNotHideAGoodOne(): void
    {
        $target = $this->tempDir();
        $this->fakeLibrary("$target/release/libmailport.so", 999);
        $this->fakeLibrary("$target/debug/libmailport.so", Native::ABI_VERSION);
        [$rc, $out, $err] = $this->runProcess(
            [PHP_BINARY, '-d', 'ffi.enable=1', '-r', 'require $argv[1]; echo Mailport\Mailport::abiVersion(), " ", Mailport\Native::libraryPath();', Paths::package() . '/autoload.php'],
            ['MAILPORT_LIBRARY' => null, 'CARGO_TARGET_DIR' => $target, 'MAILPORT_FFI_HEADER' => $this->fakeHeader($target)],
        );
        $this->assertSame(0, $rc, $out . $err);
        $this->assertSame(Native::ABI_VERSION . " $target/debug/libmailport.so", $out);
    }

    public function testLibrarySearchOrder(): void
    {
        $saved = getenv('MAILPORT_LIBRARY');
        $savedTarget = getenv('CARGO_TARGET_DIR');
        try {
            putenv('MAILPORT_LIBRARY=/opt/x/libmailport.so');
            $this->assertSame([['/opt/x/libmailport.so', 'MAILPORT_LIBRARY']], Native::libraryCandidates());
            putenv('MAILPORT_LIBRARY');
            putenv('CARGO_TARGET_DIR');
            $target = Paths::repo() . '/target';
            $builds = [
                ["$target/release/libmailport.so", 'build directory, release'],
                ["$target/debug/libmailport.so", 'build directory, debug'],
            ];
            // The more recently built of the two comes first.
            usort($builds, static fn (array $a, array $b): int => (@filemtime($b[0]) ?: 0) <=> (@filemtime($a[0]) ?: 0));
            $this->assertSame([
                ...$builds,
                ['libmailport.so.' . Native::ABI_VERSION, 'system library path'],
            ], Native::libraryCandidates());
        } finally {
            putenv($saved === false ? 'MAILPORT_LIBRARY' : "MAILPORT_LIBRARY=$saved");
            putenv($savedTarget === false ? 'CARGO_TARGET_DIR' : "CARGO_TARGET_DIR=$savedTarget");
        }
        $this->assertSame(Paths::repo() . '/include/mailport_ffi.h', Native::headerPath());
    }

    /** A copy of the package (autoload.php and src/) at $package. */
    private function copyPackage(string $package): void
    {
        @mkdir($package, 0755, true);
        exec(sprintf('cp -R %s %s %s 2>&1', escapeshellarg(Paths::package() . '/autoload.php'), escapeshellarg(Paths::package() . '/src'), escapeshellarg($package)), $out, $rc);
        $this->assertSame(0, $rc, implode("\n", $out));
    }

    /** A working libmailport in release/ and debug/ of each target directory. */
    private function plant(string ...$targets): void
    {
        foreach ($targets as $target) {
            foreach (['release', 'debug'] as $profile) {
                @mkdir("$target/$profile", 0755, true);
                $this->assertTrue(copy((string) getenv('MAILPORT_LIBRARY'), "$target/$profile/libmailport.so"));
            }
        }
    }

    /**
     * Load libmailport in a child PHP through the package at $package, with nothing configured.
     *
     * @return array{library: list<array{0: string, 1: string}>, header: list<string>, loaded?: string, error?: string}
     */
    private function loadThrough(string $package): array
    {
        [$rc, $out, $err] = $this->runProcess([
            PHP_BINARY, '-d', 'ffi.enable=1', '-r',
            'require $argv[1]; $r = ["library" => Mailport\Native::libraryCandidates(), "header" => Mailport\Native::headerCandidates()];'
            . ' try { Mailport\Native::version(); $r["loaded"] = Mailport\Native::libraryPath(); }'
            . ' catch (Mailport\Exception\LibraryException $e) { $r["error"] = $e->getMessage(); }'
            . ' echo json_encode($r);',
            "$package/autoload.php",
        ], ['MAILPORT_LIBRARY' => null, 'CARGO_TARGET_DIR' => null, 'MAILPORT_FFI_HEADER' => null, 'LD_LIBRARY_PATH' => '']);
        $this->assertSame(0, $rc, $out . $err);
        return json_decode($out, true, 16, JSON_THROW_ON_ERROR);
    }

    /** @param array{library: list<array{0: string, 1: string}>, header: list<string>, loaded?: string, error?: string} $result */
    private function assertNeverNamed(array $result, string ...$planted): void
    {
        $this->assertArrayNotHasKey('loaded', $result, 'a planted library was loaded');
        $named = json_encode([array_column($result['library'], 0), $result['header'], $result['error']], JSON_UNESCAPED_SLASHES);
        foreach ($planted as $path) {
            $this->assertStringNotContainsString($path, $named);
        }
    }

    public function testNoTargetDirectoryAboveAnInstalledPackageIsSearched(): void
    {
        $tmp = $this->tempDir();
        $package = "$tmp/x/mailport-php";
        $this->copyPackage($package);
        @mkdir("$package/include");
        copy(Paths::repo() . '/include/mailport_ffi.h', "$package/include/mailport_ffi.h");
        // Every directory above src/, dirname(src, 3) ($tmp) included; and a header there.
        $planted = ["$package/target", "$tmp/x/target", "$tmp/target"];
        $this->plant(...$planted);
        @mkdir("$tmp/include");
        copy(Paths::repo() . '/include/mailport_ffi.h', "$tmp/include/mailport_ffi.h");
        $this->assertNeverNamed($this->loadThrough($package), ...[...$planted, "$tmp/include"]);
    }

    public function testOnlyTheCheckoutsOwnTargetDirectoryIsSearched(): void
    {
        $tmp = $this->tempDir();
        $checkout = "$tmp/a/b";
        $package = "$checkout/bindings/php";
        $this->copyPackage($package);
        @mkdir("$checkout/include");
        copy(Paths::repo() . '/include/mailport_ffi.h', "$checkout/include/mailport_ffi.h");
        $planted = ["$package/target", "$checkout/bindings/target", "$tmp/a/target", "$tmp/target"];
        $this->plant(...$planted);

        $result = $this->loadThrough($package);
        $this->assertNeverNamed($result, ...$planted);
        $this->assertSame([
            ["$checkout/target/release/libmailport.so", 'build directory, release'],
            ["$checkout/target/debug/libmailport.so", 'build directory, debug'],
            ['libmailport.so.' . Native::ABI_VERSION, 'system library path'],
        ], $result['library']);
        $this->assertStringContainsString("$checkout/target/release/libmailport.so (build directory, release): not found", $result['error']);
        $this->assertSame("$checkout/include/mailport_ffi.h", $result['header'][1]);

        $this->plant("$checkout/target");
        $this->assertStringStartsWith("$checkout/target/", $this->loadThrough($package)['loaded'] ?? '');
    }

    public function testAnInstalledPackageLoadsItsBundledLibraryFirst(): void
    {
        $tmp = $this->tempDir();
        $package = "$tmp/vendor/mailport/mailport";
        $this->copyPackage($package);
        @mkdir("$package/include");
        copy(Paths::repo() . '/include/mailport_ffi.h', "$package/include/mailport_ffi.h");
        $bundled = "$package/lib/" . Native::platform() . '/libmailport.so.' . Native::ABI_VERSION;
        @mkdir(dirname($bundled), 0755, true);
        $this->assertTrue(copy((string) getenv('MAILPORT_LIBRARY'), $bundled));

        $result = $this->loadThrough($package);
        $this->assertSame([
            [$bundled, 'bundled for ' . Native::platform()],
            ['libmailport.so.' . Native::ABI_VERSION, 'system library path'],
        ], $result['library']);
        $this->assertSame($bundled, $result['loaded'] ?? $result);

        // A bundled library of another ABI is not used; the error says what it is and what to do.
        $this->fakeLibrary($bundled, 999);
        $result = $this->loadThrough($package);
        $this->assertArrayNotHasKey('loaded', $result);
        $this->assertStringContainsString(
            "$bundled (bundled for " . Native::platform() . "): the libmailport loaded from $bundled has ABI 999 (mailport/9.9.9 fake),"
            . ' but this PHP binding was written for ABI ' . Native::ABI_VERSION,
            $result['error'],
        );
        $this->assertStringContainsString('install a libmailport of ABI ' . Native::ABI_VERSION, $result['error']);
    }

    public function testInspectLibraryReadsTheAbiOfAnyLibmailport(): void
    {
        $dir = $this->tempDir();
        $this->fakeLibrary("$dir/libfake.so", 999);
        [$rc, $out, $err] = $this->runProcess([
            PHP_BINARY, '-d', 'ffi.enable=1', '-r',
            'require $argv[1]; echo json_encode([Mailport\Native::inspectLibrary($argv[2]), Mailport\Native::inspectLibrary($argv[3]), Mailport\Native::libraryPath()]);',
            Paths::package() . '/autoload.php', "$dir/libfake.so", (string) getenv('MAILPORT_LIBRARY'),
        ]);
        $this->assertSame(0, $rc, $out . $err);
        [$fake, $real, $loaded] = json_decode($out, true);
        $this->assertSame(['abi' => 999, 'version' => 'mailport/9.9.9 fake'], $fake);
        $this->assertSame(Native::ABI_VERSION, $real['abi']);
        $this->assertStringStartsWith('mailport/', $real['version']);
        $this->assertNull($loaded, 'inspecting loads nothing for the binding');
    }

    public function testTheScopeHeaderForFfiPreload(): void
    {
        $file = $this->tempDir() . '/mailport-ffi.h';
        [$rc, , $err] = $this->runProcess([PHP_BINARY, Paths::package() . '/bin/mailport-ffi-header.php', $file]);
        $this->assertSame(0, $rc, $err);
        $this->assertStringContainsString("set ffi.preload=$file", $err);
        $lines = explode("\n", (string) file_get_contents($file), 3);
        $this->assertSame('#define FFI_SCOPE "MAILPORT"', $lines[0]);
        $this->assertSame('#define FFI_LIB "' . realpath((string) getenv('MAILPORT_LIBRARY')) . '"', $lines[1]);
        // mailport_ffi.h as the binding declares it (render()'s buffer as `char *`: HeaderTest).
        $this->assertSame(Native::bindingDeclarations((string) file_get_contents(Paths::repo() . '/include/mailport_ffi.h')), $lines[2]);
        // And PHP accepts it as ffi.preload, with a PHP string for render()'s buffer (a NULL
        // message is refused before the buffer is looked at: MAILPORT_ERR_NULL_ARGUMENT).
        [$rc, $out, $err] = $this->runProcess([PHP_BINARY, '-d', "ffi.preload=$file", '-r',
            '$s = FFI::scope("MAILPORT"); echo $s->mailport_abi_version(), " ", $s->mailport_message_render(null, "", 0, null, null);']);
        $this->assertSame(0, $rc, $err);
        $this->assertSame(Native::ABI_VERSION . ' ' . \Mailport\ErrorCode::NULL_ARGUMENT, $out);
    }
}

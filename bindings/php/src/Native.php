<?php

declare(strict_types=1);

namespace Mailport;

use FFI\CData;
use Mailport\Exception\ErrorInfo;
use Mailport\Exception\ExceptionFactory;
use Mailport\Exception\ExceptionInterface;
use Mailport\Exception\LibraryException;

/**
 * The only class that touches \FFI: it loads libmailport once per request, checks its ABI, makes
 * every C call and turns C errors into exceptions.
 *
 * How the library is reached, in order:
 *  1. the FFI scope "MAILPORT", when preload.php (opcache.preload) or ffi.preload registered it at
 *     server start: the way php-fpm and Apache work with the default `ffi.enable=preload`;
 *  2. otherwise `FFI::cdef(<mailport_ffi.h>, <library>)`, which needs `ffi.enable=true`, the CLI,
 *     or this class being preloaded. The library is the first that loads, with the ABI this
 *     binding was written for, of: the environment variable MAILPORT_LIBRARY (an exact path, used
 *     alone when set), the path given to configure() (used alone too), the library bundled in
 *     this package for this platform (lib/linux-x86_64/libmailport.so.1 in the Composer package:
 *     built for glibc 2.17), $CARGO_TARGET_DIR/release and /debug, the target/release and
 *     target/debug of the mailport checkout when this package is its bindings/php (the newer
 *     first; no other target/ directory is looked at), and the system's by its SONAME
 *     `libmailport.so.<ABI>`, the way php-vips finds libvips (`libmailport.<ABI>.dylib` /
 *     `libmailport.dylib` on macOS, `mailport.dll` on Windows).
 *
 * Under `ffi.enable=preload`, PHP lets only preloaded code call FFI's static methods
 * (FFI::addr, FFI::string, ...): they are in this class, NativeBytes (its calls that bring bytes
 * back, split off to keep files short) and Message's renderTo() callback, all of which
 * preload.php preloads.
 *
 * @internal Except configure(), libraryPath(), loadedVia(), version() and abiVersion(): use the
 *           Config, Message, Client, Outbox, WpMail and Mailport classes.
 */
final class Native
{
    /** The ABI generation this binding was written for (MAILPORT_ABI_VERSION in mailport.h). */
    public const ABI_VERSION = 1;

    /** The FFI scope preload.php registers (FFI_SCOPE). */
    public const SCOPE = 'MAILPORT';

    private static ?\FFI $ffi = null;
    private static ?string $loadedFrom = null;
    private static ?string $loadedVia = null;
    private static ?string $configuredLibrary = null;
    private static ?string $configuredHeader = null;
    /** The `mailport_error*` behind errorOut(), and its address. */
    private static ?CData $errorSlot = null;
    private static ?CData $errorOut = null;

    private function __construct()
    {
    }

    // ---------------------------------------------------------------- loading

    /**
     * Choose the library and/or header file before first use (instead of MAILPORT_LIBRARY and
     * MAILPORT_FFI_HEADER). A configured path is used through FFI::cdef even when a preloaded
     * scope exists.
     */
    public static function configure(?string $libraryPath = null, ?string $headerPath = null): void
    {
        if (self::$ffi !== null) {
            throw LibraryException::because(sprintf(
                'Native::configure() was called after libmailport was loaded (from %s)',
                self::$loadedFrom,
            ), 'call it before the first use of any mailport class');
        }
        self::$configuredLibrary = $libraryPath;
        self::$configuredHeader = $headerPath;
    }

    /** The library in use: a path, a system name, or "FFI scope MAILPORT (...)"; null before loading. */
    public static function libraryPath(): ?string
    {
        return self::$loadedFrom;
    }

    /** "scope" (preloaded) or "cdef"; null before loading. */
    public static function loadedVia(): ?string
    {
        return self::$loadedVia;
    }

    /** The library's version string, e.g. "mailport/0.1.0 rustls/0.23.46 ring". */
    public static function version(): string
    {
        return (string) self::ffi()->mailport_version();
    }

    public static function abiVersion(): int
    {
        return (int) self::ffi()->mailport_abi_version();
    }

    /**
     * The ABI generation and version string of the library at $path, read with a declaration of
     * those two functions only: a library of another ABI may lack functions this binding
     * declares, and must still be able to say what it is. Used to vet a library before loading
     * it (the WordPress plugin does for its bundled copy); does not change what ffi() loads.
     *
     * @return array{abi: int, version: string}
     */
    public static function inspectLibrary(string $path): array
    {
        if (!extension_loaded('ffi') || self::ffiMode() === 'disabled') {
            throw LibraryException::because(
                sprintf("PHP's FFI is %s, so %s cannot be inspected", extension_loaded('ffi') ? 'disabled' : 'not loaded', $path),
                self::enableAdvice(),
            );
        }
        try {
            $ffi = \FFI::cdef('uint32_t mailport_abi_version(void); const char *mailport_version(void);', $path);
        } catch (\FFI\Exception $e) {
            if (self::isRestriction($e)) {
                throw self::restricted($e->getMessage());
            }
            throw LibraryException::because(sprintf('%s cannot be loaded: %s', $path, $e->getMessage()));
        }
        return ['abi' => (int) $ffi->mailport_abi_version(), 'version' => (string) $ffi->mailport_version()];
    }

    /** The loaded library, loading it on first use. */
    public static function ffi(): \FFI
    {
        return self::$ffi ??= self::load();
    }

    private static function load(): \FFI
    {
        if (!extension_loaded('ffi')) {
            throw LibraryException::because(
                "PHP's FFI extension is not loaded, and mailport calls libmailport through it",
                'install or enable it: extension=ffi in php.ini (Debian and Ubuntu ship it in php8.x-common;'
                . ' check with `php -m | grep FFI`)',
            );
        }
        $mode = self::ffiMode();
        if ($mode === 'disabled') {
            throw LibraryException::because(
                sprintf("PHP's FFI is disabled (ffi.enable=%s), and mailport calls libmailport through it", ini_get('ffi.enable')),
                self::enableAdvice(),
            );
        }

        $scopeError = null;
        if (self::$configuredLibrary === null && self::$configuredHeader === null) {
            try {
                $ffi = \FFI::scope(self::SCOPE);
                self::checkAbi($ffi, 'FFI scope ' . self::SCOPE);
                self::$loadedFrom = 'FFI scope ' . self::SCOPE . ' (preloaded)';
                self::$loadedVia = 'scope';
                return $ffi;
            } catch (\FFI\Exception $e) {
                $scopeError = $e->getMessage();
            }
        }

        $header = self::readHeader();
        $tried = [];
        $otherAbi = false;
        foreach (self::libraryCandidates() as [$path, $origin]) {
            if (self::isPath($path) && !is_file($path)) {
                $tried[] = "$path ($origin): not found";
                if ($origin === 'MAILPORT_LIBRARY' || $origin === 'Native::configure()') {
                    break;
                }
                continue;
            }
            try {
                $ffi = \FFI::cdef($header, $path);
            } catch (\FFI\Exception $e) {
                if (self::isRestriction($e)) {
                    throw self::restricted($scopeError ?? $e->getMessage());
                }
                // A libmailport of another ABI may lack a function this binding declares: say
                // which ABI it is rather than which function is missing.
                $mismatch = str_contains($e->getMessage(), 'Failed resolving C function') ? self::foreignAbi($path) : null;
                if ($mismatch !== null) {
                    $tried[] = "$path ($origin): $mismatch";
                    if ($origin === 'MAILPORT_LIBRARY' || $origin === 'Native::configure()') {
                        self::throwAbiMismatch($mismatch);
                    }
                    $otherAbi = true;
                    continue;
                }
                $tried[] = "$path ($origin): " . $e->getMessage();
                if ($origin === 'MAILPORT_LIBRARY' || $origin === 'Native::configure()') {
                    break;
                }
                continue;
            }
            $mismatch = self::abiMismatch($ffi, $path);
            if ($mismatch !== null) {
                // A stale build of another ABI (say target/release) must not hide a good one.
                $tried[] = "$path ($origin): " . $mismatch;
                if ($origin === 'MAILPORT_LIBRARY' || $origin === 'Native::configure()') {
                    self::throwAbiMismatch($mismatch);
                }
                $otherAbi = true;
                continue;
            }
            self::$loadedFrom = $path;
            self::$loadedVia = 'cdef';
            return $ffi;
        }
        throw LibraryException::because(
            "libmailport could not be loaded. Tried:\n  - " . implode("\n  - ", $tried),
            $otherAbi ? self::abiAdvice() : self::notFoundAdvice(),
        );
    }

    /** What to do when no library loads: depends on whether this is a package or a checkout. */
    private static function notFoundAdvice(): string
    {
        if (self::checkout() !== null) {
            return 'build it with `cargo build -p mailport` (or --release) in this checkout, or set'
                . ' MAILPORT_LIBRARY to the path of a libmailport.so';
        }
        $platform = self::platform();
        $bundled = self::bundledLibrary();
        $shipped = $bundled !== null && is_file($bundled)
            ? "the copy bundled for $platform ($bundled) did not load (see above)"
            : "this package bundles no library for $platform (the Composer package ships linux-x86_64)";
        return $shipped . '; install libmailport so that the system linker finds '
            . self::systemNames()[0] . ' (`cargo cinstall --release --prefix /usr/local` in the mailport'
            . ' repository, then ldconfig), or set MAILPORT_LIBRARY to its path, or call'
            . ' Mailport\\Native::configure(libraryPath: ...)';
    }

    /** "enabled", "preload" or "disabled", from the ffi.enable setting. */
    public static function ffiMode(): string
    {
        $value = strtolower(trim((string) ini_get('ffi.enable')));
        if ($value === 'preload') {
            return 'preload';
        }
        return in_array($value, ['1', 'true', 'on', 'yes'], true) || (is_numeric($value) && (int) $value !== 0)
            ? 'enabled' : 'disabled';
    }

    private static function enableAdvice(): string
    {
        $ini = php_ini_loaded_file();
        return sprintf(
            'in the php.ini of the %s SAPI%s, set ffi.enable=preload (PHP\'s default: the CLI may then use FFI,'
            . ' and php-fpm or Apache only preloaded code, so for them also set opcache.preload=%s, whose header'
            . ' comment shows the whole set-up, then restart the server) or ffi.enable=true (any code may use'
            . ' FFI); the README.md of the mailport/mailport package shows both set-ups',
            PHP_SAPI,
            $ini === false ? '' : " ($ini, or a file in its conf.d directory)",
            self::preloadScript(),
        );
    }

    private static function restricted(string $detail): LibraryException
    {
        return LibraryException::because(
            sprintf(
                "PHP's FFI only works in preloaded code here (ffi.enable=preload, the default, under the %s SAPI),"
                . ' and mailport was not preloaded into this server (FFI said: %s)',
                PHP_SAPI,
                $detail,
            ),
            sprintf(
                'add opcache.preload=%s to php.ini and keep ffi.enable=preload (when the server starts as root,'
                . ' as php-fpm and Apache do, also opcache.preload_user=<the user requests run as> and'
                . ' ffi.preload=<the header bin/mailport-ffi-header.php writes>; bindings/php/README.md shows'
                . ' the set-up), or set ffi.enable=true in php.ini; then restart the server',
                self::preloadScript(),
            ),
        );
    }

    private static function isRestriction(\FFI\Exception $e): bool
    {
        return str_contains($e->getMessage(), 'ffi.enable');
    }

    private static function preloadScript(): string
    {
        return realpath(__DIR__ . '/../preload.php') ?: 'bindings/php/preload.php';
    }

    private static function checkAbi(\FFI $ffi, string $from): void
    {
        $mismatch = self::abiMismatch($ffi, $from);
        if ($mismatch !== null) {
            self::throwAbiMismatch($mismatch);
        }
    }

    /** Why the library's ABI is not the binding's, or null when it is. */
    private static function abiMismatch(\FFI $ffi, string $from): ?string
    {
        $abi = (int) $ffi->mailport_abi_version();
        if ($abi === self::ABI_VERSION) {
            return null;
        }
        return self::mismatchText($from, $abi, (string) $ffi->mailport_version());
    }

    /** The ABI mismatch of the library at $path, when it is a libmailport of another ABI. */
    private static function foreignAbi(string $path): ?string
    {
        try {
            $info = self::inspectLibrary($path);
        } catch (LibraryException) {
            return null; // not a libmailport at all: the caller reports FFI's own error
        }
        if ($info['abi'] === self::ABI_VERSION) {
            return null;
        }
        return self::mismatchText($path, $info['abi'], $info['version']);
    }

    private static function mismatchText(string $from, int $abi, string $version): string
    {
        return sprintf(
            'the libmailport loaded from %s has ABI %d (%s), but this PHP binding was written for ABI %d',
            $from,
            $abi,
            $version,
            self::ABI_VERSION,
        );
    }

    private static function throwAbiMismatch(string $mismatch): never
    {
        throw LibraryException::because($mismatch, self::abiAdvice());
    }

    private static function abiAdvice(): string
    {
        return sprintf(
            'use the libmailport and the PHP binding of the same mailport release: install a libmailport'
            . ' of ABI %d (its SONAME is libmailport.so.%1$d), or the mailport/mailport version that goes'
            . ' with the library you have; in a checkout, rebuild it with `cargo build -p mailport`;'
            . ' MAILPORT_LIBRARY, when set, must name a library of ABI %1$d',
            self::ABI_VERSION,
        );
    }

    private static function isPath(string $name): bool
    {
        return str_contains($name, '/') || str_contains($name, '\\');
    }

    /**
     * Where the library is looked for, in order: [path or system name, where it comes from].
     *
     * @return list<array{0: string, 1: string}>
     */
    public static function libraryCandidates(): array
    {
        $env = getenv('MAILPORT_LIBRARY');
        if (is_string($env) && $env !== '') {
            return [[$env, 'MAILPORT_LIBRARY']];
        }
        if (self::$configuredLibrary !== null) {
            return [[self::$configuredLibrary, 'Native::configure()']];
        }
        $built = match (PHP_OS_FAMILY) {
            'Darwin' => 'libmailport.dylib',
            'Windows' => 'mailport.dll',
            default => 'libmailport.so',
        };
        $found = [];
        $bundled = self::bundledLibrary();
        if ($bundled !== null && is_file($bundled)) {
            $found[] = [$bundled, 'bundled for ' . self::platform()];
        }
        $targets = [];
        $cargoTarget = getenv('CARGO_TARGET_DIR');
        if (is_string($cargoTarget) && $cargoTarget !== '') {
            $targets[] = [$cargoTarget, 'CARGO_TARGET_DIR'];
        }
        // Only the target/ of the checkout this package is part of. Walking up, or ../../../target
        // of any copy, would load a target/ planted above a package installed under a directory
        // others can write to (/tmp/x/mailport-php/src: /tmp/target).
        $checkout = self::checkout();
        if ($checkout !== null) {
            $targets[] = [$checkout . '/target', 'build directory'];
        }
        foreach ($targets as [$target, $origin]) {
            $builds = [];
            foreach (['release', 'debug'] as $profile) {
                $builds[] = ["$target/$profile/$built", "$origin, $profile"];
            }
            // The most recently built first: a stale release build must not hide a fresh debug one.
            usort($builds, static fn (array $a, array $b): int => (@filemtime($b[0]) ?: 0) <=> (@filemtime($a[0]) ?: 0));
            array_push($found, ...$builds);
        }
        foreach (self::systemNames() as $name) {
            $found[] = [$name, 'system library path'];
        }
        return $found;
    }

    /**
     * The names the system's dynamic linker is asked for. On Linux only the SONAME: the
     * unversioned libmailport.so is a development link (-dev packages, cargo-c's prefix) that may
     * point at another ABI generation.
     *
     * @return list<string>
     */
    private static function systemNames(): array
    {
        return match (PHP_OS_FAMILY) {
            'Darwin' => ['libmailport.' . self::ABI_VERSION . '.dylib', 'libmailport.dylib'],
            'Windows' => ['mailport.dll'],
            default => ['libmailport.so.' . self::ABI_VERSION],
        };
    }

    /**
     * This platform's name in the package's lib/ directory: "linux-x86_64", "linux-aarch64",
     * "darwin-arm64", ... (the OS family and the machine, as PHP reports them, normalised).
     */
    public static function platform(): string
    {
        $machine = strtolower(php_uname('m'));
        $machine = match ($machine) {
            'amd64', 'x64' => 'x86_64',
            'arm64' => PHP_OS_FAMILY === 'Darwin' ? 'arm64' : 'aarch64',
            default => $machine,
        };
        return strtolower(PHP_OS_FAMILY) . '-' . $machine;
    }

    /**
     * Where a library bundled in this package for this platform would be: lib/<platform>/ with
     * the file name the system would know it by (libmailport.so.1 on Linux). Null when this
     * package is a checkout's bindings/php (which bundles nothing: its libraries are in target/).
     * The file may not exist: packages/dist builds bundle linux-x86_64 only.
     */
    public static function bundledLibrary(): ?string
    {
        if (self::checkout() !== null) {
            return null;
        }
        return dirname(__DIR__) . '/lib/' . self::platform() . '/' . self::systemNames()[0];
    }

    /** The mailport checkout this package is bindings/php of, or null for an installed copy. */
    private static function checkout(): ?string
    {
        $package = dirname(__DIR__);
        return basename($package) === 'php' && basename(dirname($package)) === 'bindings' ? dirname($package, 2) : null;
    }

    /**
     * Where mailport_ffi.h is looked for: MAILPORT_FFI_HEADER, configure(), a copy inside the
     * package (include/mailport_ffi.h, for distributions), the include/ of the checkout this
     * package is bindings/php of, then the system's include directories.
     *
     * @return list<string>
     */
    public static function headerCandidates(): array
    {
        $env = getenv('MAILPORT_FFI_HEADER');
        if (is_string($env) && $env !== '') {
            return [$env];
        }
        if (self::$configuredHeader !== null) {
            return [self::$configuredHeader];
        }
        $checkout = self::checkout();
        return [
            dirname(__DIR__) . '/include/mailport_ffi.h',
            ...($checkout === null ? [] : [$checkout . '/include/mailport_ffi.h']),
            '/usr/local/include/mailport_ffi.h',
            '/usr/include/mailport_ffi.h',
        ];
    }

    public static function headerPath(): string
    {
        $candidates = self::headerCandidates();
        foreach ($candidates as $path) {
            if (is_file($path)) {
                return $path;
            }
        }
        throw LibraryException::because(
            "mailport_ffi.h (libmailport's declarations for PHP FFI) was not found. Tried:\n  - "
            . implode("\n  - ", $candidates),
            'set MAILPORT_FFI_HEADER to its path (it is include/mailport_ffi.h in the mailport repository),'
            . ' or call Mailport\\Native::configure(headerPath: ...)',
        );
    }

    private static function readHeader(): string
    {
        $path = self::headerPath();
        $text = @file_get_contents($path);
        if ($text === false) {
            throw LibraryException::because("cannot read $path", 'check its permissions');
        }
        return self::bindingDeclarations($text);
    }

    /**
     * mailport_ffi.h as this binding declares it to FFI: the same text except that the `buf` of
     * mailport_message_render is `char *` instead of `uint8_t *`. The two are the same pointer to
     * the ABI (a byte pointer, passed in the same register), so the library sees no difference;
     * PHP's FFI does: for a `char *` or `void *` parameter it passes a PHP string's own bytes
     * (ext/ffi zend_ffi_pass_arg: IS_STRING with a char or void pointee gives Z_STRVAL, no copy),
     * while a `uint8_t *` takes only FFI CData. That is what lets render() have the library write
     * the message straight into the string it returns (see NativeBytes::render()). One function cannot be
     * declared twice in one cdef, hence the change of text rather than a second declaration.
     * A header whose text differs (MAILPORT_FFI_HEADER naming another) is left as it is, and
     * render() then copies once (NativeBytes::rendersInPlace() finds out which).
     *
     * @internal
     */
    public static function bindingDeclarations(string $header): string
    {
        $changed = preg_replace(
            '/\bmailport_message_render\(const struct mailport_message \*message,(\s+)uint8_t \*buf,/',
            'mailport_message_render(const struct mailport_message *message,$1char *buf,',
            $header,
            -1,
            $count,
        );
        return $changed !== null && $count === 1 ? $changed : $header;
    }

    /**
     * The header FFI::load() and ffi.preload take: FFI_SCOPE and FFI_LIB, then mailport_ffi.h.
     * With no argument the library is the first existing candidate (see libraryCandidates()).
     */
    public static function scopeHeader(?string $library = null): string
    {
        $library ??= self::firstLibrary();
        if (preg_match('/["\r\n]/', $library)) {
            throw ExceptionFactory::argument('library path contains a quote or a line break: ' . $library);
        }
        return '#define FFI_SCOPE "' . self::SCOPE . "\"\n"
            . '#define FFI_LIB "' . $library . "\"\n"
            . self::readHeader();
    }

    private static function firstLibrary(): string
    {
        $candidates = self::libraryCandidates();
        foreach ($candidates as [$path]) {
            if (!self::isPath($path)) {
                return $path;
            }
            if (is_file($path)) {
                return realpath($path) ?: $path;
            }
        }
        return $candidates[0][0];
    }

    /**
     * Register the FFI scope "MAILPORT" while opcache preloads (called by preload.php), unless
     * ffi.preload already did. Throws when that is impossible, saying what to configure.
     */
    public static function preload(): void
    {
        try {
            $ffi = \FFI::scope(self::SCOPE);
            self::checkAbi($ffi, 'FFI scope ' . self::SCOPE . ' (ffi.preload)');
            return;
        } catch (\FFI\Exception) {
            // Not registered by ffi.preload: load it here.
        }
        $library = self::firstLibrary();
        $header = self::scopeHeader($library);
        $file = tempnam(sys_get_temp_dir(), 'mailport-ffi-');
        if ($file === false || file_put_contents($file, $header) === false) {
            throw LibraryException::because('cannot write a temporary header file in ' . sys_get_temp_dir());
        }
        try {
            $ffi = \FFI::load($file);
        } catch (\FFI\Exception $e) {
            if (str_contains($e->getMessage(), 'preload_user')) {
                throw LibraryException::because(
                    'FFI::load() cannot register the MAILPORT scope here: PHP preloads in a child process'
                    . ' when opcache.preload_user is set (FFI said: ' . $e->getMessage() . ')',
                    sprintf(
                        'write the scope header once with `php %s/bin/mailport-ffi-header.php %2$s` and add'
                        . ' ffi.preload=%2$s to php.ini (next to opcache.preload)',
                        dirname(__DIR__),
                        sprintf('/etc/php/%d.%d/mailport-ffi.h', PHP_MAJOR_VERSION, PHP_MINOR_VERSION),
                    ),
                );
            }
            throw LibraryException::because(sprintf('FFI::load() failed for %s: %s', $library, $e->getMessage()));
        } finally {
            @unlink($file);
        }
        if ($ffi === null) {
            throw LibraryException::because("FFI::load() failed for $library");
        }
        self::checkAbi($ffi, $library);
    }

    // ---------------------------------------------------------------- calls

    /** Call a function that takes no error out-parameter and return what it returns. */
    public static function invoke(string $function, mixed ...$args): mixed
    {
        return self::ffi()->$function(...$args);
    }

    /**
     * The `mailport_error **error_out` argument every fallible call gets: the address of one
     * `mailport_error*` kept for the request, instead of a new FFI object and FFI::addr per call
     * (two allocations on every setter). Sharing it is safe: the library NULLs `*error_out` on
     * entry and writes it only as the call returns, a failed call's error is taken and freed by
     * check()/exception() before any other call can run, and a call nested inside a callback
     * (a renderTo() stream wrapper that uses mailport) has finished, its error consumed, before
     * the outer call writes the slot.
     *
     * Pass it as the last argument of a direct `Native::ffi()->mailport_...()` call, then give
     * the result to check().
     *
     * @internal
     */
    public static function errorOut(): CData
    {
        if (self::$errorOut === null) {
            self::$errorSlot = self::ffi()->new('mailport_error*');
            self::$errorOut = \FFI::addr(self::$errorSlot);
        }
        return self::$errorOut;
    }

    /**
     * Throw the matching exception when $rc, the result of a call given errorOut(), is not OK.
     *
     * @internal
     */
    public static function check(int $rc): void
    {
        if ($rc !== ErrorCode::OK) {
            assert(self::$errorSlot !== null);
            throw self::exception($rc, self::$errorSlot);
        }
    }

    /**
     * Call a fallible function: append the error out-parameter, throw the matching exception on
     * a non-zero result.
     */
    public static function call(string $function, #[\SensitiveParameter] mixed ...$args): void
    {
        $args[] = self::errorOut();
        self::check((int) self::ffi()->$function(...$args));
    }

    /**
     * Call a fallible function whose last two parameters are `<type> **out` and the error, and
     * return the new object (a `<type>*` the caller frees).
     */
    public static function callOut(string $function, string $type, #[\SensitiveParameter] mixed ...$args): CData
    {
        $ffi = self::ffi();
        // A fresh slot per call (not a shared one like the error's): the caller keeps the object.
        $out = $ffi->new($type . '*');
        $args[] = \FFI::addr($out);
        $args[] = self::errorOut();
        self::check((int) $ffi->$function(...$args));
        if (\FFI::isNull($out)) {
            throw ExceptionFactory::create(new ErrorInfo(ErrorCode::PANIC, "$function returned no object"));
        }
        return $out;
    }

    /**
     * `mailport_client_send`: callOut() without its variadic packing, which is measurable on a
     * call made once per message. Returns the receipt pointer.
     */
    public static function send(CData $client, CData $message): CData
    {
        $ffi = self::ffi();
        $out = $ffi->new('mailport_receipt*');
        self::check((int) $ffi->mailport_client_send($client, $message, \FFI::addr($out), self::errorOut()));
        if (\FFI::isNull($out)) {
            throw ExceptionFactory::create(new ErrorInfo(ErrorCode::PANIC, 'mailport_client_send returned no object'));
        }
        return $out;
    }

    /** Build the exception for a failed call from its error object, and free the object. */
    private static function exception(int $rc, CData $errSlot): ExceptionInterface
    {
        $ffi = self::ffi();
        if (\FFI::isNull($errSlot)) {
            return ExceptionFactory::create(new ErrorInfo($rc, (string) $ffi->mailport_result_str($rc)));
        }
        $e = $errSlot;
        try {
            $rejected = [];
            $n = (int) $ffi->mailport_error_rejected_count($e);
            for ($i = 0; $i < $n; $i++) {
                $rejected[] = new RejectedRecipient(
                    (string) $ffi->mailport_error_rejected_address($e, $i),
                    (int) $ffi->mailport_error_rejected_reply_code($e, $i),
                    (string) $ffi->mailport_error_rejected_reply($e, $i),
                );
            }
            $invalid = [];
            $n = (int) $ffi->mailport_error_invalid_address_count($e);
            for ($i = 0; $i < $n; $i++) {
                $invalid[] = new InvalidAddress(
                    (string) $ffi->mailport_error_invalid_address_field($e, $i),
                    (string) $ffi->mailport_error_invalid_address_input($e, $i),
                    (string) $ffi->mailport_error_invalid_address_reason($e, $i),
                );
            }
            $code = (int) $ffi->mailport_error_code($e);
            return ExceptionFactory::create(new ErrorInfo(
                $code !== ErrorCode::OK ? $code : $rc,
                (string) $ffi->mailport_error_message($e),
                (string) $ffi->mailport_error_hint($e),
                (int) $ffi->mailport_error_reply_code($e),
                (string) $ffi->mailport_error_enhanced_status($e),
                (string) $ffi->mailport_error_server_reply($e),
                (bool) $ffi->mailport_error_is_transient($e),
                (string) $ffi->mailport_error_transcript($e),
                $rejected,
                $invalid,
                (bool) $ffi->mailport_error_outcome_unknown($e),
            ));
        } finally {
            $ffi->mailport_error_free($e);
            // The slot may be errorOut()'s, shared by every call: leave no freed pointer in it.
            \FFI::memset(\FFI::addr($errSlot), 0, \FFI::sizeof($errSlot));
        }
    }

    // ---------------------------------------------------------------- arguments

    /**
     * A string for a `const char *` parameter. C strings end at the first NUL, so FFI would cut
     * the value there without a word: refuse it instead, naming the parameter.
     */
    /**
     * A `const char *` a callback received from the library (FFI hands it over as CData, or
     * already as a string), as a PHP string; '' for NULL.
     *
     * @internal
     */
    public static function cString(mixed $value): string
    {
        if (is_string($value)) {
            return $value;
        }
        if (!$value instanceof CData || \FFI::isNull($value)) {
            return '';
        }
        return \FFI::string($value);
    }

    public static function str(#[\SensitiveParameter] ?string $value, string $name): ?string
    {
        if ($value !== null && ($at = strpos($value, "\0")) !== false) {
            throw ExceptionFactory::argument(
                "$name contains a NUL byte at byte $at (C strings end at NUL, so it would be cut there)"
            );
        }
        return $value;
    }

    /** An integer for an unsigned C parameter of `$bits` bits, refused when it would wrap. */
    public static function uint(int $value, int $bits, string $name): int
    {
        if ($value < 0 || ($bits < 64 && $value >= (1 << $bits))) {
            throw ExceptionFactory::argument(sprintf(
                '%s must be between 0 and %s, got %d',
                $name,
                $bits < 64 ? (string) ((1 << $bits) - 1) : (string) PHP_INT_MAX,
                $value,
            ));
        }
        return $value;
    }

    /**
     * Call a function that takes `(const void *data, size_t len)` after `$before`, with the
     * bytes of `$data`. PHP's FFI passes a string to a `const void *` as a pointer to its bytes:
     * no copy, however large the attachment.
     *
     * @param list<mixed> $before arguments before the pointer
     * @param list<mixed> $after  arguments after the length (without the error out-parameter)
     */
    public static function callWithBytes(string $function, array $before, string $data, array $after = [], ?string $outType = null): ?CData
    {
        $args = [...$before, $data, strlen($data), ...$after];
        if ($outType !== null) {
            return self::callOut($function, $outType, ...$args);
        }
        self::call($function, ...$args);
        return null;
    }

    /**
     * Send raw bytes to an envelope: `mailport_client_send_raw`, with the recipients as a
     * `const char *const *` array. Returns the receipt pointer.
     *
     * @param list<string> $recipients
     */
    public static function sendRaw(CData $client, string $from, array $recipients, string $data): CData
    {
        [$array, $count, $keep] = self::strings($recipients, 'recipients');
        $receipt = self::callWithBytes(
            'mailport_client_send_raw',
            [$client, self::str($from, 'from'), $array, $count],
            $data,
            [],
            'mailport_receipt',
        );
        unset($keep);
        assert($receipt !== null);
        return $receipt;
    }

    /**
     * A `const char *const *` array of $values (NULL when empty), its length, and the C strings
     * it points to, which the caller keeps alive during the call.
     *
     * @param list<string> $values
     * @return array{0: ?CData, 1: int, 2: list<CData>}
     */
    private static function strings(array $values, string $name): array
    {
        $ffi = self::ffi();
        $count = count($values);
        $array = null;
        $keep = [];
        if ($count > 0) {
            $array = $ffi->new("const char*[$count]");
            foreach (array_values($values) as $i => $value) {
                $value = (string) self::str($value, "{$name}[$i]");
                $size = strlen($value) + 1;
                $cstr = $ffi->new("char[$size]");
                \FFI::memcpy($cstr, $value, $size - 1);
                $keep[] = $cstr;
                $array[$i] = $ffi->cast('char*', $cstr);
            }
        }
        return [$array, $count, $keep];
    }

    /**
     * Open an outbox: `mailport_outbox_open` with the config handles as a
     * `const mailport_config *const *` array. Returns the outbox pointer.
     *
     * @param list<CData> $configs
     */
    public static function openOutbox(string $location, array $configs): CData
    {
        $count = count($configs);
        $array = $count > 0 ? self::ffi()->new("const mailport_config*[$count]") : null;
        foreach (array_values($configs) as $i => $config) {
            $array[$i] = $config;
        }
        return self::callOut('mailport_outbox_open', 'mailport_outbox', self::str($location, 'location'), $array, $count);
    }

    /**
     * Call an outbox enqueue function with the arguments before its id buffer, and return the
     * new entry's id: the buffer has MAILPORT_OUTBOX_ID_SIZE bytes, which the library checks
     * before it stores anything.
     *
     * @param list<mixed> $args
     */
    public static function enqueue(string $function, array $args): string
    {
        $ffi = self::ffi();
        $size = (int) $ffi->MAILPORT_OUTBOX_ID_SIZE;
        $buf = $ffi->new("char[$size]");
        self::call($function, ...[...$args, $buf, $size, null]);
        return \FFI::string($buf);
    }

    /**
     * Enqueue raw bytes for an envelope: `mailport_outbox_enqueue_raw`, with the recipients as a
     * `const char *const *` array and the bytes passed without a copy. Returns the entry id.
     *
     * @param list<string> $recipients
     */
    public static function enqueueRaw(CData $outbox, string $from, array $recipients, string $data): string
    {
        [$array, $count, $keep] = self::strings($recipients, 'recipients');
        $id = self::enqueue('mailport_outbox_enqueue_raw', [$outbox, self::str($from, 'from'), $array, $count, $data, strlen($data)]);
        unset($keep);
        return $id;
    }

    /**
     * List outbox records: `mailport_outbox_list` with the states as a `uint32_t` array.
     * Returns the list pointer.
     *
     * @param list<int> $states
     */
    public static function listOutbox(CData $outbox, array $states, int $limit): CData
    {
        $count = count($states);
        $array = $count > 0 ? self::ffi()->new("uint32_t[$count]") : null;
        foreach (array_values($states) as $i => $state) {
            $array[$i] = self::uint($state, 32, "states[$i]");
        }
        return self::callOut('mailport_outbox_list', 'mailport_outbox_records', $outbox, $array, $count, $limit);
    }

    /** Call a fallible function whose last parameter before the error is `size_t *out`; return it. */
    public static function callSize(string $function, mixed ...$args): int
    {
        $n = self::ffi()->new('size_t');
        self::call($function, ...[...$args, \FFI::addr($n)]);
        return (int) $n->cdata;
    }

    /**
     * Set probe ports: `mailport_probe_options_set_ports` with a `uint16_t` array.
     *
     * @param list<int> $ports
     */
    public static function setProbePorts(CData $options, array $ports): void
    {
        $count = count($ports);
        $array = $count > 0 ? self::ffi()->new("uint16_t[$count]") : null;
        foreach (array_values($ports) as $i => $port) {
            $array[$i] = self::uint($port, 16, "ports[$i]");
        }
        self::call('mailport_probe_options_set_ports', $options, $array, $count);
    }

    /** The client's transcript (`mailport_client_transcript_copy`, freed at once). */
    public static function transcript(CData $client): string
    {
        $ffi = self::ffi();
        $copy = $ffi->mailport_client_transcript_copy($client);
        if ($copy === null || \FFI::isNull($copy)) {
            throw ExceptionFactory::create(new ErrorInfo(
                ErrorCode::INVALID_STATE,
                'the client has no transcript: it is unusable after an internal error',
                'close it and make a new one',
            ));
        }
        try {
            return \FFI::string($copy);
        } finally {
            $ffi->mailport_string_free($copy);
        }
    }

    /**
     * Free the error a call left in errorOut()'s slot, when the caller handles the failure.
     *
     * @internal
     */
    public static function discardError(): void
    {
        assert(self::$errorSlot !== null);
        if (!\FFI::isNull(self::$errorSlot)) {
            self::ffi()->mailport_error_free(self::$errorSlot);
            \FFI::memset(self::$errorOut, 0, \FFI::sizeof(self::$errorSlot));
        }
    }

    /** Whether a pointer returned by C is NULL. */
    public static function isNull(?CData $pointer): bool
    {
        return $pointer === null || \FFI::isNull($pointer);
    }
}

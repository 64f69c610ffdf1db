<?php

declare(strict_types=1);

namespace Mailport;

/**
 * Library-wide functions: version, ABI, the connection check, and draining the persistent pool.
 */
final class Mailport
{
    private function __construct()
    {
    }

    /** The library's version string, e.g. "mailport/0.1.0 rustls/0.23.46 ring". */
    public static function version(): string
    {
        return Native::version();
    }

    /** The loaded library's ABI generation (equal to Native::ABI_VERSION, or loading fails). */
    public static function abiVersion(): int
    {
        return Native::abiVersion();
    }

    /**
     * Say QUIT on every idle session of the persistent pool (Configs with setPersistent(true))
     * and close it, within $timeoutMs in all: for a worker that is about to exit (a php-fpm
     * child reaching pm.max_requests, a queue worker stopping; register_shutdown_function() or
     * a SIGTERM handler), so that servers see a polite end instead of connections cut by the
     * exit. Each QUIT waits at most 2 s for its reply and never past the budget; sessions left
     * when it is spent are closed without QUIT, and 0 closes them all at once. Sessions of
     * clients still open are not touched. In a child of pcntl_fork() the sessions inherited
     * from the parent are the parent's: never written to, not counted.
     *
     * @return int how many sessions were closed
     */
    public static function drainPool(int $timeoutMs = 5000): int
    {
        return Native::callSize('mailport_pool_drain', Native::uint($timeoutMs, 32, 'timeoutMs'));
    }

    /**
     * Check the config's server on each port (default 587, 465, 2525 and 25, all at once under
     * one deadline) the way a send would connect, and report what each port does, which one to
     * use and why. Nothing is sent. A port that fails is data in the report, not an exception;
     * only misuse (no host, a missing CA file) throws.
     *
     * @param Config|string  $config a Config or a URL
     * @param list<int>|null $ports  in order of preference
     */
    public static function probe(
        #[\SensitiveParameter] Config|string $config,
        ?array $ports = null,
        ?int $deadlineMs = null,
        ?int $greetingWaitMs = null,
        bool $skipAuth = false,
        bool $allowRelay = false,
        ?string $envelopeFrom = null,
        ?string $envelopeTo = null,
    ): Report {
        if (is_string($config)) {
            $config = Config::fromUrl($config);
        }
        $options = Native::invoke('mailport_probe_options_new');
        if (Native::isNull($options)) {
            throw Exception\ExceptionFactory::create(new Exception\ErrorInfo(ErrorCode::PANIC, 'mailport_probe_options_new failed'));
        }
        try {
            if ($ports !== null) {
                Native::setProbePorts($options, $ports);
            }
            if ($deadlineMs !== null) {
                Native::call('mailport_probe_options_set_deadline_ms', $options, Native::uint($deadlineMs, 32, 'deadlineMs'));
            }
            if ($greetingWaitMs !== null) {
                Native::call('mailport_probe_options_set_greeting_wait_ms', $options, Native::uint($greetingWaitMs, 32, 'greetingWaitMs'));
            }
            $flags = ($skipAuth ? 1 : 0) | ($allowRelay ? 2 : 0);
            if ($flags !== 0) {
                Native::call('mailport_probe_options_set_flags', $options, $flags);
            }
            if ($envelopeFrom !== null || $envelopeTo !== null) {
                Native::call(
                    'mailport_probe_options_set_envelope',
                    $options,
                    Native::str($envelopeFrom, 'envelopeFrom'),
                    Native::str($envelopeTo, 'envelopeTo'),
                );
            }
            return Report::fromHandle(Native::callOut('mailport_probe', 'mailport_report', $config->handle(), $options));
        } finally {
            Native::invoke('mailport_probe_options_free', $options);
        }
    }
}

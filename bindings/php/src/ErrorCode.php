<?php

declare(strict_types=1);

namespace Mailport;

/**
 * The values of the C enum `mailport_result`, named without the `MAILPORT_ERR_` prefix:
 * `ErrorCode::AUTH_FAILED` is `MAILPORT_ERR_AUTH_FAILED` (61). Every exception's getCode() is one
 * of them. A test checks each value against the header the library is loaded with.
 */
final class ErrorCode
{
    public const OK = 0;
    public const NULL_ARGUMENT = 1;
    public const INVALID_ARGUMENT = 2;
    public const BUFFER_TOO_SMALL = 3;
    public const INVALID_STATE = 4;
    public const DNS = 20;
    public const CONNECT_REFUSED = 21;
    public const CONNECT_UNREACHABLE = 22;
    public const CONNECT_TIMEOUT = 23;
    public const TIMEOUT = 24;
    public const CONNECTION_CLOSED = 25;
    public const IO = 26;
    public const TLS_HANDSHAKE = 40;
    public const CERT_UNTRUSTED = 41;
    public const CERT_EXPIRED = 42;
    public const CERT_NAME_MISMATCH = 43;
    public const PLAINTEXT_ON_TLS_PORT = 44;
    public const TLS_ON_PLAINTEXT_PORT = 45;
    public const STARTTLS_UNAVAILABLE = 46;
    public const STARTTLS = 47;
    public const AUTH_UNAVAILABLE = 60;
    public const AUTH_FAILED = 61;
    public const GREETING = 80;
    public const EHLO = 81;
    public const MAIL_FROM = 82;
    public const RECIPIENTS_REJECTED = 83;
    public const DATA = 84;
    public const MESSAGE_TOO_LARGE = 85;
    public const PROTOCOL = 86;
    public const INVALID_ADDRESS = 100;
    public const ATTACHMENT = 101;
    public const OAUTH_INVALID_GRANT = 120;
    public const OAUTH_INVALID_CLIENT = 121;
    public const OAUTH_ENDPOINT_UNREACHABLE = 122;
    public const OAUTH_SCOPE = 123;
    public const OAUTH_ENDPOINT = 124;
    public const OAUTH_CALLBACK = 125;
    public const PANIC = 199;

    private function __construct()
    {
    }

    /**
     * Every code by its short name, e.g. ['OK' => 0, 'NULL_ARGUMENT' => 1, ...].
     *
     * @return array<string, int>
     */
    public static function all(): array
    {
        /** @var array<string, int> */
        return (new \ReflectionClass(self::class))->getConstants();
    }

    /** The C name of a code, e.g. "MAILPORT_ERR_AUTH_FAILED"; "MAILPORT_ERR_UNKNOWN" for others. */
    public static function name(int $code): string
    {
        $short = array_search($code, self::all(), true);
        if ($short === false) {
            return 'MAILPORT_ERR_UNKNOWN';
        }
        return $short === 'OK' ? 'MAILPORT_OK' : 'MAILPORT_ERR_' . $short;
    }

    /** One sentence describing a code, from the library (`mailport_result_str`). */
    public static function describe(int $code): string
    {
        return (string) Native::invoke('mailport_result_str', Native::uint($code, 32, 'code'));
    }
}

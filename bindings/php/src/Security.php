<?php

declare(strict_types=1);

namespace Mailport;

/**
 * How the connection to the server is secured (C: `mailport_security`). The string values are
 * what Config accepts in place of the enum and what the report's JSON uses.
 */
enum Security: string
{
    /** Pick by port: 465 implicit TLS, 25 opportunistic STARTTLS, any other port STARTTLS required. */
    case AUTO = 'auto';
    /** STARTTLS required: if it is not offered or fails, nothing is sent. */
    case STARTTLS = 'starttls';
    /** Implicit TLS from the first byte ("SMTPS", port 465). */
    case TLS = 'tls';
    /** STARTTLS when offered, plaintext otherwise (relay on port 25); credentials never go in plaintext. */
    case OPPORTUNISTIC = 'opportunistic';
    /** No encryption; credentials refused unless Config::dangerousAllowPlaintextAuth(). */
    case NONE = 'none';

    /** The C value (`MAILPORT_SECURITY_*`). */
    public function code(): int
    {
        return match ($this) {
            self::AUTO => 0,
            self::STARTTLS => 1,
            self::TLS => 2,
            self::OPPORTUNISTIC => 3,
            self::NONE => 4,
        };
    }

    /** The case for a C value; the inverse of code() (every receipt reads one: no cases() scan). */
    public static function fromCode(int $code): self
    {
        return match ($code) {
            0 => self::AUTO,
            1 => self::STARTTLS,
            2 => self::TLS,
            3 => self::OPPORTUNISTIC,
            4 => self::NONE,
            default => self::unknownCode($code),
        };
    }

    private static function unknownCode(int $code): never
    {
        throw Exception\ExceptionFactory::argument("security code $code is not a mailport_security value");
    }

    /** Accepts the enum or its name ("starttls", "tls", ... case-insensitive). */
    public static function of(self|string $security): self
    {
        if ($security instanceof self) {
            return $security;
        }
        $found = self::tryFrom(strtolower($security));
        if ($found === null) {
            throw Exception\ExceptionFactory::argument(sprintf(
                'security "%s" is not one of %s',
                $security,
                implode(', ', array_map(static fn (self $c): string => $c->value, self::cases())),
            ));
        }
        return $found;
    }
}

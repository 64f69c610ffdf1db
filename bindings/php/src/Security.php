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
    case Auto = 'auto';
    /** STARTTLS required: if it is not offered or fails, nothing is sent. */
    case StartTls = 'starttls';
    /** Implicit TLS from the first byte ("SMTPS", port 465). */
    case Tls = 'tls';
    /** STARTTLS when offered, plaintext otherwise (relay on port 25); credentials never go in plaintext. */
    case Opportunistic = 'opportunistic';
    /** No encryption; credentials refused unless Config::dangerousAllowPlaintextAuth(). */
    case None = 'none';

    /** The C value (`MAILPORT_SECURITY_*`). */
    public function code(): int
    {
        return match ($this) {
            self::Auto => 0,
            self::StartTls => 1,
            self::Tls => 2,
            self::Opportunistic => 3,
            self::None => 4,
        };
    }

    public static function fromCode(int $code): self
    {
        foreach (self::cases() as $case) {
            if ($case->code() === $code) {
                return $case;
            }
        }
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

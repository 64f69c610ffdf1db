<?php

declare(strict_types=1);

namespace Mailport;

/**
 * Where an outbox entry stands (C: `mailport_outbox_state`). The string values are the names the
 * records' JSON uses; code() is the C value.
 */
enum OutboxState: string
{
    /** No state: what an entry just enqueued comes from (an OutboxEvent's $from is then null). */
    case NONE = 'none';
    /** Waiting for its first attempt (or retried, waiting for the next). */
    case QUEUED = 'queued';
    /** A worker is sending it now. */
    case SENDING = 'sending';
    /** Every recipient was accepted by a server, or refused for good (see its recipients). */
    case SENT = 'sent';
    /** A transient failure: the next attempt is at the record's $due. */
    case DEFERRED = 'deferred';
    /** Refused for good, or out of time: nothing more is tried unless it is retried. */
    case FAILED = 'failed';
    /** A configuration problem (credentials refused, certificate not trusted): tried again when the settings change, or when retried. */
    case HELD = 'held';
    /** Cancelled before it was sent. */
    case CANCELLED = 'cancelled';

    /** The C value (`MAILPORT_OUTBOX_STATE_*`). */
    public function code(): int
    {
        return match ($this) {
            self::NONE => 0,
            self::QUEUED => 1,
            self::SENDING => 2,
            self::SENT => 3,
            self::DEFERRED => 4,
            self::FAILED => 5,
            self::HELD => 6,
            self::CANCELLED => 7,
        };
    }

    public static function fromCode(int $code): self
    {
        foreach (self::cases() as $case) {
            if ($case->code() === $code) {
                return $case;
            }
        }
        throw Exception\ExceptionFactory::argument("outbox state code $code is not a mailport_outbox_state value");
    }

    /** Accepts the enum or its name ("deferred", ... case-insensitive), never NONE. */
    public static function of(self|string $state): self
    {
        $found = $state instanceof self ? $state : self::tryFrom(strtolower($state));
        if ($found === null || $found === self::NONE) {
            throw Exception\ExceptionFactory::argument(sprintf(
                'state "%s" is not one of %s',
                $state instanceof self ? $state->value : $state,
                implode(', ', array_map(static fn (self $c): string => $c->value, array_slice(self::cases(), 1))),
            ));
        }
        return $found;
    }
}

<?php

declare(strict_types=1);

namespace Mailport;

/**
 * What an OutboxEvent is (C: `mailport_outbox_event_kind`). The string values are the "kind" of
 * the events in a run summary's JSON; code() is the C value.
 */
enum OutboxEventKind: string
{
    /** An entry changed state: enqueued, sent, deferred, failed, held, retried or cancelled. */
    case STATE_CHANGED = 'state_changed';
    /** A connection that worked (or was not tried yet) failed: said once, not for every message. */
    case CONNECTION_FAILING = 'connection_failing';
    /** A connection that was failing worked again. */
    case CONNECTION_RECOVERED = 'connection_recovered';

    /** The C value (`MAILPORT_OUTBOX_EVENT_*`). */
    public function code(): int
    {
        return match ($this) {
            self::STATE_CHANGED => 0,
            self::CONNECTION_FAILING => 1,
            self::CONNECTION_RECOVERED => 2,
        };
    }
}

<?php

declare(strict_types=1);

namespace Mailport;

/** One try at delivering an outbox entry over one connection. */
final class OutboxAttempt
{
    public function __construct(
        /** When it ended, in Unix seconds. */
        public readonly int $at,
        /** The index of the connection it used (0 is the primary). */
        public readonly int $connection,
        /** That connection's "host:port". */
        public readonly string $server,
        /** "sent", "transient" (worth trying again), "permanent" (refused for good), "configuration" (the settings must change) or "unknown" (the answer was lost after the whole message went out). */
        public readonly string $outcome,
        /** The error's kind ("connect_refused", "auth_failed", ...), or null when it did not fail. */
        public readonly ?string $kind,
        /** The error, or the server's final reply, in words. */
        public readonly string $message,
        public readonly ?int $replyCode,
        public readonly ?string $enhancedStatus,
        /** The id the server gave the message ("queued as 4Xk2"): what to search its logs for. */
        public readonly ?string $queueId,
        /** The redacted transcript, when the outbox keeps them (setKeepTranscripts). */
        public readonly ?string $transcript,
    ) {
    }
}

<?php

declare(strict_types=1);

namespace Mailport;

/** One recipient of an outbox entry. */
final class OutboxRecipient
{
    public function __construct(
        public readonly string $address,
        /** "pending" (the next attempt sends to it), "sent" (a server accepted it) or "failed" (refused for good, or out of time). */
        public readonly string $state,
        /** The server's reply that settled it ("550 5.1.1 no such user"), or null. */
        public readonly ?string $reply,
    ) {
    }
}

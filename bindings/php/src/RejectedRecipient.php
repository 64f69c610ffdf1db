<?php

declare(strict_types=1);

namespace Mailport;

/** A recipient the server refused, with its reply (from an exception or a partial receipt). */
final class RejectedRecipient
{
    public function __construct(
        public readonly string $address,
        public readonly int $replyCode,
        public readonly string $reply,
    ) {
    }
}

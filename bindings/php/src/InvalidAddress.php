<?php

declare(strict_types=1);

namespace Mailport;

/** An address a message could not be built with: the field it was given in, as given, and why. */
final class InvalidAddress
{
    public function __construct(
        /** "From", "To", "Cc", "Bcc" or "Reply-To". */
        public readonly string $field,
        public readonly string $input,
        public readonly string $reason,
    ) {
    }
}

<?php

declare(strict_types=1);

namespace Mailport;

/** One problem or note of a connection check, with what to do about it. */
final class Finding
{
    public function __construct(
        /** A stable identifier, e.g. "port_refused", "certificate_expired" (docs/report-schema.md). */
        public readonly string $code,
        public readonly string $message,
        public readonly string $hint,
        /** The port it is about, or null for the host (e.g. "dns_failed"). */
        public readonly ?int $port,
        /** "info", "warning" or "error". */
        public readonly ?string $severity,
    ) {
    }
}

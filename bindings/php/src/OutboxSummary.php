<?php

declare(strict_types=1);

namespace Mailport;

/**
 * What Outbox::run() did (C: `mailport_outbox_summary`, read at once and freed): how many
 * entries ended sent, deferred, failed or held, how many went out over a backup connection,
 * and every event of the run in order, so no callback is needed to learn of them.
 */
final class OutboxSummary
{
    /**
     * @param list<OutboxEvent> $events
     */
    public function __construct(
        public readonly int $sent,
        public readonly int $deferred,
        public readonly int $failed,
        public readonly int $held,
        public readonly int $viaBackup,
        public readonly array $events,
        /** The summary as JSON: {"sent", "deferred", "failed", "held", "via_backup", "events": [...]}. */
        public readonly string $json,
    ) {
    }

    /**
     * Read a C summary and free it.
     *
     * @internal
     */
    public static function take(\FFI\CData $s): self
    {
        try {
            $json = (string) Native::invoke('mailport_outbox_summary_json', $s);
            $data = $json === '' ? [] : json_decode($json, true, 512, JSON_THROW_ON_ERROR);
            $events = [];
            foreach ($data['events'] ?? [] as $event) {
                $parsed = OutboxEvent::fromArray($event);
                if ($parsed !== null) {
                    $events[] = $parsed;
                }
            }
            return new self(
                (int) Native::invoke('mailport_outbox_summary_sent', $s),
                (int) Native::invoke('mailport_outbox_summary_deferred', $s),
                (int) Native::invoke('mailport_outbox_summary_failed', $s),
                (int) Native::invoke('mailport_outbox_summary_held', $s),
                (int) Native::invoke('mailport_outbox_summary_via_backup', $s),
                $events,
                $json,
            );
        } finally {
            Native::invoke('mailport_outbox_summary_free', $s);
        }
    }
}

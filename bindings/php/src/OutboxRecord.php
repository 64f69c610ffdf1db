<?php

declare(strict_types=1);

namespace Mailport;

/**
 * Everything the outbox knows about one entry, as of when it was read (C:
 * `mailport_outbox_record`, read at once and freed). Times are Unix seconds.
 */
final class OutboxRecord
{
    /**
     * @param list<OutboxRecipient> $recipients
     * @param list<OutboxAttempt>   $attempts
     * @param array<string, mixed>  $data
     */
    public function __construct(
        public readonly string $id,
        public readonly OutboxState $state,
        /** When it was enqueued. */
        public readonly int $created,
        /** When the next attempt is due (queued and deferred entries). */
        public readonly int $due,
        /** The Message-ID every attempt sends, fixed at enqueue; null for a raw message. */
        public readonly ?string $messageId,
        public readonly string $envelopeFrom,
        /** The message's size in bytes. */
        public readonly int $size,
        /** How many times it was deferred. */
        public readonly int $retries,
        /** Why it is failed, held, deferred or cancelled, or null. */
        public readonly ?string $reason,
        /** An attempt lost the server's answer after the whole message went out: it may have been delivered. */
        public readonly bool $maybeDelivered,
        /** The index of the connection that delivered it (0 the primary), or null. */
        public readonly ?int $deliveredBy,
        public readonly array $recipients,
        public readonly array $attempts,
        /** The record as the JSON document the spool keeps (docs/outbox.md). */
        public readonly string $json,
        /** That document decoded into arrays. */
        public readonly array $data,
    ) {
    }

    /**
     * Read a C record (owned, or lent by a list). $json: its document, when the caller has it.
     *
     * @internal
     */
    public static function fromHandle(\FFI\CData $r, ?string $json = null): self
    {
        $orNull = static fn (string $s): ?string => $s === '' ? null : $s;
        $recipients = [];
        $n = (int) Native::invoke('mailport_outbox_record_recipient_count', $r);
        for ($i = 0; $i < $n; $i++) {
            $recipients[] = new OutboxRecipient(
                (string) Native::invoke('mailport_outbox_record_recipient_address', $r, $i),
                (string) Native::invoke('mailport_outbox_record_recipient_state', $r, $i),
                $orNull((string) Native::invoke('mailport_outbox_record_recipient_reply', $r, $i)),
            );
        }
        $attempts = [];
        $n = (int) Native::invoke('mailport_outbox_record_attempt_count', $r);
        for ($i = 0; $i < $n; $i++) {
            $code = (int) Native::invoke('mailport_outbox_record_attempt_reply_code', $r, $i);
            $attempts[] = new OutboxAttempt(
                (int) Native::invoke('mailport_outbox_record_attempt_at', $r, $i),
                (int) Native::invoke('mailport_outbox_record_attempt_connection', $r, $i),
                (string) Native::invoke('mailport_outbox_record_attempt_server', $r, $i),
                (string) Native::invoke('mailport_outbox_record_attempt_outcome', $r, $i),
                $orNull((string) Native::invoke('mailport_outbox_record_attempt_kind', $r, $i)),
                (string) Native::invoke('mailport_outbox_record_attempt_message', $r, $i),
                $code === 0 ? null : $code,
                $orNull((string) Native::invoke('mailport_outbox_record_attempt_enhanced_status', $r, $i)),
                $orNull((string) Native::invoke('mailport_outbox_record_attempt_queue_id', $r, $i)),
                $orNull((string) Native::invoke('mailport_outbox_record_attempt_transcript', $r, $i)),
            );
        }
        $json ??= (string) Native::invoke('mailport_outbox_record_json', $r);
        $deliveredBy = (int) Native::invoke('mailport_outbox_record_delivered_by', $r);
        return new self(
            (string) Native::invoke('mailport_outbox_record_id', $r),
            OutboxState::fromCode((int) Native::invoke('mailport_outbox_record_state', $r)),
            (int) Native::invoke('mailport_outbox_record_created', $r),
            (int) Native::invoke('mailport_outbox_record_due', $r),
            $orNull((string) Native::invoke('mailport_outbox_record_message_id', $r)),
            (string) Native::invoke('mailport_outbox_record_envelope_from', $r),
            (int) Native::invoke('mailport_outbox_record_size', $r),
            (int) Native::invoke('mailport_outbox_record_retries', $r),
            $orNull((string) Native::invoke('mailport_outbox_record_reason', $r)),
            (bool) Native::invoke('mailport_outbox_record_maybe_delivered', $r),
            $deliveredBy < 0 ? null : $deliveredBy,
            $recipients,
            $attempts,
            $json,
            $json === '' ? [] : json_decode($json, true, 512, JSON_THROW_ON_ERROR),
        );
    }

    /**
     * Read a C record the caller owns, and free it.
     *
     * @internal
     */
    public static function take(\FFI\CData $r): self
    {
        try {
            return self::fromHandle($r);
        } finally {
            Native::invoke('mailport_outbox_record_free', $r);
        }
    }

    /**
     * Read a C list of records and free it (each record's document comes from the list's JSON).
     *
     * @internal
     * @return list<self>
     */
    public static function takeList(\FFI\CData $list): array
    {
        try {
            $json = (string) Native::invoke('mailport_outbox_records_json', $list);
            $documents = $json === '' ? [] : json_decode($json, true, 512, JSON_THROW_ON_ERROR);
            $records = [];
            $n = (int) Native::invoke('mailport_outbox_records_count', $list);
            for ($i = 0; $i < $n; $i++) {
                $document = json_encode($documents[$i], JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
                $records[] = self::fromHandle(Native::invoke('mailport_outbox_records_record', $list, $i), $document);
            }
            return $records;
        } finally {
            Native::invoke('mailport_outbox_records_free', $list);
        }
    }

    /**
     * The recipients the next attempt sends to.
     *
     * @return list<string>
     */
    public function pending(): array
    {
        $pending = [];
        foreach ($this->recipients as $recipient) {
            if ($recipient->state === 'pending') {
                $pending[] = $recipient->address;
            }
        }
        return $pending;
    }
}

<?php

declare(strict_types=1);

namespace Mailport;

/**
 * What the server said when it accepted a message. Read from the C receipt when the send
 * returned; the C object is freed at once.
 */
final class Receipt
{
    /**
     * @param list<string>            $accepted
     * @param list<RejectedRecipient> $rejected
     */
    public function __construct(
        /** The code of the server's final reply (usually 250). */
        public readonly int $replyCode,
        /** Its enhanced status code ("2.0.0"), or "". */
        public readonly string $enhancedStatus,
        /** Its text, verbatim; usually carries the queue id ("Ok: queued as 4Fx2Q"). */
        public readonly string $serverReply,
        /** The recipients the server accepted, in the order given. */
        public readonly array $accepted,
        /** The recipients it refused (only with Config::setAllowPartialRecipients(true)). */
        public readonly array $rejected,
        /** The TCP port used (the one chosen when the port is "auto"). */
        public readonly int $port,
        /** The security in effect: never AUTO; OPPORTUNISTIC means STARTTLS was offered and used. */
        public readonly Security $security,
        /** "TLSv1.3", or null when the connection was not encrypted. */
        public readonly ?string $tlsVersion,
        /** The cipher suite, or null when the connection was not encrypted. */
        public readonly ?string $tlsCipher,
        /** The size of the message in bytes, as submitted. */
        public readonly int $size,
        /** The Message-ID sent ("<...@example.org>"), or null for sendRaw(). */
        public readonly ?string $messageId,
        /** Whether the TLS session was resumed from an earlier connection. */
        public readonly bool $tlsResumed = false,
    ) {
    }

    /**
     * Read a C receipt and free it.
     *
     * @internal
     */
    public static function fromHandle(\FFI\CData $r): self
    {
        try {
            $accepted = [];
            $n = (int) Native::invoke('mailport_receipt_accepted_count', $r);
            for ($i = 0; $i < $n; $i++) {
                $accepted[] = (string) Native::invoke('mailport_receipt_accepted', $r, $i);
            }
            $rejected = [];
            $n = (int) Native::invoke('mailport_receipt_rejected_count', $r);
            for ($i = 0; $i < $n; $i++) {
                $rejected[] = new RejectedRecipient(
                    (string) Native::invoke('mailport_receipt_rejected_address', $r, $i),
                    (int) Native::invoke('mailport_receipt_rejected_reply_code', $r, $i),
                    (string) Native::invoke('mailport_receipt_rejected_reply', $r, $i),
                );
            }
            $orNull = static fn (string $s): ?string => $s === '' ? null : $s;
            return new self(
                (int) Native::invoke('mailport_receipt_reply_code', $r),
                (string) Native::invoke('mailport_receipt_enhanced_status', $r),
                (string) Native::invoke('mailport_receipt_server_reply', $r),
                $accepted,
                $rejected,
                (int) Native::invoke('mailport_receipt_port', $r),
                Security::fromCode((int) Native::invoke('mailport_receipt_security', $r)),
                $orNull((string) Native::invoke('mailport_receipt_tls_version', $r)),
                $orNull((string) Native::invoke('mailport_receipt_tls_cipher', $r)),
                (int) Native::invoke('mailport_receipt_size', $r),
                $orNull((string) Native::invoke('mailport_receipt_message_id', $r)),
                (bool) Native::invoke('mailport_receipt_tls_resumed', $r),
            );
        } finally {
            Native::invoke('mailport_receipt_free', $r);
        }
    }
}

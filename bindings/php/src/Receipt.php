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
     * Direct FFI calls rather than Native::invoke(): this runs once per message sent, and the
     * wrapper's variadic call cost more than the fourteen foreign calls themselves. Eager, not
     * lazy: a Receipt is a plain value object that var_export(), json_encode(), (array),
     * get_object_vars() and == see whole, and none of them would run a lazy initialiser.
     *
     * @internal
     */
    public static function fromHandle(\FFI\CData $r): self
    {
        $ffi = Native::ffi();
        try {
            $accepted = [];
            $n = $ffi->mailport_receipt_accepted_count($r);
            for ($i = 0; $i < $n; $i++) {
                $accepted[] = (string) $ffi->mailport_receipt_accepted($r, $i);
            }
            $rejected = [];
            $n = $ffi->mailport_receipt_rejected_count($r);
            for ($i = 0; $i < $n; $i++) {
                $rejected[] = new RejectedRecipient(
                    (string) $ffi->mailport_receipt_rejected_address($r, $i),
                    (int) $ffi->mailport_receipt_rejected_reply_code($r, $i),
                    (string) $ffi->mailport_receipt_rejected_reply($r, $i),
                );
            }
            $tlsVersion = (string) $ffi->mailport_receipt_tls_version($r);
            $tlsCipher = (string) $ffi->mailport_receipt_tls_cipher($r);
            $messageId = (string) $ffi->mailport_receipt_message_id($r);
            return new self(
                (int) $ffi->mailport_receipt_reply_code($r),
                (string) $ffi->mailport_receipt_enhanced_status($r),
                (string) $ffi->mailport_receipt_server_reply($r),
                $accepted,
                $rejected,
                (int) $ffi->mailport_receipt_port($r),
                Security::fromCode((int) $ffi->mailport_receipt_security($r)),
                $tlsVersion === '' ? null : $tlsVersion,
                $tlsCipher === '' ? null : $tlsCipher,
                (int) $ffi->mailport_receipt_size($r),
                $messageId === '' ? null : $messageId,
                (bool) $ffi->mailport_receipt_tls_resumed($r),
            );
        } finally {
            $ffi->mailport_receipt_free($r);
        }
    }
}

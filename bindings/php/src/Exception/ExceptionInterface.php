<?php

declare(strict_types=1);

namespace Mailport\Exception;

use Mailport\InvalidAddress;
use Mailport\RejectedRecipient;

/**
 * Implemented by every exception the binding throws, so `catch (ExceptionInterface $e)` catches
 * them all. It carries what the C error object (`mailport_error`) says; the values were copied
 * when the exception was made and the C object was freed at once.
 *
 * getCode() is the mailport result code (an {@see \Mailport\ErrorCode} constant).
 */
interface ExceptionInterface extends \Throwable
{
    /** The result code's name, e.g. "MAILPORT_ERR_AUTH_FAILED". */
    public function getName(): string;

    /** What went wrong, in one line, without the hint (getMessage() adds the hint). */
    public function getErrorMessage(): string;

    /** The next step in plain words, or "". */
    public function getHint(): string;

    /** The SMTP reply code that caused the error (e.g. 535), or 0 when no reply did. */
    public function getReplyCode(): int;

    /** The enhanced status code of the server's reply (e.g. "5.7.8"), or "". */
    public function getEnhancedStatus(): string;

    /** The server's reply text, verbatim (lines joined by "\n"), or "". */
    public function getServerReply(): string;

    /** Whether retrying later, unchanged, may succeed (a 4xx reply, a timeout, a dropped connection). */
    public function isTransient(): bool;

    /**
     * Whether the whole message went out and the connection failed before the server's answer
     * (a timeout or a dropped connection while waiting for it): the server may have accepted it,
     * and sending it again may deliver it twice. Check whether it arrived before resending.
     */
    public function isOutcomeUnknown(): bool;

    /** The redacted session transcript up to the failure ("C: ...", "S: ...", "* ..."), or "". */
    public function getTranscript(): string;

    /**
     * The recipients the server refused, each with its reply (for RecipientsRejectedException).
     *
     * @return list<RejectedRecipient>
     */
    public function getRejected(): array;

    /**
     * Every address that could not be used, with its field and why (for InvalidAddressException).
     *
     * @return list<InvalidAddress>
     */
    public function getInvalidAddresses(): array;

    /** Everything above as one value. */
    public function getInfo(): ErrorInfo;
}

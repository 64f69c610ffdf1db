<?php

declare(strict_types=1);

namespace Mailport\Exception;

use Mailport\ErrorCode;
use Mailport\InvalidAddress;
use Mailport\RejectedRecipient;

/**
 * The contents of a C error object (`mailport_error`), copied into PHP values.
 */
final class ErrorInfo
{
    /**
     * @param list<RejectedRecipient> $rejected
     * @param list<InvalidAddress> $invalidAddresses
     */
    public function __construct(
        public readonly int $code,
        public readonly string $message,
        public readonly string $hint = '',
        public readonly int $replyCode = 0,
        public readonly string $enhancedStatus = '',
        public readonly string $serverReply = '',
        public readonly bool $transient = false,
        public readonly string $transcript = '',
        public readonly array $rejected = [],
        public readonly array $invalidAddresses = [],
        /** The whole message went out and the server's answer was lost: it may have been delivered. */
        public readonly bool $outcomeUnknown = false,
    ) {
    }

    /** The code's C name, e.g. "MAILPORT_ERR_AUTH_FAILED". */
    public function name(): string
    {
        return ErrorCode::name($this->code);
    }

    /** The message followed by the hint, as getMessage() shows it. */
    public function fullMessage(): string
    {
        return $this->hint === '' ? $this->message : $this->message . "\nhint: " . $this->hint;
    }
}

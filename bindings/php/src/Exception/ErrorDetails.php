<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The accessors of {@see ExceptionInterface}, shared by the exception classes (which cannot share
 * a parent: argument errors extend \InvalidArgumentException, the others \RuntimeException).
 *
 * @internal
 */
trait ErrorDetails
{
    private ErrorInfo $info;

    public function __construct(ErrorInfo $info, ?\Throwable $previous = null)
    {
        $this->info = $info;
        parent::__construct($info->fullMessage(), $info->code, $previous);
    }

    public function getInfo(): ErrorInfo
    {
        return $this->info;
    }

    public function getName(): string
    {
        return $this->info->name();
    }

    public function getErrorMessage(): string
    {
        return $this->info->message;
    }

    public function getHint(): string
    {
        return $this->info->hint;
    }

    public function getReplyCode(): int
    {
        return $this->info->replyCode;
    }

    public function getEnhancedStatus(): string
    {
        return $this->info->enhancedStatus;
    }

    public function getServerReply(): string
    {
        return $this->info->serverReply;
    }

    public function isTransient(): bool
    {
        return $this->info->transient;
    }

    public function isOutcomeUnknown(): bool
    {
        return $this->info->outcomeUnknown;
    }

    public function getTranscript(): string
    {
        return $this->info->transcript;
    }

    public function getRejected(): array
    {
        return $this->info->rejected;
    }

    public function getInvalidAddresses(): array
    {
        return $this->info->invalidAddresses;
    }
}

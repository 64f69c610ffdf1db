<?php

declare(strict_types=1);

namespace Mailport\Exception;

use Mailport\ErrorCode;

/**
 * A handle object was used wrongly: used after close(), cloned, or serialized. These objects own
 * a C object that is not reference-counted, so they cannot be copied; Message::copy() makes an
 * independent message. A programming error, hence a \LogicException. getCode() is
 * MAILPORT_ERR_INVALID_STATE.
 */
final class HandleException extends \LogicException implements ExceptionInterface
{
    use ErrorDetails;

    public static function closed(string $class): self
    {
        return new self(new ErrorInfo(
            ErrorCode::INVALID_STATE,
            "this $class is closed",
            "make a new $class; close() frees its C object for good",
        ));
    }

    public static function cloned(string $class): self
    {
        return new self(new ErrorInfo(
            ErrorCode::INVALID_STATE,
            "a $class cannot be cloned: it owns a C object that is not reference-counted",
            $class === 'Mailport\\Message'
                ? 'use $message->copy() for an independent copy'
                : "make a new $class, or pass the same object around",
        ));
    }

    public static function serialized(string $class): self
    {
        return new self(new ErrorInfo(
            ErrorCode::INVALID_STATE,
            "a $class cannot be serialized: it owns a C object",
        ));
    }
}

<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * libmailport could not be used from PHP: the FFI extension is missing or disabled
 * (`ffi.enable`), the library or its header was not found, or the library's ABI differs from the
 * one this binding was written for. The message says exactly what to change. getCode() is 0:
 * this is not a mailport result code.
 */
final class LibraryException extends MailportException
{
    public static function because(string $message, string $hint = ''): self
    {
        return new self(new ErrorInfo(0, $message, $hint));
    }

    public function getName(): string
    {
        return 'MAILPORT_LIBRARY_UNAVAILABLE';
    }
}

<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * A bug in mailport was caught before it could reach PHP (MAILPORT_ERR_PANIC), or the binding misused the C API (MAILPORT_ERR_BUFFER_TOO_SMALL). Please report it with the message.
 */
class InternalException extends MailportException
{
}

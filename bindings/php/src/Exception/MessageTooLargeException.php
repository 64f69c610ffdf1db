<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The message is larger than the server's SIZE limit (MAILPORT_ERR_MESSAGE_TOO_LARGE).
 */
class MessageTooLargeException extends SmtpException
{
}

<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The client is unusable after an internal error (MAILPORT_ERR_INVALID_STATE): close it and make a new one.
 */
class InvalidStateException extends MailportException
{
}

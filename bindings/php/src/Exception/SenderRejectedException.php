<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The server refused the envelope sender, MAIL FROM (MAILPORT_ERR_MAIL_FROM), often because the account may not send as that address.
 */
class SenderRejectedException extends SmtpException
{
}

<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The server refused one or more recipients (MAILPORT_ERR_RECIPIENTS_REJECTED); getRejected() lists each with its reply. Nothing was sent unless partial delivery was allowed.
 */
class RecipientsRejectedException extends SmtpException
{
}

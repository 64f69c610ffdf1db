<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The server refused a step of the session or broke the protocol (MAILPORT_ERR_GREETING, _EHLO, _DATA, _PROTOCOL); see getServerReply(). The parent of the sender, recipient and size refusals.
 */
class SmtpException extends MailportException
{
}

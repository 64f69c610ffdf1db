<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * An attachment file is missing or unreadable, or it changed while being sent (MAILPORT_ERR_ATTACHMENT); nothing was delivered. The message names the path.
 */
class AttachmentException extends MailportException
{
}

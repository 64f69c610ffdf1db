<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The credentials were refused (MAILPORT_ERR_AUTH_FAILED, typically reply 535) or cannot be used on this connection (MAILPORT_ERR_AUTH_UNAVAILABLE).
 */
class AuthenticationException extends MailportException
{
}

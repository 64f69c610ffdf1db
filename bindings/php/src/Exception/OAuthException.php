<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The OAuth 2.0 sign-in failed before the server was asked: the token endpoint or the
 * caller's token callback (MAILPORT_ERR_OAUTH_*, codes 120-125). The subclasses say which;
 * getHint() says what to do. Tokens, refresh tokens and secrets are never in the message.
 */
class OAuthException extends MailportException
{
}

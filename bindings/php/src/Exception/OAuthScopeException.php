<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The token lacks the scope SMTP needs, or the endpoint refused the scope asked for
 * (invalid_scope, MAILPORT_ERR_OAUTH_SCOPE).
 */
class OAuthScopeException extends OAuthException
{
}

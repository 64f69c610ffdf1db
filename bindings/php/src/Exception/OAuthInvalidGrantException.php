<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The token endpoint refused the refresh token (invalid_grant, MAILPORT_ERR_OAUTH_INVALID_GRANT):
 * it expired (unused too long) or was revoked. The user must consent again; retrying unchanged
 * never helps.
 */
class OAuthInvalidGrantException extends OAuthException
{
}

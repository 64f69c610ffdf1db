<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The oauthTokenCallback failed: it threw, returned no token, or returned something that is not
 * a string or [token, expiresIn] (MAILPORT_ERR_OAUTH_CALLBACK).
 */
class OAuthCallbackException extends OAuthException
{
}

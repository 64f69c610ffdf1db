<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The token endpoint refused the client id or secret (invalid_client,
 * MAILPORT_ERR_OAUTH_INVALID_CLIENT): check oauthClientId and oauthClientSecret.
 */
class OAuthInvalidClientException extends OAuthException
{
}

<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The token endpoint refused otherwise, or answered something that is not a token
 * (MAILPORT_ERR_OAUTH_ENDPOINT).
 */
class OAuthEndpointException extends OAuthException
{
}

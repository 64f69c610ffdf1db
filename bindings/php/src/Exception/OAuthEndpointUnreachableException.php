<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The token endpoint could not be reached or failed (connect, TLS, timeout, HTTP 5xx or 429;
 * MAILPORT_ERR_OAUTH_ENDPOINT_UNREACHABLE). Transient: retrying later may work.
 */
class OAuthEndpointUnreachableException extends OAuthException
{
}

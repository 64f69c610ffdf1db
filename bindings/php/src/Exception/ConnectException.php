<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * No connection could be made: DNS failure, connection refused, network unreachable, or the connect timed out (a filtered port; MAILPORT_ERR_DNS, _CONNECT_REFUSED, _CONNECT_UNREACHABLE, _CONNECT_TIMEOUT).
 */
class ConnectException extends NetworkException
{
}

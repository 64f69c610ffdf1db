<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The server stopped answering during the session (MAILPORT_ERR_TIMEOUT). A connect that times out is a ConnectException.
 */
class ServerTimeoutException extends NetworkException
{
}

<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The network failed during the session: the server closed the connection (MAILPORT_ERR_CONNECTION_CLOSED) or another I/O error (MAILPORT_ERR_IO). Usually transient. The parent of ConnectException and ServerTimeoutException.
 */
class NetworkException extends MailportException
{
}

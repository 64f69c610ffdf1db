<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The base of every runtime failure: network, TLS, authentication, the server's replies,
 * attachments, loading the library. Argument errors are {@see InvalidArgumentException}
 * (a \InvalidArgumentException); catch {@see ExceptionInterface} for both.
 */
class MailportException extends \RuntimeException implements ExceptionInterface
{
    use ErrorDetails;
}

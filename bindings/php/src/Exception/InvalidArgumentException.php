<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * An argument was refused (MAILPORT_ERR_NULL_ARGUMENT, MAILPORT_ERR_INVALID_ARGUMENT): a line
 * break in a header, a bad URL, a NUL byte in a string, an unknown security mode. The message
 * names the parameter. Retrying unchanged fails again.
 */
class InvalidArgumentException extends \InvalidArgumentException implements ExceptionInterface
{
    use ErrorDetails;
}

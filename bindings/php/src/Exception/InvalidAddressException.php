<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * An address could not be parsed or used (MAILPORT_ERR_INVALID_ADDRESS); getInvalidAddresses() lists each one with its field ("To", "Cc", ...) and the reason.
 */
class InvalidAddressException extends InvalidArgumentException
{
}

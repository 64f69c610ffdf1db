<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * The server's certificate was refused: untrusted issuer, expired or not yet valid, or issued for another name (MAILPORT_ERR_CERT_UNTRUSTED, _CERT_EXPIRED, _CERT_NAME_MISMATCH).
 */
class CertificateException extends TlsException
{
}

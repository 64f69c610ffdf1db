<?php

declare(strict_types=1);

namespace Mailport\Exception;

/**
 * No encrypted channel: the TLS handshake failed, the port speaks the other TLS mode, or STARTTLS is missing or failed (MAILPORT_ERR_TLS_HANDSHAKE, _PLAINTEXT_ON_TLS_PORT, _TLS_ON_PLAINTEXT_PORT, _STARTTLS_UNAVAILABLE, _STARTTLS). The parent of CertificateException.
 */
class TlsException extends MailportException
{
}

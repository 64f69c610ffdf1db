<?php

declare(strict_types=1);

namespace Mailport\Exception;

use Mailport\ErrorCode;

/**
 * Turns a C error into the exception class of its kind.
 *
 * @internal
 */
final class ExceptionFactory
{
    /** The one code → class table. Codes not listed become a plain MailportException. */
    public const CLASSES = [
        ErrorCode::NULL_ARGUMENT => InvalidArgumentException::class,
        ErrorCode::INVALID_ARGUMENT => InvalidArgumentException::class,
        ErrorCode::BUFFER_TOO_SMALL => InternalException::class,
        ErrorCode::INVALID_STATE => InvalidStateException::class,
        ErrorCode::DNS => ConnectException::class,
        ErrorCode::CONNECT_REFUSED => ConnectException::class,
        ErrorCode::CONNECT_UNREACHABLE => ConnectException::class,
        ErrorCode::CONNECT_TIMEOUT => ConnectException::class,
        ErrorCode::TIMEOUT => ServerTimeoutException::class,
        ErrorCode::CONNECTION_CLOSED => NetworkException::class,
        ErrorCode::IO => NetworkException::class,
        ErrorCode::TLS_HANDSHAKE => TlsException::class,
        ErrorCode::CERT_UNTRUSTED => CertificateException::class,
        ErrorCode::CERT_EXPIRED => CertificateException::class,
        ErrorCode::CERT_NAME_MISMATCH => CertificateException::class,
        ErrorCode::PLAINTEXT_ON_TLS_PORT => TlsException::class,
        ErrorCode::TLS_ON_PLAINTEXT_PORT => TlsException::class,
        ErrorCode::STARTTLS_UNAVAILABLE => TlsException::class,
        ErrorCode::STARTTLS => TlsException::class,
        ErrorCode::AUTH_UNAVAILABLE => AuthenticationException::class,
        ErrorCode::AUTH_FAILED => AuthenticationException::class,
        ErrorCode::GREETING => SmtpException::class,
        ErrorCode::EHLO => SmtpException::class,
        ErrorCode::MAIL_FROM => SenderRejectedException::class,
        ErrorCode::RECIPIENTS_REJECTED => RecipientsRejectedException::class,
        ErrorCode::DATA => SmtpException::class,
        ErrorCode::MESSAGE_TOO_LARGE => MessageTooLargeException::class,
        ErrorCode::PROTOCOL => SmtpException::class,
        ErrorCode::INVALID_ADDRESS => InvalidAddressException::class,
        ErrorCode::ATTACHMENT => AttachmentException::class,
        ErrorCode::OAUTH_INVALID_GRANT => OAuthInvalidGrantException::class,
        ErrorCode::OAUTH_INVALID_CLIENT => OAuthInvalidClientException::class,
        ErrorCode::OAUTH_ENDPOINT_UNREACHABLE => OAuthEndpointUnreachableException::class,
        ErrorCode::OAUTH_SCOPE => OAuthScopeException::class,
        ErrorCode::OAUTH_ENDPOINT => OAuthEndpointException::class,
        ErrorCode::OAUTH_CALLBACK => OAuthCallbackException::class,
        ErrorCode::PANIC => InternalException::class,
    ];

    /** @return class-string<ExceptionInterface> */
    public static function classFor(int $code): string
    {
        return self::CLASSES[$code] ?? MailportException::class;
    }

    public static function create(ErrorInfo $info): ExceptionInterface
    {
        $class = self::classFor($info->code);
        return new $class($info);
    }

    /** An argument error found by the binding itself (a NUL byte, a negative number). */
    public static function argument(string $message): InvalidArgumentException
    {
        return new InvalidArgumentException(new ErrorInfo(ErrorCode::INVALID_ARGUMENT, $message));
    }
}

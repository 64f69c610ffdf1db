<?php

declare(strict_types=1);

namespace Mailport;

/**
 * An SMTP client (C: `mailport_client`): one configuration, one reusable session. No network
 * I/O happens until the first send; the session then stays open between messages and is
 * reopened when the server dropped it. close() (or the destructor) says QUIT and frees it.
 *
 *     $client = new Client(new Config(host: 'smtp.example.com', username: 'me', password: $secret));
 *     $receipt = $client->send($message);
 *
 * Failures throw exceptions by kind (Mailport\Exception\*), carrying the server's reply, a hint
 * and the redacted transcript. Use one client per request or worker; it is not shared.
 */
final class Client extends Handle
{
    private Config $config;

    /** Make a client from a copy of $config (checked here, CA files read); no I/O yet. */
    public function __construct(Config $config)
    {
        $this->adopt(Native::callOut('mailport_client_new', 'mailport_client', $config->handle()));
        $this->config = $config;
    }

    /** A client for a URL (see Config::fromUrl), with the same named options as Config. */
    public static function fromUrl(
        #[\SensitiveParameter] string $url,
        #[\SensitiveParameter] ?string $password = null,
        #[\SensitiveParameter] ?string $oauth2Token = null,
        #[\SensitiveParameter] ?string $oauthClientSecret = null,
        #[\SensitiveParameter] ?string $oauthRefreshToken = null,
        #[\SensitiveParameter] mixed ...$options,
    ): self {
        return new self(Config::fromUrl($url, $password, $oauth2Token, $oauthClientSecret, $oauthRefreshToken, ...$options));
    }

    protected static function freeFunction(): string
    {
        return 'mailport_client_free';
    }

    /**
     * Send a message. Returns only after the server's final 2xx: the message is then the server's.
     * Bcc recipients get it but appear in no header.
     */
    public function send(Message $message): Receipt
    {
        return Receipt::fromHandle(Native::send($this->handle(), $message->handle()));
    }

    /**
     * Send a message you formatted yourself (headers, blank line, body) to an explicit envelope.
     *
     * @param string|list<string> $recipients bare addresses (RCPT TO), Bcc included
     */
    public function sendRaw(string $from, string|array $recipients, string $data): Receipt
    {
        return Receipt::fromHandle(Native::sendRaw($this->handle(), $from, (array) $recipients, $data));
    }

    /** Check that the server answers (NOOP), connecting first if needed. */
    public function noop(): void
    {
        Native::call('mailport_client_noop', $this->handle());
    }

    /** Abort a transaction in progress (RSET) on an open connection. */
    public function reset(): void
    {
        Native::call('mailport_client_reset', $this->handle());
    }

    /** Say QUIT and close the connection; the client stays usable (a later send reconnects). */
    public function quit(): void
    {
        Native::call('mailport_client_close', $this->handle());
    }

    /** The redacted transcript of recent sessions ("C: ...", "S: ...", "* ..." lines; ~64 KiB). */
    public function transcript(): string
    {
        return Native::transcript($this->handle());
    }

    /** The TCP port in use; with port "auto", the one chosen on first use (0 before). */
    public function port(): int
    {
        return (int) Native::invoke('mailport_client_port', $this->handle());
    }

    /**
     * Check the server of the Config this client was made from, as that Config is now (the C API
     * copies a config into a client and cannot hand the copy back). See Mailport::probe().
     *
     * @param list<int>|null $ports
     */
    public function probe(
        ?array $ports = null,
        ?int $deadlineMs = null,
        ?int $greetingWaitMs = null,
        bool $skipAuth = false,
        bool $allowRelay = false,
        ?string $envelopeFrom = null,
        ?string $envelopeTo = null,
    ): Report {
        $this->handle();
        return Mailport::probe($this->config, $ports, $deadlineMs, $greetingWaitMs, $skipAuth, $allowRelay, $envelopeFrom, $envelopeTo);
    }
}

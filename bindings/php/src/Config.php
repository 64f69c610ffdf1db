<?php

declare(strict_types=1);

namespace Mailport;

use Mailport\Exception\ExceptionFactory;

/**
 * Everything a client needs to know: server, security, credentials, trust, timeouts
 * (C: `mailport_config`). Safe defaults: port 587, STARTTLS required, certificates verified
 * against the system's trust store (Mozilla's roots where it has none), credentials never sent
 * over plaintext.
 *
 *     $config = new Config(host: 'smtp.example.com', username: 'me@example.com', password: $secret);
 *     $config = Config::fromUrl('smtps://me%40example.com:secret@smtp.example.com');
 *
 * Each constructor argument calls the setter of the same name; setters return $this. A Client
 * copies the config when it is made, so changing it afterwards does not affect that client.
 * There is no log callback (PHP callbacks across FFI leak and are slow): read
 * Client::transcript() or the exception's getTranscript() instead.
 *
 * OAuth 2.0 (Gmail, Microsoft 365): a refresh token the library exchanges for access tokens
 * itself, cached in the process and refreshed shortly before they expire:
 *
 *     $config = new Config(host: 'smtp.office365.com', username: 'me@example.com',
 *         oauthProvider: 'microsoft', oauthTenant: $tenant, oauthClientId: $id,
 *         oauthClientSecret: $secret, oauthRefreshToken: $stored,
 *         oauthRotationCallback: fn (string $user, string $new) => save_encrypted($new));
 *
 * or a callable that returns a token (oauthTokenCallback), or a fixed one (oauth2Token). The two
 * callbacks are the only PHP code the library calls: each runs inside the send (or check) that
 * needs it, in the same request, and the config (and the Client or Outbox made from it) keeps
 * them alive.
 */
final class Config extends Handle
{
    /** @var array<string, \Closure> the FFI callbacks handed to the library, kept alive with the config */
    private array $callbacks = [];

    /** The C enum mailport_oauth_provider. */
    private const PROVIDERS = ['google' => 1, 'microsoft' => 2, 'custom' => 3];

    /**
     * @param int|string|null          $port     1-65535, or "auto" (try 587, 465, 2525 and keep what works)
     * @param string|list<string>|null $caFile   PEM file(s) of private CAs to trust as well
     *
     * Timeouts default to connect 10 s, command 30 s, data 40 s, send 45 s, so a send made in a
     * web request ends before the web server's own 60 s limit; raise them for batch work.
     */
    public function __construct(
        ?string $host = null,
        int|string|null $port = null,
        Security|string|null $security = null,
        ?string $username = null,
        #[\SensitiveParameter] ?string $password = null,
        #[\SensitiveParameter] ?string $oauth2Token = null,
        ?string $heloName = null,
        ?int $connectTimeoutMs = null,
        ?int $commandTimeoutMs = null,
        ?int $dataTimeoutMs = null,
        ?int $sendTimeoutMs = null,
        string|array|null $caFile = null,
        ?string $caPem = null,
        ?bool $webpkiRoots = null,
        ?bool $systemRoots = null,
        ?string $tlsServerName = null,
        ?bool $allowPartialRecipients = null,
        ?bool $allowRelay = null,
        ?bool $transcriptBodies = null,
        ?bool $persistent = null,
        bool $dangerousAcceptInvalidCerts = false,
        bool $dangerousAllowPlaintextAuth = false,
        ?string $oauthProvider = null,
        ?string $oauthClientId = null,
        #[\SensitiveParameter] ?string $oauthClientSecret = null,
        #[\SensitiveParameter] ?string $oauthRefreshToken = null,
        ?string $oauthTenant = null,
        ?string $oauthTokenUrl = null,
        ?string $oauthScope = null,
        ?callable $oauthRotationCallback = null,
        ?callable $oauthTokenCallback = null,
        ?string $authMechanism = null,
    ) {
        $options = get_defined_vars();
        $pointer = Native::invoke('mailport_config_new');
        if (Native::isNull($pointer)) {
            throw ExceptionFactory::create(new Exception\ErrorInfo(ErrorCode::PANIC, 'mailport_config_new failed'));
        }
        $this->adopt($pointer);
        $this->declarePhp();
        $this->apply($options);
    }

    /** Have the library's hints name settings as this binding spells them (caFile, security: 'tls'). */
    private function declarePhp(): void
    {
        $this->setBinding('php');
    }

    /**
     * Declare whose words the library's hints use to name settings (C:
     * `mailport_config_set_binding`). Every Config starts as "php" (caFile, security: 'tls'); an
     * application whose users never write PHP arguments declares itself instead: "wordpress" (the
     * WordPress plugin) names the fields of Settings > Mailport and the MAILPORT_* constants of
     * wp-config.php (MAILPORT_CA_FILE, Security "TLS from the first byte", "Connect with Google").
     * Any other name than "php", "python", "c" and "wordpress" throws InvalidArgumentException
     * and leaves the config as it was.
     */
    public function setBinding(string $binding): static
    {
        Native::call('mailport_config_set_binding', $this->handle(), Native::str($binding, 'binding'));
        return $this;
    }

    /**
     * A config from a URL: smtp://host[:port] (587, security auto), smtps://host[:port] (465,
     * implicit TLS), smtp+starttls://, smtp+plain://, each with optional user[:password]@
     * (percent-encoded), and the port "auto". Named arguments then set the rest, as in the
     * constructor; a password: without username: is the password of the URL's user.
     *
     * $password, $oauth2Token, $oauthClientSecret and $oauthRefreshToken are parameters of their
     * own: PHP without the GH-20435 fix (8.2, 8.4 before 8.4.16) shows named arguments collected
     * by a variadic in stack traces, even one marked #[\SensitiveParameter].
     */
    public static function fromUrl(
        #[\SensitiveParameter] string $url,
        #[\SensitiveParameter] ?string $password = null,
        #[\SensitiveParameter] ?string $oauth2Token = null,
        #[\SensitiveParameter] ?string $oauthClientSecret = null,
        #[\SensitiveParameter] ?string $oauthRefreshToken = null,
        #[\SensitiveParameter] mixed ...$options,
    ): self {
        $config = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $config->adopt(Native::callOut('mailport_config_from_url', 'mailport_config', Native::str($url, 'url')));
        $config->declarePhp();
        $config->apply([
            'password' => $password,
            'oauth2Token' => $oauth2Token,
            'oauthClientSecret' => $oauthClientSecret,
            'oauthRefreshToken' => $oauthRefreshToken,
            ...$options,
        ]);
        return $config;
    }

    private const SETTERS = [
        'heloName' => 'setHeloName',
        'connectTimeoutMs' => 'setConnectTimeoutMs',
        'commandTimeoutMs' => 'setCommandTimeoutMs',
        'dataTimeoutMs' => 'setDataTimeoutMs',
        'sendTimeoutMs' => 'setSendTimeoutMs',
        'caPem' => 'addCaPem',
        'webpkiRoots' => 'setWebpkiRoots',
        'systemRoots' => 'setSystemRoots',
        'tlsServerName' => 'setTlsServerName',
        'allowPartialRecipients' => 'setAllowPartialRecipients',
        'allowRelay' => 'setAllowRelay',
        'transcriptBodies' => 'setTranscriptBodies',
        'persistent' => 'setPersistent',
        'dangerousAcceptInvalidCerts' => 'dangerousAcceptInvalidCerts',
        'dangerousAllowPlaintextAuth' => 'dangerousAllowPlaintextAuth',
    ];

    /** @param array<int|string, mixed> $options the constructor's (or fromUrl()'s named) arguments */
    private function apply(#[\SensitiveParameter] array $options): void
    {
        $options = array_filter($options, static fn ($v) => $v !== null);
        $known = [...array_keys(self::SETTERS), 'host', 'port', 'security', 'username', 'password', 'oauth2Token', 'caFile', ...self::OAUTH_OPTIONS];
        foreach (array_keys($options) as $name) {
            if (!in_array($name, $known, true)) {
                throw ExceptionFactory::argument(is_int($name)
                    ? 'Config options must be named arguments'
                    : "unknown Config option \"$name\"");
            }
        }
        if (isset($options['host'])) {
            $this->setHost($options['host']);
        }
        if (isset($options['port'])) {
            $this->setPort($options['port']);
        }
        if (isset($options['security'])) {
            $this->setSecurity($options['security']);
        }
        if (isset($options['oauth2Token']) && !isset($options['username'])) {
            throw ExceptionFactory::argument('username is required with oauth2Token');
        }
        $oauth = $this->oauthSource($options);
        if ($oauth !== null) {
            $this->applyOAuth($oauth, $options);
        }
        if (isset($options['authMechanism'])) {
            $this->setAuthMechanism($options['authMechanism']);
        }
        if (isset($options['password']) && !isset($options['username'])) {
            // The password of the user the config already has (fromUrl()'s user@); the library
            // says when there is none.
            $this->setPassword($options['password']);
        }
        if (isset($options['username']) && $oauth === null) {
            if (isset($options['oauth2Token'])) {
                $this->setOAuth2Token($options['username'], $options['oauth2Token']);
            } elseif (isset($options['password'])) {
                $this->setCredentials($options['username'], $options['password']);
            } else {
                // Most often a password read from an environment variable that is not set.
                throw new Exception\InvalidArgumentException(new Exception\ErrorInfo(
                    ErrorCode::INVALID_ARGUMENT,
                    sprintf(
                        'the password is missing (password: null) for username "%s": was the environment variable that should hold it set?',
                        $options['username'],
                    ),
                    'getenv() gives false and $_ENV[...] ?? null gives null for a variable that is not set: set it where PHP runs '
                    . '(under php-fpm, env[NAME] in the pool configuration, or clear_env = no), or pass oauth2Token: instead of a password',
                ));
            }
        }
        foreach (self::SETTERS as $option => $setter) {
            if (isset($options[$option])) {
                $this->$setter($options[$option]);
            }
        }
        foreach ((array) ($options['caFile'] ?? []) as $file) {
            $this->addCaFile($file);
        }
    }

    private const OAUTH_OPTIONS = [
        'oauthProvider', 'oauthClientId', 'oauthClientSecret', 'oauthRefreshToken', 'oauthTenant',
        'oauthTokenUrl', 'oauthScope', 'oauthRotationCallback', 'oauthTokenCallback', 'authMechanism',
    ];

    /**
     * Which token source the named arguments ask for: "refresh" (oauthRefreshToken and its
     * provider and client), "callback" (oauthTokenCallback), or null; mixing them with each other,
     * with a password or with oauth2Token is refused.
     *
     * @param array<string, mixed> $options
     */
    private function oauthSource(#[\SensitiveParameter] array $options): ?string
    {
        $refresh = array_intersect(array_keys($options), ['oauthProvider', 'oauthClientId', 'oauthClientSecret', 'oauthRefreshToken', 'oauthTenant', 'oauthTokenUrl', 'oauthScope', 'oauthRotationCallback']);
        $callback = isset($options['oauthTokenCallback']);
        if ($refresh === [] && !$callback) {
            return null;
        }
        $others = array_values(array_filter(['password', 'oauth2Token'], static fn ($k) => isset($options[$k])));
        if ($refresh !== [] && $callback) {
            $others[] = 'oauthTokenCallback';
        }
        if ($others !== []) {
            throw ExceptionFactory::argument(sprintf(
                'choose one way to sign in: %s cannot be combined with %s',
                $refresh !== [] ? implode(', ', $refresh) : 'oauthTokenCallback',
                implode(' and ', $others),
            ));
        }
        if (!isset($options['username'])) {
            throw ExceptionFactory::argument(sprintf(
                'username is required with %s: the mailbox\'s address, which XOAUTH2 and OAUTHBEARER send with the token',
                $callback ? 'oauthTokenCallback' : 'oauthRefreshToken',
            ));
        }
        return $callback ? 'callback' : 'refresh';
    }

    /** @param array<string, mixed> $options */
    private function applyOAuth(string $source, #[\SensitiveParameter] array $options): void
    {
        if ($source === 'callback') {
            $this->setOAuthTokenCallback($options['username'], $options['oauthTokenCallback']);
            return;
        }
        $missing = array_values(array_filter(['oauthProvider', 'oauthClientId', 'oauthRefreshToken'], static fn ($k) => !isset($options[$k])));
        if ($missing !== []) {
            throw ExceptionFactory::argument(sprintf(
                'the OAuth refresh grant needs %s too (oauthClientSecret is optional: a public client has none)',
                implode(', ', $missing),
            ));
        }
        $this->setOAuthRefresh(
            $options['username'],
            $options['oauthProvider'],
            $options['oauthClientId'],
            $options['oauthClientSecret'] ?? null,
            $options['oauthRefreshToken'],
        );
        if (isset($options['oauthTenant'])) {
            $this->setOAuthTenant($options['oauthTenant']);
        }
        if (isset($options['oauthTokenUrl'])) {
            $this->setOAuthTokenUrl($options['oauthTokenUrl']);
        }
        if (isset($options['oauthScope'])) {
            $this->setOAuthScope($options['oauthScope']);
        }
        if (isset($options['oauthRotationCallback'])) {
            $this->setOAuthRotationCallback($options['oauthRotationCallback']);
        }
    }

    protected static function freeFunction(): string
    {
        return 'mailport_config_free';
    }

    /** The server's host name or IP address (IPv6 without brackets). */
    public function setHost(string $host): static
    {
        Native::call('mailport_config_set_host', $this->handle(), Native::str($host, 'host'));
        return $this;
    }

    /** 1-65535, or "auto" (0): try 587/STARTTLS, 465/TLS and 2525/STARTTLS and keep the first that works. */
    public function setPort(int|string $port): static
    {
        if (is_string($port)) {
            if (strtolower($port) === 'auto') {
                $port = 0;
            } elseif (ctype_digit($port)) {
                $port = (int) $port;
            } else {
                throw ExceptionFactory::argument("port must be a number or \"auto\", got \"$port\"");
            }
        }
        Native::call('mailport_config_set_port', $this->handle(), Native::uint($port, 32, 'port'));
        return $this;
    }

    public function setSecurity(Security|string $security): static
    {
        Native::call('mailport_config_set_security', $this->handle(), Security::of($security)->code());
        return $this;
    }

    /** Log in with AUTH PLAIN or LOGIN; never sent over plaintext, never in transcripts. */
    public function setCredentials(string $username, #[\SensitiveParameter] string $password): static
    {
        Native::call(
            'mailport_config_set_credentials',
            $this->handle(),
            Native::str($username, 'username'),
            Native::str($password, 'password'),
        );
        return $this;
    }

    /**
     * The password of the user name the config already has (from fromUrl()'s user@), so the
     * password need not be written into the URL. Without a user name: InvalidArgumentException.
     */
    public function setPassword(#[\SensitiveParameter] string $password): static
    {
        Native::call('mailport_config_set_password', $this->handle(), Native::str($password, 'password'));
        return $this;
    }

    /** Log in with an OAuth 2.0 bearer token (AUTH XOAUTH2, or OAUTHBEARER where only it is offered). */
    public function setOAuth2Token(string $username, #[\SensitiveParameter] string $token): static
    {
        Native::call(
            'mailport_config_set_oauth2_token',
            $this->handle(),
            Native::str($username, 'username'),
            Native::str($token, 'token'),
        );
        return $this;
    }

    /**
     * Sign in with OAuth 2.0 access tokens got from a refresh token (RFC 6749 §6) at the
     * provider's token endpoint: $provider "google", "microsoft" (setOAuthTenant for a single
     * tenant) or "custom" (setOAuthTokenUrl required). $clientSecret null: a public client. The
     * access token is cached in the process and refreshed shortly before it expires; a token the
     * server refuses is refreshed once and AUTH retried on a new connection.
     */
    public function setOAuthRefresh(
        string $username,
        string $provider,
        string $clientId,
        #[\SensitiveParameter] ?string $clientSecret,
        #[\SensitiveParameter] string $refreshToken,
    ): static {
        $code = self::PROVIDERS[strtolower($provider)] ?? null;
        if ($code === null) {
            throw ExceptionFactory::argument(sprintf(
                'oauthProvider must be "google", "microsoft" or "custom", not "%s"',
                $provider,
            ));
        }
        Native::call(
            'mailport_config_set_oauth_refresh',
            $this->handle(),
            Native::str($username, 'username'),
            $code,
            Native::str($clientId, 'oauthClientId'),
            Native::str($clientSecret, 'oauthClientSecret'),
            Native::str($refreshToken, 'oauthRefreshToken'),
        );
        return $this;
    }

    /** Microsoft's tenant (directory id or domain; default "common"). After setOAuthRefresh(). */
    public function setOAuthTenant(string $tenant): static
    {
        Native::call('mailport_config_set_oauth_tenant', $this->handle(), Native::str($tenant, 'oauthTenant'));
        return $this;
    }

    /** The token endpoint: required for "custom", replaces a preset's (sovereign clouds, tests). After setOAuthRefresh(). */
    public function setOAuthTokenUrl(string $url): static
    {
        Native::call('mailport_config_set_oauth_token_url', $this->handle(), Native::str($url, 'oauthTokenUrl'));
        return $this;
    }

    /** The scope asked for, instead of the preset's (space-separated). After setOAuthRefresh(). */
    public function setOAuthScope(string $scope): static
    {
        Native::call('mailport_config_set_oauth_scope', $this->handle(), Native::str($scope, 'oauthScope'));
        return $this;
    }

    /**
     * Called as $callback(string $username, string $refreshToken) when the token endpoint
     * answers a new refresh token and retires the old one (Microsoft does on every refresh):
     * store it at once, or the next process cannot sign in. null: no callback. It runs inside
     * the send that refreshed; what it throws cannot cross the library, so it is reported as a
     * warning (E_USER_WARNING) and the send's result stands. After setOAuthRefresh().
     *
     * @param (callable(string, string): void)|null $callback
     */
    public function setOAuthRotationCallback(?callable $callback): static
    {
        if ($callback === null) {
            Native::call('mailport_config_set_oauth_rotation_callback', $this->handle(), null, null);
            unset($this->callbacks['rotation']);
            return $this;
        }
        $callback = \Closure::fromCallable($callback);
        $trampoline = static function ($userData, $username, $refreshToken) use ($callback): void {
            try {
                $callback(Native::cString($username), Native::cString($refreshToken));
            } catch (\Throwable $e) {
                // Never thrown through the library's frames; the token itself is not in the text.
                trigger_error(sprintf(
                    'mailport: the oauthRotationCallback threw %s: %s; the new refresh token may not have been stored',
                    get_class($e),
                    $e->getMessage(),
                ), E_USER_WARNING);
            }
        };
        Native::call('mailport_config_set_oauth_rotation_callback', $this->handle(), $trampoline, null);
        $this->callbacks['rotation'] = $trampoline;
        return $this;
    }

    /**
     * Sign in with access tokens from $callback(string $username, bool $previousRefused), which
     * returns the token, or [token, expiresInSeconds] so it is cached that long ($previousRefused:
     * the server refused the last one, so return a fresh one). What it throws, or a return that is
     * not a token, fails the send with an OAuthCallbackException naming it.
     *
     * @param callable(string, bool): (string|array{0: string, 1: int}) $callback
     */
    public function setOAuthTokenCallback(string $username, callable $callback): static
    {
        $callback = \Closure::fromCallable($callback);
        $trampoline = static function ($userData, $user, $previousRefused, $out) use ($callback): int {
            try {
                $result = $callback(Native::cString($user), (bool) $previousRefused);
                [$token, $expiresIn] = is_array($result) && array_is_list($result) && count($result) === 2
                    ? $result : [$result, 0];
                if (!is_string($token) || $token === '' || !is_int($expiresIn) || $expiresIn < 0) {
                    $why = sprintf(
                        'the oauthTokenCallback returned %s; it must return the access token (a non-empty string) or [token, expiresInSeconds]',
                        get_debug_type($result),
                    );
                    Native::invoke('mailport_oauth_token_fail', $out, $why);
                    return 1;
                }
                if (str_contains($token, "\0")) {
                    Native::invoke('mailport_oauth_token_fail', $out, 'the oauthTokenCallback returned a token with a NUL byte');
                    return 1;
                }
                Native::invoke('mailport_oauth_token_set', $out, $token, $expiresIn);
                return 0;
            } catch (\Throwable $e) {
                // Never thrown through the library's frames: the send fails with the reason.
                Native::invoke('mailport_oauth_token_fail', $out, sprintf(
                    'the oauthTokenCallback threw %s: %s',
                    get_class($e),
                    str_replace("\0", '', $e->getMessage()),
                ));
                return 1;
            }
        };
        Native::call('mailport_config_set_oauth_token_callback', $this->handle(), Native::str($username, 'username'), $trampoline, null);
        $this->callbacks['token'] = $trampoline;
        return $this;
    }

    /**
     * The SASL mechanism: "xoauth2", "oauthbearer", "plain" or "login"; null lets the library
     * choose from what the server offers (XOAUTH2 before OAUTHBEARER for tokens).
     */
    public function setAuthMechanism(?string $mechanism): static
    {
        Native::call('mailport_config_set_auth_mechanism', $this->handle(), Native::str($mechanism, 'authMechanism'));
        return $this;
    }

    /**
     * The callbacks this config handed to the library, for a Client or Outbox made from it to
     * keep alive as long as it lives (the library keeps copies of the function pointers).
     *
     * @internal
     * @return array<string, \Closure>
     */
    public function callbacks(): array
    {
        return $this->callbacks;
    }

    public function setHeloName(string $name): static
    {
        Native::call('mailport_config_set_helo_name', $this->handle(), Native::str($name, 'heloName'));
        return $this;
    }

    /** How long each TCP connection attempt may take (default 10000 ms). */
    public function setConnectTimeoutMs(int $ms): static
    {
        Native::call('mailport_config_set_connect_timeout_ms', $this->handle(), Native::uint($ms, 64, 'connectTimeoutMs'));
        return $this;
    }

    /** How long to wait for each reply (default 60000 ms). */
    public function setCommandTimeoutMs(int $ms): static
    {
        Native::call('mailport_config_set_command_timeout_ms', $this->handle(), Native::uint($ms, 64, 'commandTimeoutMs'));
        return $this;
    }

    /** How long to wait for the reply after the message data (default 120000 ms). */
    public function setDataTimeoutMs(int $ms): static
    {
        Native::call('mailport_config_set_data_timeout_ms', $this->handle(), Native::uint($ms, 64, 'dataTimeoutMs'));
        return $this;
    }

    /** The limit for one whole send, connection included (default 300000 ms). */
    public function setSendTimeoutMs(int $ms): static
    {
        Native::call('mailport_config_set_send_timeout_ms', $this->handle(), Native::uint($ms, 64, 'sendTimeoutMs'));
        return $this;
    }

    /** Also trust the certificates in this PEM file (read when the Client is made). */
    public function addCaFile(string $path): static
    {
        Native::call('mailport_config_add_ca_file', $this->handle(), Native::str($path, 'caFile'));
        return $this;
    }

    /** Also trust the certificates in this PEM text. */
    public function addCaPem(string $pem): static
    {
        Native::callWithBytes('mailport_config_add_ca_pem', [$this->handle()], $pem);
        return $this;
    }

    /** Trust Mozilla's root certificates (built in); with the system store on, only where it has none. Default: true. */
    public function setWebpkiRoots(bool $enabled): static
    {
        Native::call('mailport_config_set_webpki_roots', $this->handle(), $enabled);
        return $this;
    }

    /** Trust the operating system's certificate store. Default: true. */
    public function setSystemRoots(bool $enabled): static
    {
        Native::call('mailport_config_set_system_roots', $this->handle(), $enabled);
        return $this;
    }

    /** Verify the certificate against this name instead of the host connected to. */
    public function setTlsServerName(string $name): static
    {
        Native::call('mailport_config_set_tls_server_name', $this->handle(), Native::str($name, 'tlsServerName'));
        return $this;
    }

    /** DANGEROUS: accept any certificate. Anyone on the path can then read mail and credentials. */
    public function dangerousAcceptInvalidCerts(bool $enabled = true): static
    {
        Native::call('mailport_config_dangerous_accept_invalid_certs', $this->handle(), $enabled);
        return $this;
    }

    /** DANGEROUS: send credentials over an unencrypted connection (loopback, trusted relays only). */
    public function dangerousAllowPlaintextAuth(bool $enabled = true): static
    {
        Native::call('mailport_config_dangerous_allow_plaintext_auth', $this->handle(), $enabled);
        return $this;
    }

    /** Deliver to the accepted recipients when others are refused (the receipt lists the refused). */
    public function setAllowPartialRecipients(bool $enabled): static
    {
        Native::call('mailport_config_set_allow_partial_recipients', $this->handle(), $enabled);
        return $this;
    }

    /** Let the automatic port choice fall back to port 25. */
    public function setAllowRelay(bool $allow): static
    {
        Native::call('mailport_config_set_allow_relay', $this->handle(), $allow);
        return $this;
    }

    /**
     * Persistent mode, for php-fpm workers: a client made from this config hands its
     * authenticated session to a pool in the worker process when it is closed or destroyed, and
     * the next request's client with the same settings takes it back (no connect, TLS or AUTH).
     * Sessions idle for longer than $idleTimeoutMs are closed.
     */
    public function setPersistent(bool $persistent, int $idleTimeoutMs = 60000): static
    {
        Native::call('mailport_config_set_persistent', $this->handle(), $persistent, Native::uint($idleTimeoutMs, 32, 'idleTimeoutMs'));
        return $this;
    }

    /** Put message bodies in transcripts (personal data: for debugging only). */
    public function setTranscriptBodies(bool $enabled): static
    {
        Native::call('mailport_config_set_transcript_bodies', $this->handle(), $enabled);
        return $this;
    }
}

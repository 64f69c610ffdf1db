<?php
/**
 * Signing in to Google or Microsoft 365 with OAuth 2.0 instead of a password: the providers'
 * presets, the connection (the refresh token, stored encrypted like the password, the account and
 * the times it was issued and last worked), the settings the library gets for it, and what the
 * plugin learns from each send, worker run and check (a refused refresh token, the last success).
 *
 * The consent flow itself (the screens' Connect / Disconnect and the provider's redirect back to
 * admin-post.php) is in admin/class-mailport-admin-oauth.php; it needs no FFI, only
 * wp_remote_post(), so it works on any host.
 */

defined('ABSPATH') || exit;

final class Mailport_OAuth
{
    /** The connection: provider, client_id, account, refresh_token (encrypted), times, last error. */
    const OPTION = 'mailport_oauth';

    /** The error kinds of the token endpoint (the library's names, lower case). */
    const ERROR_KINDS = ['oauth_invalid_grant', 'oauth_invalid_client', 'oauth_endpoint_unreachable', 'oauth_scope', 'oauth_endpoint', 'oauth_callback'];

    /**
     * Per provider: its name, the endpoints ({tenant} replaced), the scope SMTP needs, the extra
     * authorization parameters, and how long an unused refresh token lives (days).
     */
    const PROVIDERS = [
        'google' => [
            'label' => 'Google',
            'authorize' => 'https://accounts.google.com/o/oauth2/v2/auth',
            'token' => 'https://oauth2.googleapis.com/token',
            'scope' => 'https://mail.google.com/',
            // Without both, Google gives a refresh token only on the very first consent.
            'params' => ['access_type' => 'offline', 'prompt' => 'consent'],
            'idle_days' => 180,
        ],
        'microsoft' => [
            // As the library's hint names the button: "Connect with Microsoft".
            'label' => 'Microsoft',
            'authorize' => 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
            'token' => 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
            'scope' => 'https://outlook.office.com/SMTP.Send offline_access',
            'params' => ['response_mode' => 'query', 'prompt' => 'select_account'],
            'idle_days' => 90,
        ],
    ];

    /** Days before an unused refresh token's end at which Site Health starts warning. */
    const WARN_DAYS = 14;

    /** The configured provider ("google" or "microsoft"), or null when the password is used. */
    public static function provider(): ?string
    {
        $provider = (string) Mailport_Settings::get('oauth_provider');
        return isset(self::PROVIDERS[$provider]) ? $provider : null;
    }

    public static function label(?string $provider = null): string
    {
        $provider ??= self::provider();
        return $provider !== null ? self::PROVIDERS[$provider]['label'] : '';
    }

    /** Microsoft's tenant: the setting, else "common" (any work, school or personal account). */
    public static function tenant(): string
    {
        $tenant = trim((string) Mailport_Settings::get('oauth_tenant'));
        return $tenant === '' ? 'common' : $tenant;
    }

    /** The authorization endpoint: MAILPORT_OAUTH_AUTHORIZE_URL (sovereign clouds, tests) or the preset. */
    public static function authorize_url(string $provider): string
    {
        if (defined('MAILPORT_OAUTH_AUTHORIZE_URL') && MAILPORT_OAUTH_AUTHORIZE_URL !== '') {
            return (string) MAILPORT_OAUTH_AUTHORIZE_URL;
        }
        return str_replace('{tenant}', rawurlencode(self::tenant()), self::PROVIDERS[$provider]['authorize']);
    }

    /** The token endpoint: MAILPORT_OAUTH_TOKEN_URL or the preset. */
    public static function token_url(string $provider): string
    {
        if (defined('MAILPORT_OAUTH_TOKEN_URL') && MAILPORT_OAUTH_TOKEN_URL !== '') {
            return (string) MAILPORT_OAUTH_TOKEN_URL;
        }
        return str_replace('{tenant}', rawurlencode(self::tenant()), self::PROVIDERS[$provider]['token']);
    }

    /** Where the provider sends the browser back: what the admin registers with the provider. */
    public static function redirect_uri(): string
    {
        return add_query_arg('action', 'mailport_oauth_callback', admin_url('admin-post.php'));
    }

    /** The stored connection (see OPTION), or []. */
    public static function stored(): array
    {
        $stored = get_option(self::OPTION, []);
        return is_array($stored) ? $stored : [];
    }

    /**
     * The connection that applies to the current settings: made with this provider and client id
     * (a token issued to another client is useless), else null.
     */
    public static function connection(): ?array
    {
        $provider = self::provider();
        $stored = self::stored();
        if ($provider === null || empty($stored['refresh_token']) || ($stored['provider'] ?? '') !== $provider
            || ($stored['client_id'] ?? '') !== (string) Mailport_Settings::get('oauth_client_id')) {
            return null;
        }
        return $stored;
    }

    /** Keep a new connection after a consent: the refresh token encrypted, the account, the time. */
    public static function connect(string $provider, string $client_id, string $account, string $refresh_token, string $scope): void
    {
        $now = time();
        update_option(self::OPTION, [
            'provider' => $provider,
            'client_id' => $client_id,
            'account' => $account,
            'refresh_token' => Mailport_Settings::encrypt($refresh_token),
            'scope' => $scope,
            'connected' => $now,
            'last_refresh' => $now,
            'last_error' => null,
        ], false);
    }

    public static function disconnect(): void
    {
        delete_option(self::OPTION);
    }

    private static function update(array $changes): void
    {
        $stored = self::stored();
        if ($stored === []) {
            return;
        }
        update_option(self::OPTION, array_merge($stored, $changes), false);
    }

    /**
     * The library's rotation callback: the token endpoint answered a new refresh token and
     * retired the old one (Microsoft does so on every refresh), so it is stored at once —
     * losing it would leave the site unable to send.
     */
    public static function rotated(string $username, #[\SensitiveParameter] string $refresh_token): void
    {
        if ($refresh_token === '') {
            return;
        }
        self::update(['refresh_token' => Mailport_Settings::encrypt($refresh_token), 'last_refresh' => time(), 'last_error' => null]);
    }

    /** A send or check signed in with the token: the refresh token works, as of now. */
    public static function worked(): void
    {
        $connection = self::connection();
        // One write an hour at most, not one per mail: the lapse is counted in days.
        if ($connection !== null && (!empty($connection['last_error']) || time() - (int) ($connection['last_refresh'] ?? 0) >= HOUR_IN_SECONDS)) {
            self::update(['last_refresh' => time(), 'last_error' => null]);
        }
    }

    /** A failure of one of the OAuth kinds (any other failure is not the token's): keep it for the screens. */
    public static function failed(string $kind, string $message): void
    {
        if (!in_array($kind, self::ERROR_KINDS, true) || self::connection() === null) {
            return;
        }
        self::update(['last_error' => ['kind' => $kind, 'message' => $message, 'time' => time()]]);
    }

    /** failed() from a Mailport exception, when it is one of the OAuth kinds. */
    public static function failed_with(Throwable $e): void
    {
        if ($e instanceof \Mailport\Exception\ExceptionInterface) {
            self::failed(strtolower(preg_replace('/^MAILPORT_ERR_/', '', $e->getName())), $e->getErrorMessage());
        }
    }

    /** Whether the last refresh was refused for good (the user must consent again). */
    public static function needs_reconnect(): bool
    {
        $connection = self::connection();
        return $connection !== null && (($connection['last_error']['kind'] ?? '') === 'oauth_invalid_grant');
    }

    /**
     * Give the primary connection's Config the refresh grant: the provider, the client, the
     * stored refresh token of the connected account, and the rotation callback. Throws a
     * Mailport exception naming the setting when something is missing.
     */
    public static function apply(\Mailport\Config $config): void
    {
        $provider = self::provider();
        $label = self::label($provider);
        $client_id = trim((string) Mailport_Settings::get('oauth_client_id'));
        if ($client_id === '') {
            throw mailport_config_error(
                sprintf('%s is empty: signing in with %s needs the OAuth client id of your app', Mailport_Settings::source('oauth_client_id'), $label),
                sprintf('enter the client id on Settings > Mailport (or define MAILPORT_OAUTH_CLIENT_ID in wp-config.php), then click "Connect with %s"', $label),
            );
        }
        if (Mailport_Settings::secret_unreadable('oauth_client_secret')) {
            throw mailport_config_error(
                'the saved OAuth client secret cannot be decrypted: the site\'s salts in wp-config.php changed since it was saved',
                'enter the client secret again on Settings > Mailport',
            );
        }
        $connection = self::connection();
        if ($connection === null) {
            throw mailport_config_error(
                sprintf('mailport is set to sign in with %s but no account is connected', $label),
                sprintf('click "Connect with %s" on Settings > Mailport and allow the site to send mail', $label),
            );
        }
        $refresh_token = Mailport_Settings::decrypt((string) $connection['refresh_token']);
        if ($refresh_token === '') {
            throw mailport_config_error(
                sprintf('the saved %s sign-in cannot be decrypted: the site\'s salts in wp-config.php changed since it was saved', $label),
                sprintf('click "Connect with %s" on Settings > Mailport again', $label),
            );
        }
        $secret = (string) Mailport_Settings::get('oauth_client_secret');
        $config->setOAuthRefresh(
            (string) $connection['account'],
            $provider,
            $client_id,
            $secret === '' ? null : $secret,
            $refresh_token,
        );
        if ($provider === 'microsoft') {
            $config->setOAuthTenant(self::tenant());
        }
        if (defined('MAILPORT_OAUTH_TOKEN_URL') && MAILPORT_OAUTH_TOKEN_URL !== '') {
            $config->setOAuthTokenUrl((string) MAILPORT_OAUTH_TOKEN_URL);
        }
        $config->setOAuthRotationCallback([self::class, 'rotated']);
    }

    /**
     * After a worker run: mail delivered through the primary connection means the token works;
     * an entry held or deferred by an OAuth failure is recorded for the notice and Site Health.
     */
    public static function after_run(\Mailport\OutboxSummary $summary): void
    {
        if (self::connection() === null) {
            return;
        }
        if ($summary->sent - $summary->viaBackup > 0) {
            self::worked();
        }
        foreach ($summary->events as $event) {
            if ($event->kind !== \Mailport\OutboxEventKind::STATE_CHANGED || $event->id === null) {
                continue;
            }
            $attempt = Mailport_Queue::last_attempt($event->id);
            if ($attempt !== null && in_array($attempt['kind'] ?? '', self::ERROR_KINDS, true)) {
                self::failed((string) $attempt['kind'], (string) ($attempt['message'] ?? ''));
            }
        }
    }

    /**
     * The worker's refresh check, for quiet sites: an unused refresh token lapses (Microsoft:
     * 90 days, Google: 6 months), so once a day, when nothing was sent, the connection check
     * refreshes the token without sending anything; its finding says whether that worked.
     */
    public static function daily_check(\Mailport\OutboxSummary $summary): void
    {
        $connection = self::connection();
        if ($connection === null || $summary->sent > 0) {
            return;
        }
        $now = time();
        if ($now - (int) ($connection['last_refresh'] ?? 0) < DAY_IN_SECONDS
            || $now - (int) ($connection['last_check'] ?? 0) < DAY_IN_SECONDS) {
            return;
        }
        self::update(['last_check' => $now]);
        self::check_findings(self::probe_configured_port());
    }

    /** The connection check of the configured port only (the refresh is what is wanted). */
    private static function probe_configured_port(): ?\Mailport\Report
    {
        try {
            $port = (string) Mailport_Settings::get('port');
            return mailport_check_connection([ctype_digit($port) ? (int) $port : 587]);
        } catch (Throwable $e) {
            self::failed_with($e);
            return null;
        }
    }

    /**
     * What a connection check's OAuth finding says about the token: oauth_refresh_ok, or
     * oauth_refresh_failed with the error kind in its message.
     */
    public static function check_findings(?\Mailport\Report $report): void
    {
        if ($report === null || self::connection() === null) {
            return;
        }
        foreach ($report->findings as $finding) {
            if ($finding->code === 'oauth_refresh_ok') {
                self::worked();
            } elseif ($finding->code === 'oauth_refresh_failed') {
                // "refreshing the OAuth2 access token failed (oauth_invalid_grant): …"
                $kind = preg_match('/\((oauth_[a-z_]+)\)/', $finding->message, $m) ? $m[1] : 'oauth_endpoint';
                self::failed($kind, $finding->message);
            }
        }
    }

    /**
     * How long the refresh token has until it lapses unused, from its last successful use:
     * ['days_left' => int, 'idle_days' => int, 'limit' => int].
     */
    public static function lifetime(array $connection): array
    {
        $limit = self::PROVIDERS[$connection['provider']]['idle_days'];
        $last = max((int) ($connection['last_refresh'] ?? 0), (int) ($connection['connected'] ?? 0));
        $idle = (int) floor((time() - $last) / DAY_IN_SECONDS);
        return ['days_left' => $limit - $idle, 'idle_days' => $idle, 'limit' => $limit];
    }

    /**
     * The account a token answer names: the id_token's email or preferred_username (not
     * verified: the answer came straight from the token endpoint over TLS), else null.
     */
    public static function account_from_id_token(?string $id_token): ?string
    {
        if (!is_string($id_token) || substr_count($id_token, '.') !== 2) {
            return null;
        }
        $payload = explode('.', $id_token)[1];
        $json = base64_decode(strtr($payload, '-_', '+/') . str_repeat('=', (4 - strlen($payload) % 4) % 4), true);
        $claims = $json === false ? null : json_decode($json, true);
        if (!is_array($claims)) {
            return null;
        }
        foreach (['email', 'preferred_username', 'upn'] as $claim) {
            if (isset($claims[$claim]) && is_string($claims[$claim]) && is_email($claims[$claim])) {
                return $claims[$claim];
            }
        }
        return null;
    }
}

<?php
/**
 * The consent flow for Google and Microsoft 365 (OAuth 2.0 authorization code with PKCE, RFC
 * 7636): "Connect with …" (admin-post.php, nonce + manage_options) makes a PKCE verifier and a
 * state bound to the user, kept server-side for 10 minutes, and sends the browser to the
 * provider; the provider sends it back to admin-post.php?action=mailport_oauth_callback, where the
 * state is checked (once: a replayed callback is refused), the code exchanged at the token
 * endpoint with wp_remote_post() (no FFI: it works on any host), and the refresh token stored
 * encrypted. "Disconnect" forgets it.
 */

defined('ABSPATH') || exit;

final class Mailport_Admin_OAuth
{
    /** How long a started sign-in may take (the transient's lifetime). */
    const FLOW_SECONDS = 600;

    public static function init(): void
    {
        add_action('admin_post_mailport_oauth_connect', [self::class, 'start']);
        add_action('admin_post_mailport_oauth_callback', [self::class, 'callback']);
        add_action('admin_post_mailport_oauth_disconnect', [self::class, 'disconnect']);
        add_action('admin_notices', [self::class, 'notice']);
    }

    /** The transient that holds a started flow: keyed by a hash of the state, never the state itself. */
    private static function flow_key(string $state): string
    {
        return 'mailport_oauth_flow_' . substr(hash('sha256', $state), 0, 40);
    }

    private static function base64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    /** admin-post.php?action=mailport_oauth_connect (POST, nonce): off to the provider. */
    public static function start(): void
    {
        Mailport_Admin::guard('mailport_oauth_connect');
        $provider = Mailport_OAuth::provider();
        if ($provider === null) {
            Mailport_Admin::flash('error', __('Choose Google or Microsoft 365 as the sign-in and save the settings first.', 'mailport'));
            Mailport_Admin::redirect('settings');
        }
        $label = Mailport_OAuth::label($provider);
        $client_id = trim((string) Mailport_Settings::get('oauth_client_id'));
        if ($client_id === '') {
            Mailport_Admin::flash('error', sprintf(
                /* translators: %s: Google or Microsoft */
                __('Enter the client id of your %s app and save the settings before connecting.', 'mailport'),
                $label,
            ));
            Mailport_Admin::redirect('settings');
        }
        $verifier = self::base64url(random_bytes(32));
        $state = self::base64url(random_bytes(24));
        $login_hint = (string) Mailport_Settings::get('user');
        set_transient(self::flow_key($state), [
            'user' => get_current_user_id(),
            'verifier' => $verifier,
            'provider' => $provider,
            'client_id' => $client_id,
            'redirect_uri' => Mailport_OAuth::redirect_uri(),
            'login_hint' => $login_hint,
        ], self::FLOW_SECONDS);
        $params = [
            'response_type' => 'code',
            'client_id' => $client_id,
            'redirect_uri' => Mailport_OAuth::redirect_uri(),
            'scope' => Mailport_OAuth::PROVIDERS[$provider]['scope'],
            'state' => $state,
            'code_challenge' => self::base64url(hash('sha256', $verifier, true)),
            'code_challenge_method' => 'S256',
        ] + Mailport_OAuth::PROVIDERS[$provider]['params'];
        if (is_email($login_hint)) {
            $params['login_hint'] = $login_hint;
        }
        $url = Mailport_OAuth::authorize_url($provider);
        // The provider is another host: wp_safe_redirect() would send the admin to the dashboard.
        wp_redirect($url . (str_contains($url, '?') ? '&' : '?') . http_build_query($params, '', '&', PHP_QUERY_RFC3986));
        exit;
    }

    /** Back to the settings with an error, and why, in plain words. */
    private static function fail(string $message, string $what_to_do, array $details = []): void
    {
        Mailport_Admin::flash('error', $message, [__('What to do', 'mailport') => $what_to_do] + $details);
        Mailport_Admin::redirect('settings');
    }

    /** admin-post.php?action=mailport_oauth_callback: the provider's answer. */
    public static function callback(): void
    {
        if (!current_user_can(Mailport_Admin::CAP)) {
            wp_die(esc_html__('Sorry, you are not allowed to manage the mail settings.', 'mailport'), 403);
        }
        $state = isset($_GET['state']) ? (string) wp_unslash($_GET['state']) : '';
        $flow = $state === '' ? false : get_transient(self::flow_key($state));
        // One use only: a replayed or forged callback finds nothing.
        if ($state !== '') {
            delete_transient(self::flow_key($state));
        }
        if (!is_array($flow) || (int) $flow['user'] !== get_current_user_id()) {
            wp_die(
                esc_html__('This sign-in answer does not belong to a sign-in started here by you in the last 10 minutes (or it was already used), so it was ignored. Go to Settings > Mailport and click Connect again.', 'mailport'),
                esc_html__('Sign-in not recognised', 'mailport'),
                ['response' => 403, 'link_url' => esc_url(Mailport_Admin::url('settings')), 'link_text' => esc_html__('Back to Settings > Mailport', 'mailport')],
            );
        }
        $label = Mailport_OAuth::label($flow['provider']);
        $connect_again = sprintf(
            /* translators: %s: Google or Microsoft */
            __('Click "Connect with %s" again.', 'mailport'),
            $label,
        );
        if (isset($_GET['error'])) {
            $error = sanitize_key(wp_unslash((string) $_GET['error']));
            $description = isset($_GET['error_description']) ? sanitize_text_field(wp_unslash((string) $_GET['error_description'])) : '';
            if ($error === 'access_denied') {
                self::fail(
                    sprintf(__('%s did not let the site send mail: the consent was refused or cancelled.', 'mailport'), $label),
                    $connect_again . ' ' . __('On the consent screen, sign in with the mailbox the site sends from and choose Allow (Accept). If your organisation requires an administrator\'s approval, ask them to grant it to the app first.', 'mailport'),
                    [__('Provider\'s answer', 'mailport') => trim("$error $description")],
                );
            }
            self::fail(
                sprintf(__('%s refused the sign-in (%s).', 'mailport'), $label, $error),
                ($error === 'unauthorized_client' || $error === 'invalid_client' || $error === 'invalid_request'
                    ? __('Check the client id, and that the redirect URI shown on Settings > Mailport is registered for the app exactly as shown.', 'mailport') . ' '
                    : '') . $connect_again,
                [__('Provider\'s answer', 'mailport') => trim("$error $description")],
            );
        }
        $code = isset($_GET['code']) ? (string) wp_unslash($_GET['code']) : '';
        if ($code === '') {
            self::fail(sprintf(__('%s sent the browser back without an authorization code.', 'mailport'), $label), $connect_again);
        }
        self::exchange($flow, $code, $label, $connect_again);
    }

    /** The authorization code for tokens at the token endpoint; stores the connection or fails. */
    private static function exchange(array $flow, #[\SensitiveParameter] string $code, string $label, string $connect_again): void
    {
        $provider = $flow['provider'];
        $token_url = Mailport_OAuth::token_url($provider);
        $body = [
            'grant_type' => 'authorization_code',
            'code' => $code,
            'redirect_uri' => $flow['redirect_uri'],
            'client_id' => $flow['client_id'],
            'code_verifier' => $flow['verifier'],
        ];
        $secret = (string) Mailport_Settings::get('oauth_client_secret');
        if ($secret !== '') {
            $body['client_secret'] = $secret;
        }
        $response = wp_remote_post($token_url, [
            'timeout' => 20,
            'redirection' => 0,
            'headers' => ['Accept' => 'application/json'],
            'body' => $body,
        ]);
        if (is_wp_error($response)) {
            self::fail(
                sprintf(__('The site could not reach %s\'s token endpoint (%s).', 'mailport'), $label, $token_url),
                __('This server must be able to make outgoing HTTPS connections to it: check the firewall or the proxy settings (WP_PROXY_HOST), then connect again.', 'mailport'),
                [__('Error', 'mailport') => $response->get_error_message()],
            );
        }
        $status = (int) wp_remote_retrieve_response_code($response);
        $answer = json_decode((string) wp_remote_retrieve_body($response), true);
        $answer = is_array($answer) ? $answer : [];
        if ($status !== 200 || empty($answer['access_token'])) {
            $error = is_string($answer['error'] ?? null) ? $answer['error'] : '';
            $description = is_string($answer['error_description'] ?? null) ? $answer['error_description'] : '';
            $details = [__('Provider\'s answer', 'mailport') => trim("HTTP $status $error: $description", ' :')];
            if ($error === 'invalid_client' || $status === 401) {
                self::fail(
                    sprintf(__('%s refused the app\'s client id or client secret (invalid_client).', 'mailport'), $label),
                    ($provider === 'microsoft'
                        ? __('Copy the client secret\'s Value (not its Secret ID) from the app\'s Certificates & secrets in the Microsoft Entra admin center; a secret expires, so make a new one if needed.', 'mailport')
                        : __('Copy the client id and client secret again from Google Cloud Console > APIs & Services > Credentials.', 'mailport'))
                    . ' ' . __('Save them on Settings > Mailport and connect again.', 'mailport'),
                    $details,
                );
            }
            if ($error === 'invalid_grant') {
                self::fail(sprintf(__('%s did not accept the sign-in code: it expired or was already used.', 'mailport'), $label), $connect_again, $details);
            }
            if ($error === 'invalid_scope') {
                self::fail(
                    sprintf(__('%s would not give the permission to send mail (invalid_scope).', 'mailport'), $label),
                    sprintf(__('Add the permission %s to the app (its API permissions or OAuth consent screen), then connect again.', 'mailport'), Mailport_OAuth::PROVIDERS[$provider]['scope']),
                    $details,
                );
            }
            self::fail(
                $status >= 500 || $status === 429
                    ? sprintf(__('%s\'s token endpoint is not working right now (HTTP %d).', 'mailport'), $label, $status)
                    : sprintf(__('%s\'s token endpoint did not give a token.', 'mailport'), $label),
                $status >= 500 || $status === 429 ? __('Wait a few minutes and connect again.', 'mailport') : $connect_again,
                $details,
            );
        }
        if (empty($answer['refresh_token']) || !is_string($answer['refresh_token'])) {
            self::fail(
                sprintf(__('%s gave no refresh token, so the site could send only for the next hour.', 'mailport'), $label),
                $provider === 'google'
                    ? __('Remove the app\'s access at https://myaccount.google.com/permissions and connect again (Google gives a refresh token on a new consent).', 'mailport')
                    : __('Make sure the app has the offline_access permission, then connect again.', 'mailport'),
            );
        }
        $account = Mailport_OAuth::account_from_id_token($answer['id_token'] ?? null)
            ?? (is_email($flow['login_hint']) ? $flow['login_hint'] : null);
        if ($account === null) {
            self::fail(
                __('The sign-in worked, but the site does not know which mailbox it is for.', 'mailport'),
                __('Enter the mailbox\'s address as the User name on Settings > Mailport, save, and connect again.', 'mailport'),
            );
        }
        Mailport_OAuth::connect(
            $provider,
            $flow['client_id'],
            $account,
            $answer['refresh_token'],
            is_string($answer['scope'] ?? null) ? $answer['scope'] : Mailport_OAuth::PROVIDERS[$provider]['scope'],
        );
        Mailport_Admin::flash('success', sprintf(
            /* translators: 1: an email address, 2: Google or Microsoft */
            __('Connected as %1$s with %2$s: mail is sent with this account from now on.', 'mailport'),
            $account,
            $label,
        ));
        Mailport_Admin::redirect('settings');
    }

    /** admin-post.php?action=mailport_oauth_disconnect (POST, nonce): forget the refresh token. */
    public static function disconnect(): void
    {
        Mailport_Admin::guard('mailport_oauth_disconnect');
        $label = Mailport_OAuth::label((string) (Mailport_OAuth::stored()['provider'] ?? '')) ?: 'OAuth';
        Mailport_OAuth::disconnect();
        Mailport_Admin::flash('success', sprintf(
            /* translators: %s: Google or Microsoft */
            __('Disconnected: the site forgot its %s sign-in and cannot send with it until you connect again. To revoke it at the provider too, remove the app from the account\'s security settings.', 'mailport'),
            $label,
        ));
        Mailport_Admin::redirect('settings');
    }

    /**
     * The Settings tab's box for the OAuth sign-in: whether an account is connected, Connect /
     * Disconnect, the redirect URI to register with the provider, and the provider's set-up.
     */
    public static function box(): void
    {
        $provider = Mailport_OAuth::provider();
        if ($provider === null) {
            return;
        }
        $label = Mailport_OAuth::label($provider);
        $connection = Mailport_OAuth::connection();
        echo '<div class="card mailport-oauth" id="mailport-oauth" style="max-width:none">';
        printf('<h2 class="title">%s</h2>', esc_html(sprintf(__('%s sign-in (OAuth 2.0)', 'mailport'), $label)));
        if ($connection === null) {
            $status = (string) Mailport_Settings::get('oauth_client_id') === ''
                ? __('Not connected. Enter the client id and secret of your app below, save, then connect.', 'mailport')
                : sprintf(__('Not connected: click "Connect with %s" and allow the site to send mail as your mailbox.', 'mailport'), $label);
        } else {
            $life = Mailport_OAuth::lifetime($connection);
            $status = sprintf(
                /* translators: 1: an email address, 2: a date, 3: a date */
                __('Connected as %1$s since %2$s; the sign-in last worked %3$s.', 'mailport'),
                (string) $connection['account'],
                wp_date('Y-m-d H:i', (int) $connection['connected']),
                wp_date('Y-m-d H:i', (int) ($connection['last_refresh'] ?? $connection['connected'])),
            );
            if (Mailport_OAuth::needs_reconnect()) {
                $status .= ' ' . sprintf(__('But %s refused it since (invalid_grant): reconnect.', 'mailport'), $label);
            } elseif (!empty($connection['last_error'])) {
                $status .= ' ' . sprintf(__('The last attempt failed: %s', 'mailport'), (string) $connection['last_error']['message']);
            } elseif ($life['days_left'] <= Mailport_OAuth::WARN_DAYS) {
                $status .= ' ' . sprintf(__('Unused, it lapses in %d days.', 'mailport'), max(0, $life['days_left']));
            }
        }
        printf('<p id="mailport-oauth-status"><strong>%s</strong></p>', esc_html($status));
        echo '<p>' . self::connect_button('mailport-oauth-connect');
        if ($connection !== null) {
            printf(
                ' <form method="post" action="%s" style="display:inline">%s<input type="hidden" name="action" value="mailport_oauth_disconnect"><button type="submit" class="button" id="mailport-oauth-disconnect">%s</button></form>',
                esc_url(admin_url('admin-post.php')),
                wp_nonce_field('mailport_oauth_disconnect', '_wpnonce', true, false),
                esc_html__('Disconnect', 'mailport'),
            );
        }
        echo '</p>';
        printf(
            '<p><label for="mailport-oauth-redirect-uri">%s</label></p><p style="display:flex;gap:.5em;max-width:60em"><input type="text" readonly class="code" style="flex:1" id="mailport-oauth-redirect-uri" value="%s" onfocus="this.select()"><button type="button" class="button" id="mailport-oauth-copy" onclick="navigator.clipboard &amp;&amp; navigator.clipboard.writeText(document.getElementById(\'mailport-oauth-redirect-uri\').value)">%s</button></p>',
            esc_html__('Redirect URI: register it with the app exactly as shown', 'mailport'),
            esc_attr(Mailport_OAuth::redirect_uri()),
            esc_html__('Copy', 'mailport'),
        );
        $steps = $provider === 'google' ? [
            __('In Google Cloud Console, APIs & Services > Credentials: Create credentials > OAuth client ID, of type Web application, with the redirect URI above.', 'mailport'),
            __('On the OAuth consent screen, add the scope https://mail.google.com/ and set the publishing status to In production: while it is Testing, Google revokes the sign-in after 7 days.', 'mailport'),
            __('Enter the client id and secret below, save, and Connect with the Gmail or Workspace mailbox the site sends from.', 'mailport'),
        ] : [
            __('In the Microsoft Entra admin center, App registrations > New registration; add the redirect URI above as a Web redirect URI.', 'mailport'),
            __('Under API permissions add the delegated permissions SMTP.Send and offline_access; under Certificates & secrets make a client secret (copy its Value).', 'mailport'),
            __('Authenticated SMTP must be on for the mailbox (Microsoft 365 admin center > the user > Mail > Manage email apps).', 'mailport'),
            __('Enter the client id, the secret and the tenant (the directory id or domain; "common" for any account) below, save, and Connect with the mailbox the site sends from.', 'mailport'),
        ];
        echo '<ol class="mailport-oauth-steps">';
        foreach ($steps as $step) {
            printf('<li>%s</li>', esc_html($step));
        }
        echo '</ol></div>';
    }

    /** The button that starts (or restarts) the consent, as a form of its own. */
    public static function connect_button(string $id, bool $primary = true): string
    {
        $provider = Mailport_OAuth::provider();
        if ($provider === null) {
            return '';
        }
        return sprintf(
            '<form method="post" action="%s" class="mailport-oauth-connect" style="display:inline">%s<input type="hidden" name="action" value="mailport_oauth_connect"><button type="submit" class="button%s" id="%s">%s</button></form>',
            esc_url(admin_url('admin-post.php')),
            wp_nonce_field('mailport_oauth_connect', '_wpnonce', true, false),
            $primary ? ' button-primary' : '',
            esc_attr($id),
            esc_html(sprintf(
                /* translators: %s: Google or Microsoft */
                Mailport_OAuth::connection() !== null ? __('Reconnect with %s', 'mailport') : __('Connect with %s', 'mailport'),
                Mailport_OAuth::label($provider),
            )),
        );
    }

    /** A refused refresh token stops all mail: say so on every admin screen, with the button. */
    public static function notice(): void
    {
        if (!current_user_can(Mailport_Admin::CAP) || !mailport_is_configured() || !Mailport_OAuth::needs_reconnect()) {
            return;
        }
        $connection = Mailport_OAuth::connection();
        $label = Mailport_OAuth::label();
        printf(
            '<div class="notice notice-error" id="mailport-oauth-notice"><p><strong>Mailport SMTP:</strong> %s</p><p>%s</p></div>',
            esc_html(sprintf(
                /* translators: 1: Google or Microsoft, 2: an email address, 3: a date */
                __('%1$s no longer accepts the site\'s sign-in for %2$s (invalid_grant, %3$s): the refresh token expired or was revoked, so no mail can be sent. Reconnect; mail held meanwhile is then sent with Retry in the Email log.', 'mailport'),
                $label,
                (string) $connection['account'],
                wp_date('Y-m-d H:i', (int) ($connection['last_error']['time'] ?? time())),
            )),
            self::connect_button('mailport-oauth-reconnect-notice'),
        );
    }
}

<?php
/**
 * The plugin's settings: each one a MAILPORT_* constant in wp-config.php, which wins and shows as
 * a locked field, or else a value saved on the Settings screen (the option mailport_settings).
 * Passwords saved in the database are encrypted with libsodium (PHP core) under a key derived
 * from the site's salts, never shown back and never logged.
 */

defined('ABSPATH') || exit;

final class Mailport_Settings
{
    const OPTION = 'mailport_settings';

    /**
     * Every setting: its constant, its default, and what it holds ("string", "bool", "int",
     * "secret": encrypted when saved).
     */
    const FIELDS = [
        'host' => ['MAILPORT_HOST', '', 'string'],
        'port' => ['MAILPORT_PORT', '587', 'string'],
        'security' => ['MAILPORT_SECURITY', 'auto', 'string'],
        'user' => ['MAILPORT_USER', '', 'string'],
        'password' => ['MAILPORT_PASSWORD', '', 'secret'],
        // Sign in with OAuth 2.0 instead: "google" or "microsoft" ("" is the password).
        'oauth_provider' => ['MAILPORT_OAUTH_PROVIDER', '', 'string'],
        'oauth_client_id' => ['MAILPORT_OAUTH_CLIENT_ID', '', 'string'],
        'oauth_client_secret' => ['MAILPORT_OAUTH_CLIENT_SECRET', '', 'secret'],
        'oauth_tenant' => ['MAILPORT_OAUTH_TENANT', '', 'string'],
        'from_email' => ['MAILPORT_FROM', '', 'string'],
        'from_name' => ['MAILPORT_FROM_NAME', '', 'string'],
        'force_from' => ['MAILPORT_FORCE_FROM', false, 'bool'],
        'delivery' => ['MAILPORT_DELIVERY', 'direct-then-queue', 'string'],
        'backup_host' => ['MAILPORT_BACKUP_HOST', '', 'string'],
        'backup_port' => ['MAILPORT_BACKUP_PORT', '587', 'string'],
        'backup_security' => ['MAILPORT_BACKUP_SECURITY', 'auto', 'string'],
        'backup_user' => ['MAILPORT_BACKUP_USER', '', 'string'],
        'backup_password' => ['MAILPORT_BACKUP_PASSWORD', '', 'secret'],
        'retention_days' => ['MAILPORT_RETENTION_DAYS', 30, 'int'],
        'alert_email' => ['MAILPORT_ALERT_EMAIL', true, 'bool'],
        'alert_webhook' => ['MAILPORT_ALERT_WEBHOOK', '', 'string'],
    ];

    const SECURITIES = ['auto', 'starttls', 'tls', 'none'];
    const DELIVERIES = ['direct-then-queue', 'direct', 'queue'];
    const PROVIDERS = ['', 'google', 'microsoft'];

    /** The setting's value: its constant when defined, else the saved value, else the default. */
    public static function get(string $key)
    {
        [$constant, $default, $type] = self::FIELDS[$key];
        if (defined($constant)) {
            return constant($constant);
        }
        $saved = self::saved();
        if (!array_key_exists($key, $saved)) {
            return $default;
        }
        return $type === 'secret' ? self::decrypt((string) $saved[$key]) : $saved[$key];
    }

    /** Whether wp-config.php sets it (then the screen shows it locked). */
    public static function locked(string $key): bool
    {
        return defined(self::FIELDS[$key][0]);
    }

    /** Where a value comes from, for messages: the constant, or the setting on the screen. */
    public static function source(string $key): string
    {
        return self::locked($key)
            ? self::FIELDS[$key][0]
            : sprintf('the %s setting (Settings > Mailport)', str_replace('_', ' ', ucfirst($key)));
    }

    /** Whether a saved password exists (it is never shown back). */
    public static function has_secret(string $key): bool
    {
        $saved = self::saved();
        return isset($saved[$key]) && $saved[$key] !== '';
    }

    /** The saved values, as stored (secrets encrypted). */
    public static function saved(): array
    {
        $saved = get_option(self::OPTION, []);
        return is_array($saved) ? $saved : [];
    }

    /**
     * register_setting()'s sanitize callback: check each submitted value, keep the saved
     * password when its field is left empty, encrypt a new one. Problems are reported with
     * add_settings_error() and the old value stays.
     */
    public static function sanitize($input): array
    {
        $input = is_array($input) ? $input : [];
        $old = self::saved();
        $out = $old;
        foreach (self::FIELDS as $key => [$constant, $default, $type]) {
            if (self::locked($key)) {
                continue;
            }
            $value = $input[$key] ?? null;
            if ($type === 'bool') {
                $out[$key] = !empty($value);
                continue;
            }
            if ($value === null) {
                continue;
            }
            $value = trim(wp_unslash((string) $value));
            if ($type === 'secret') {
                if (!empty($input[$key . '_clear'])) {
                    unset($out[$key]);
                } elseif (str_starts_with($value, 'v1:') && self::decrypt($value) !== '') {
                    // Already the stored, encrypted form: the whole option written back (the
                    // check's "apply"), or this callback run a second time (WordPress sanitizes
                    // twice when update_option() adds the option).
                    $out[$key] = $value;
                } elseif ($value !== '') {
                    $out[$key] = self::encrypt($value);
                }
                continue;
            }
            $error = self::check($key, $value);
            if ($error !== null) {
                add_settings_error(self::OPTION, "mailport_$key", $error);
                continue;
            }
            $out[$key] = $type === 'int' ? (int) $value : $value;
        }
        return $out;
    }

    /** Why $value cannot be saved as $key, or null. */
    public static function check(string $key, string $value): ?string
    {
        switch ($key) {
            case 'host':
            case 'backup_host':
                return $value === '' || preg_match('/^[A-Za-z0-9.\-:\[\]]+$/', $value)
                    ? null : sprintf(__('"%s" is not a host name or IP address.', 'mailport'), $value);
            case 'port':
            case 'backup_port':
                return $value === 'auto' || (ctype_digit($value) && (int) $value >= 1 && (int) $value <= 65535)
                    ? null : sprintf(__('The port must be a number from 1 to 65535, or automatic, not "%s".', 'mailport'), $value);
            case 'security':
            case 'backup_security':
                return in_array($value, self::SECURITIES, true)
                    ? null : sprintf(__('Unknown security "%s".', 'mailport'), $value);
            case 'delivery':
                return in_array($value, self::DELIVERIES, true)
                    ? null : sprintf(__('Unknown delivery mode "%s".', 'mailport'), $value);
            case 'oauth_provider':
                return in_array($value, self::PROVIDERS, true)
                    ? null : sprintf(__('Unknown sign-in "%s": choose the password, Google or Microsoft 365.', 'mailport'), $value);
            case 'oauth_client_id':
                return $value === '' || preg_match('/^[A-Za-z0-9._\-]+$/', $value)
                    ? null : __('The client id has characters a client id does not have: copy it again from the provider\'s console.', 'mailport');
            case 'oauth_tenant':
                return $value === '' || preg_match('/^[A-Za-z0-9.\-]+$/', $value)
                    ? null : sprintf(__('"%s" is not a tenant: give the directory (tenant) id, a domain like example.onmicrosoft.com, or leave it empty for "common".', 'mailport'), $value);
            case 'from_email':
                return $value === '' || is_email($value)
                    ? null : sprintf(__('"%s" is not an email address.', 'mailport'), $value);
            case 'retention_days':
                return ctype_digit($value) && (int) $value >= 1
                    ? null : __('Keep the log for at least one day.', 'mailport');
            case 'alert_webhook':
                return $value === '' || (wp_http_validate_url($value) && str_starts_with($value, 'https://'))
                    || str_starts_with($value, 'http://127.0.0.1') || str_starts_with($value, 'http://localhost')
                    ? null : __('The webhook must be an https:// URL.', 'mailport');
        }
        return null;
    }

    /** "v1:" and base64 of a random nonce and the secretbox of $plain. */
    public static function encrypt(string $plain): string
    {
        $nonce = random_bytes(SODIUM_CRYPTO_SECRETBOX_NONCEBYTES);
        $box = sodium_crypto_secretbox($plain, $nonce, self::key());
        return 'v1:' . base64_encode($nonce . $box);
    }

    /** The plain text of encrypt()'s output; '' when it cannot be opened (the salts changed). */
    public static function decrypt(string $stored): string
    {
        if (!str_starts_with($stored, 'v1:')) {
            return '';
        }
        $raw = base64_decode(substr($stored, 3), true);
        if ($raw === false || strlen($raw) <= SODIUM_CRYPTO_SECRETBOX_NONCEBYTES) {
            return '';
        }
        $plain = sodium_crypto_secretbox_open(
            substr($raw, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES),
            substr($raw, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES),
            self::key(),
        );
        return $plain === false ? '' : $plain;
    }

    /** Whether a saved secret no longer opens (the site's salts were changed): say so. */
    public static function secret_unreadable(string $key): bool
    {
        $saved = self::saved();
        return !self::locked($key) && isset($saved[$key]) && $saved[$key] !== '' && self::decrypt((string) $saved[$key]) === '';
    }

    /** The key: a hash of the site's AUTH salts (wp-config.php), so the database alone opens nothing. */
    private static function key(): string
    {
        return sodium_crypto_generichash(
            'mailport settings v1|' . wp_salt('auth') . '|' . wp_salt('secure_auth'),
            '',
            SODIUM_CRYPTO_SECRETBOX_KEYBYTES,
        );
    }
}

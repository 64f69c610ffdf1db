<?php
/**
 * The Settings tab: WordPress's Settings API (register_setting, options.php, settings_fields'
 * nonce), one form for the connection, the sender, delivery, the backup connection, the log and
 * alerts. A value set by a MAILPORT_* constant shows locked; a saved password is never shown.
 */

defined('ABSPATH') || exit;

final class Mailport_Admin_Settings
{
    public static function register(): void
    {
        register_setting('mailport', Mailport_Settings::OPTION, [
            'type' => 'array',
            'sanitize_callback' => [Mailport_Settings::class, 'sanitize'],
            'default' => [],
            'show_in_rest' => false,
        ]);
    }

    public static function render(): void
    {
        settings_errors(Mailport_Settings::OPTION);
        Mailport_Admin_OAuth::box();
        echo '<form method="post" action="options.php" id="mailport-settings-form">';
        settings_fields('mailport');

        self::section(__('Connection', 'mailport'), __('Your SMTP server, as your provider names it. Port 587 with STARTTLS suits most; 465 is implicit TLS; 2525 where 587 is blocked. The Connection check tab tells which works here.', 'mailport'));
        self::text('host', __('SMTP host', 'mailport'), 'smtp.example.com');
        self::port('port', __('Port', 'mailport'));
        self::security('security', __('Security', 'mailport'));
        self::text('user', __('User name', 'mailport'), '', 'off');
        self::sign_in();
        self::password('password', __('Password', 'mailport'), 'mailport-auth-password');
        self::text('oauth_client_id', __('OAuth client id', 'mailport'), '', 'off', 'mailport-auth-oauth');
        self::password('oauth_client_secret', __('OAuth client secret', 'mailport'), 'mailport-auth-oauth', __('A client secret is saved (encrypted). Leave the field empty to keep it.', 'mailport'), __('Remove the saved client secret', 'mailport'));
        self::text('oauth_tenant', __('Microsoft tenant', 'mailport'), 'common', 'off', 'mailport-auth-microsoft');
        echo '</table>';
        // The rows of the other sign-ins are hidden (not removed: their values stay saved).
        echo "<script>(function () {\n"
            . "  var select = document.getElementById('mailport-oauth_provider');\n"
            . "  function show() {\n"
            . "    var p = select.value;\n"
            . "    document.querySelectorAll('.mailport-auth-password').forEach(function (r) { r.style.display = p === '' ? '' : 'none'; });\n"
            . "    document.querySelectorAll('.mailport-auth-oauth').forEach(function (r) { r.style.display = p === '' ? 'none' : ''; });\n"
            . "    document.querySelectorAll('.mailport-auth-microsoft').forEach(function (r) { r.style.display = p === 'microsoft' ? '' : 'none'; });\n"
            . "  }\n"
            . "  if (select) { select.addEventListener('change', show); show(); }\n"
            . "})();</script>";

        self::section(__('Sender', 'mailport'), __('The sender of mail that names none (WordPress would use wordpress@your-domain).', 'mailport'));
        self::text('from_email', __('From address', 'mailport'), 'wordpress@example.com', 'email');
        self::text('from_name', __('From name', 'mailport'), get_bloginfo('name'));
        self::checkbox('force_from', __('Force From', 'mailport'), __('Send all mail from this address and name, whatever a plugin sets (its Reply-To stays).', 'mailport'));
        echo '</table>';

        self::section(__('Delivery', 'mailport'), '');
        self::delivery();
        echo '</table>';

        self::section(__('Backup connection', 'mailport'), __('Tried at once when the connection above fails, so that mail still goes out while your provider is down. Leave the host empty for none.', 'mailport'));
        self::text('backup_host', __('SMTP host', 'mailport'), 'smtp.backup.example.net');
        self::port('backup_port', __('Port', 'mailport'));
        self::security('backup_security', __('Security', 'mailport'));
        self::text('backup_user', __('User name', 'mailport'), '', 'off');
        self::password('backup_password', __('Password', 'mailport'));
        echo '</table>';

        self::section(__('Email log and alerts', 'mailport'), '');
        self::text('retention_days', __('Keep the log for (days)', 'mailport'), '30', 'number');
        self::checkbox('alert_email', __('Alert by email', 'mailport'), sprintf(
            /* translators: %s: the site admin's email address */
            __('Email %s when delivery starts failing and when it recovers (through the backup connection when there is one). Never one per failed message.', 'mailport'),
            (string) get_option('admin_email'),
        ));
        self::text('alert_webhook', __('Alert webhook', 'mailport'), 'https://hooks.example.com/…', 'url');
        echo '</table>';

        submit_button(__('Save settings', 'mailport'), 'primary', 'submit', true, ['id' => 'mailport-save']);
        echo '</form>';
    }

    private static function section(string $title, string $description): void
    {
        printf('<h2 class="title">%s</h2>', esc_html($title));
        if ($description !== '') {
            printf('<p>%s</p>', esc_html($description));
        }
        echo '<table class="form-table" role="presentation">';
    }

    /** The input's name, id and, when a constant sets it, the disabled attribute and the note. */
    private static function attrs(string $key): array
    {
        $locked = Mailport_Settings::locked($key);
        return [
            sprintf('name="%s[%s]" id="mailport-%s"%s', esc_attr(Mailport_Settings::OPTION), esc_attr($key), esc_attr($key), $locked ? ' disabled' : ''),
            $locked ? sprintf(
                '<p class="description mailport-locked">%s</p>',
                esc_html(sprintf(
                    /* translators: %s: a constant's name */
                    __('Set by %s in wp-config.php.', 'mailport'),
                    Mailport_Settings::FIELDS[$key][0],
                )),
            ) : '',
        ];
    }

    private static function row(string $key, string $label, string $control, string $after = '', string $class = ''): void
    {
        printf(
            '<tr%s><th scope="row"><label for="mailport-%s">%s</label></th><td>%s%s</td></tr>',
            $class !== '' ? ' class="' . esc_attr($class) . '"' : '',
            esc_attr($key),
            esc_html($label),
            $control,
            $after,
        );
    }

    private static function text(string $key, string $label, string $placeholder, string $type = 'text', string $class = ''): void
    {
        [$attrs, $note] = self::attrs($key);
        $autocomplete = $type === 'off' ? ' autocomplete="off"' : '';
        $type = $type === 'off' ? 'text' : $type;
        self::row($key, $label, sprintf(
            '<input type="%s" class="%s" %s value="%s" placeholder="%s"%s>',
            esc_attr($type),
            $type === 'number' ? 'small-text' : 'regular-text',
            $attrs,
            esc_attr((string) Mailport_Settings::get($key)),
            esc_attr($placeholder),
            $autocomplete,
        ), $note, $class);
    }

    private static function port(string $key, string $label): void
    {
        [$attrs, $note] = self::attrs($key);
        $choices = [
            'auto' => __('automatic: try 587, 465 and 2525, keep what works', 'mailport'),
            '587' => __('submission with STARTTLS (recommended)', 'mailport'),
            '465' => __('implicit TLS ("SSL")', 'mailport'),
            '2525' => __('STARTTLS where 587 is blocked', 'mailport'),
            '25' => __('server-to-server relay (often blocked)', 'mailport'),
        ];
        $options = '';
        foreach ($choices as $port => $text) {
            $options .= sprintf('<option value="%s">%s</option>', esc_attr((string) $port), esc_html($text));
        }
        // Any port may be typed (providers use others); the list suggests the usual ones.
        self::row($key, $label, sprintf(
            '<input type="text" class="mailport-port" style="width:8em" %s value="%s" list="mailport-%s-choices" pattern="auto|[0-9]{1,5}"><datalist id="mailport-%s-choices">%s</datalist><p class="description">%s</p>',
            $attrs,
            esc_attr((string) Mailport_Settings::get($key)),
            esc_attr($key),
            esc_attr($key),
            $options,
            esc_html__('587 (STARTTLS), 465 (TLS), 2525, 25, another number, or auto.', 'mailport'),
        ), $note);
    }

    private static function security(string $key, string $label): void
    {
        [$attrs, $note] = self::attrs($key);
        $value = (string) Mailport_Settings::get($key);
        $choices = [
            'auto' => __('Automatic, by port (465: TLS; others: STARTTLS required)', 'mailport'),
            'starttls' => __('STARTTLS (required: nothing is sent unencrypted)', 'mailport'),
            'tls' => __('TLS from the first byte', 'mailport'),
            'none' => __('None (only for a relay on this machine; no login)', 'mailport'),
        ];
        $options = '';
        foreach ($choices as $mode => $text) {
            $options .= sprintf('<option value="%s"%s>%s</option>', esc_attr($mode), selected($value, $mode, false), esc_html($text));
        }
        self::row($key, $label, "<select $attrs>$options</select>", $note);
    }

    private static function password(string $key, string $label, string $class = '', ?string $saved_text = null, ?string $clear_text = null): void
    {
        [$attrs, $note] = self::attrs($key);
        if (Mailport_Settings::locked($key)) {
            self::row($key, $label, '<input type="password" class="regular-text" ' . $attrs . ' value="" placeholder="••••••••">', $note, $class);
            return;
        }
        $saved = Mailport_Settings::has_secret($key);
        $after = '';
        if ($saved) {
            $after = sprintf(
                '<p class="description">%s</p><label><input type="checkbox" name="%s[%s_clear]" value="1" id="mailport-%s-clear"> %s</label>',
                esc_html(Mailport_Settings::secret_unreadable($key)
                    ? __('A password is saved but can no longer be decrypted (the site\'s salts changed): enter it again.', 'mailport')
                    : ($saved_text ?? __('A password is saved (encrypted). Leave the field empty to keep it.', 'mailport'))),
                esc_attr(Mailport_Settings::OPTION),
                esc_attr($key),
                esc_attr($key),
                esc_html($clear_text ?? __('Remove the saved password', 'mailport')),
            );
        }
        self::row($key, $label, sprintf(
            '<input type="password" class="regular-text" %s value="" autocomplete="new-password" placeholder="%s">',
            $attrs,
            esc_attr($saved ? '••••••••' : ''),
        ), $after, $class);
    }

    /** How the site signs in: the password, or OAuth 2.0 with Google or Microsoft 365. */
    private static function sign_in(): void
    {
        [$attrs, $note] = self::attrs('oauth_provider');
        $value = (string) Mailport_Settings::get('oauth_provider');
        $choices = [
            '' => __('Password (or app password)', 'mailport'),
            'google' => __('Google (Gmail, Google Workspace): OAuth 2.0', 'mailport'),
            'microsoft' => __('Microsoft 365 (Exchange Online, Outlook.com): OAuth 2.0', 'mailport'),
        ];
        $options = '';
        foreach ($choices as $provider => $text) {
            $options .= sprintf('<option value="%s"%s>%s</option>', esc_attr($provider), selected($value, $provider, false), esc_html($text));
        }
        self::row('oauth_provider', __('Sign-in', 'mailport'), "<select $attrs>$options</select>", $note . '<p class="description">'
            . esc_html__('Microsoft turns password sign-in for SMTP off, and Google allows only app passwords: with OAuth 2.0 the site signs in with a token you grant once with "Connect". The user name is then the mailbox\'s address.', 'mailport')
            . '</p>');
    }

    private static function checkbox(string $key, string $label, string $text): void
    {
        [$attrs, $note] = self::attrs($key);
        self::row($key, $label, sprintf(
            '<label><input type="checkbox" %s value="1"%s> %s</label>',
            $attrs,
            checked((bool) Mailport_Settings::get($key), true, false),
            esc_html($text),
        ), $note);
    }

    private static function delivery(): void
    {
        [$attrs, $note] = self::attrs('delivery');
        $value = (string) Mailport_Settings::get('delivery');
        $choices = [
            'direct-then-queue' => __('Send at once; queue when it fails for a reason that may pass (recommended)', 'mailport'),
            'direct' => __('Send at once; a failure fails wp_mail()', 'mailport'),
            'queue' => __('Always queue: pages never wait for the SMTP server', 'mailport'),
        ];
        $options = '';
        foreach ($choices as $mode => $text) {
            $options .= sprintf('<option value="%s"%s>%s</option>', esc_attr($mode), selected($value, $mode, false), esc_html($text));
        }
        $ffi = mailport_ffi_usable()
            ? __('PHP allows FFI in web requests here: mail can be sent at once.', 'mailport')
            : __('PHP does not allow FFI in web requests here (ffi.enable=preload without the preload set-up), so every mail is queued whatever is chosen, and the worker sends it: run "wp mailport outbox run" from the system cron every minute.', 'mailport');
        self::row('delivery', __('Delivery', 'mailport'), "<select $attrs>$options</select>", $note . '<p class="description" id="mailport-ffi-status">' . esc_html($ffi) . '</p>');
    }
}

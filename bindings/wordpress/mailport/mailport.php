<?php
/**
 * Plugin Name:       Mailport SMTP
 * Plugin URI:        https://github.com/mailport/mailport/tree/main/bindings/wordpress
 * Description:       Sends every wp_mail() through your SMTP server with libmailport: STARTTLS or implicit TLS with verified certificates, AUTH, attachments streamed from disk, and errors that say what to fix. Configured with MAILPORT_* constants in wp-config.php.
 * Version:           0.1.0
 * Requires at least: 5.7
 * Requires PHP:      8.1
 * License:           MIT OR Apache-2.0
 * Text Domain:       mailport
 *
 * How it works: the plugin answers WordPress's `pre_wp_mail` filter (WordPress 5.7+). When
 * MAILPORT_HOST is not defined it returns null and WordPress sends as it always did; otherwise it
 * builds the message from the (already `wp_mail`-filtered) arguments with Mailport\WpMail, runs
 * the wp_mail_from, wp_mail_from_name, wp_mail_content_type and wp_mail_charset filters, sends it
 * with a Mailport\Client kept for the rest of the request, fires wp_mail_succeeded or
 * wp_mail_failed, and returns true or false, as wp_mail() does. See README.md.
 *
 * The PHP binding (the Mailport\ classes) is found, first match wins:
 *   1. already loaded (opcache.preload=…/preload.php, or a site-wide Composer autoloader);
 *   2. the MAILPORT_PHP_BINDING constant: the binding's autoload.php, or its directory;
 *   3. a copy inside this plugin: vendor/mailport/autoload.php (the binding's directory copied
 *      there for distribution), or vendor/autoload.php (composer require mailport/mailport);
 *   4. the mailport checkout this plugin sits in: ../../php/autoload.php, i.e. bindings/php next
 *      to bindings/wordpress.
 *
 * The plugin zip (package.sh) bundles libmailport for linux x86_64 in vendor/mailport/lib/; the
 * plugin verifies that copy (SHA-256 and ABI) before the binding may load it: see
 * includes/library.php.
 */

defined('ABSPATH') || exit;

const MAILPORT_PLUGIN_VERSION = '0.1.0';

// Whether this request may use FFI, decided before anything can autoload the binding.
mailport_ffi_usable();

require_once __DIR__ . '/includes/class-mailport-settings.php';
require_once __DIR__ . '/includes/class-mailport-oauth.php';
require_once __DIR__ . '/includes/class-mailport-queue.php';
require_once __DIR__ . '/includes/class-mailport-worker.php';
require_once __DIR__ . '/includes/class-mailport-health.php';
if (is_admin()) {
    require_once __DIR__ . '/includes/admin/class-mailport-admin.php';
    Mailport_Admin::init();
}
Mailport_Health::init();

/**
 * Load the PHP binding (see the file header). Returns null when it is available, else why not.
 */
function mailport_load_binding(): ?string
{
    static $result = false;
    if ($result !== false) {
        return $result;
    }
    if (class_exists('Mailport\\Client', false)) {
        return $result = null;
    }
    $candidates = [];
    if (defined('MAILPORT_PHP_BINDING') && MAILPORT_PHP_BINDING !== '') {
        $path = (string) MAILPORT_PHP_BINDING;
        $candidates[] = is_dir($path) ? rtrim($path, '/\\') . '/autoload.php' : $path;
    } else {
        $candidates[] = __DIR__ . '/vendor/mailport/autoload.php';
        $candidates[] = __DIR__ . '/vendor/autoload.php';
        $candidates[] = dirname(__DIR__, 2) . '/php/autoload.php';
    }
    foreach ($candidates as $file) {
        if (is_file($file)) {
            require_once $file;
            if (class_exists('Mailport\\Client')) {
                return $result = null;
            }
        }
    }
    return $result = sprintf(
        'the mailport PHP binding (Mailport\\Client) was not found; looked for %s. Define MAILPORT_PHP_BINDING in wp-config.php as the path of the binding\'s autoload.php, or copy the binding (bindings/php) to %s',
        implode(', ', $candidates),
        __DIR__ . '/vendor/mailport',
    );
}

/**
 * Point the binding at MAILPORT_LIBRARY (the path of libmailport.so) and MAILPORT_FFI_HEADER (the
 * path of mailport_ffi.h) before it loads the library. Without them the binding looks for both
 * itself (see Mailport\Native: the MAILPORT_LIBRARY environment variable, the library bundled in
 * vendor/mailport/lib/, the checkout's target/, the system's library path; for the header, the
 * binding's include/ and the checkout's). Every path to the library passes here, so this is where
 * a bundled copy that failed its checks (includes/library.php) is refused: it throws a
 * Mailport\Exception\LibraryException saying why.
 */
function mailport_configure_library(): void
{
    $refused = mailport_library_refusal();
    if ($refused !== null) {
        throw \Mailport\Exception\LibraryException::because($refused);
    }
    static $done = false;
    if ($done) {
        return;
    }
    $done = true;
    $library = defined('MAILPORT_LIBRARY') && MAILPORT_LIBRARY !== '' ? (string) MAILPORT_LIBRARY : null;
    $header = defined('MAILPORT_FFI_HEADER') && MAILPORT_FFI_HEADER !== '' ? (string) MAILPORT_FFI_HEADER : null;
    if (($library !== null || $header !== null) && \Mailport\Native::libraryPath() === null) {
        \Mailport\Native::configure($library, $header);
    }
}

/** Whether mailport is configured: a host in MAILPORT_HOST or on the Settings screen. */
function mailport_is_configured(): bool
{
    $host = Mailport_Settings::get('host');
    return is_string($host) && $host !== '';
}

/** A configuration mistake found by the plugin, as a Mailport exception (it carries a hint). */
function mailport_config_error(string $message, string $hint = ''): \Mailport\Exception\InvalidArgumentException
{
    return new \Mailport\Exception\InvalidArgumentException(
        new \Mailport\Exception\ErrorInfo(\Mailport\ErrorCode::INVALID_ARGUMENT, $message, $hint)
    );
}

/**
 * A Config for the main connection ($prefix '') or the backup one ('backup_'): host, port,
 * security and login from the settings.
 */
function mailport_connection_config(string $prefix): \Mailport\Config
{
    $config = new \Mailport\Config(host: (string) Mailport_Settings::get($prefix . 'host'));
    // Hints then name this screen's fields and wp-config.php's constants, not the PHP binding's
    // arguments (caFile, security: 'tls') that an admin never writes.
    $config->setBinding('wordpress');

    $port = Mailport_Settings::get($prefix . 'port');
    if ($port !== '' && $port !== null) {
        if (is_string($port) && ctype_digit($port)) {
            $port = (int) $port;
        }
        if (!is_int($port) && !(is_string($port) && strtolower($port) === 'auto')) {
            throw mailport_config_error(
                sprintf('%s must be a port number or "auto", not %s', Mailport_Settings::source($prefix . 'port'), var_export($port, true)),
                "for example define('MAILPORT_PORT', 587);",
            );
        }
        $config->setPort($port);
    }
    $security = Mailport_Settings::get($prefix . 'security');
    if ($security !== '' && $security !== null) {
        try {
            $config->setSecurity((string) $security);
        } catch (\Mailport\Exception\InvalidArgumentException $e) {
            throw mailport_config_error(
                Mailport_Settings::source($prefix . 'security') . ': ' . $e->getErrorMessage(),
                "use 'starttls' (port 587 and 2525), 'tls' (port 465, also called SSL/SMTPS), 'auto' (by port) or 'none' (no encryption: only for a relay on the same machine)",
            );
        }
    }

    $user = (string) Mailport_Settings::get($prefix . 'user');
    $password = Mailport_Settings::get($prefix . 'password');
    if ($password === false && Mailport_Settings::locked($prefix . 'password')) {
        // define('MAILPORT_PASSWORD', getenv('SMTP_PASSWORD')) where the variable is not set.
        throw mailport_config_error(
            sprintf('%s is false: the value it was given (often getenv()) was not set', Mailport_Settings::source($prefix . 'password')),
            'php-fpm clears its workers\' environment (clear_env) unless told otherwise, so getenv() finds nothing there: write the password itself into wp-config.php, or leave the constant out and save the password on Settings > Mailport (stored encrypted)',
        );
    }
    if (Mailport_Settings::secret_unreadable($prefix . 'password')) {
        throw mailport_config_error(
            sprintf('the saved password of %s cannot be decrypted: the site\'s salts in wp-config.php changed since it was saved', $prefix === '' ? 'the connection' : 'the backup connection'),
            'enter the password again on Settings > Mailport',
        );
    }
    $password = (string) $password;
    $token = $prefix === '' && defined('MAILPORT_OAUTH_TOKEN') ? (string) MAILPORT_OAUTH_TOKEN : '';
    if ($prefix === '' && Mailport_OAuth::provider() !== null && $token === '') {
        // Google or Microsoft 365: the library refreshes the access token with the stored refresh token.
        Mailport_OAuth::apply($config);
    } elseif ($user !== '') {
        if ($token !== '') {
            $config->setOAuth2Token($user, $token);
        } elseif ($password !== '') {
            $config->setCredentials($user, $password);
        } else {
            throw mailport_config_error(
                sprintf('%s is set but no password is', Mailport_Settings::source($prefix . 'user')),
                'enter the password on Settings > Mailport (or define MAILPORT_PASSWORD in wp-config.php), or clear the user name if the server needs no login',
            );
        }
    } elseif ($password !== '' || $token !== '') {
        throw mailport_config_error(
            sprintf('a password is set without a user name (%s)', Mailport_Settings::source($prefix . 'user')),
            'enter the login name as the user on Settings > Mailport, or define MAILPORT_USER in wp-config.php',
        );
    }

    // The time limit and the private CAs apply to the backup connection too.
    if (defined('MAILPORT_TIMEOUT') && MAILPORT_TIMEOUT !== '' && MAILPORT_TIMEOUT !== null) {
        if (!is_numeric(MAILPORT_TIMEOUT) || MAILPORT_TIMEOUT <= 0) {
            throw mailport_config_error(
                sprintf('MAILPORT_TIMEOUT must be a number of seconds above 0, not %s', var_export(MAILPORT_TIMEOUT, true)),
            );
        }
        // The longest one wp_mail() call may take; no single step waits longer than that either.
        $ms = max(1, (int) round((float) MAILPORT_TIMEOUT * 1000));
        $config->setSendTimeoutMs($ms);
        $config->setConnectTimeoutMs(min($ms, 10000));
        $config->setCommandTimeoutMs(min($ms, 60000));
        $config->setDataTimeoutMs(min($ms, 120000));
    }
    if (defined('MAILPORT_CA_FILE') && MAILPORT_CA_FILE !== '' && MAILPORT_CA_FILE !== null) {
        foreach ((array) MAILPORT_CA_FILE as $file) {
            $file = (string) $file;
            if (!is_file($file) || !is_readable($file)) {
                throw mailport_config_error(
                    sprintf('MAILPORT_CA_FILE: %s %s', $file, file_exists($file) ? 'cannot be read by PHP' : 'does not exist'),
                    'give the path of the PEM file of the CA that signed the server\'s certificate, readable by the web server\'s user',
                );
            }
            $config->addCaFile($file);
        }
    }

    return $config;
}

/** The backup connection's Config, or null when none is set. */
function mailport_backup_config(): ?\Mailport\Config
{
    $host = Mailport_Settings::get('backup_host');
    return is_string($host) && $host !== '' ? mailport_connection_config('backup_') : null;
}

/**
 * The Mailport\Config the settings describe (MAILPORT_* constants, else Settings > Mailport).
 * Throws a Mailport exception when the binding or libmailport cannot be loaded or a setting has a
 * wrong value.
 */
function mailport_config(): \Mailport\Config
{
    $missing = mailport_load_binding();
    if ($missing !== null) {
        throw new RuntimeException($missing);
    }
    if (!mailport_is_configured()) {
        throw mailport_config_error(
            'mailport is not configured: no SMTP host is set',
            "enter the host on Settings > Mailport, or define('MAILPORT_HOST', 'smtp.example.com'); in wp-config.php",
        );
    }
    mailport_configure_library();
    $config = mailport_connection_config('');
    if (defined('MAILPORT_PERSISTENT') && MAILPORT_PERSISTENT) {
        // Keep the authenticated session in the php-fpm worker for its next requests.
        $idle = is_numeric(MAILPORT_PERSISTENT) && (int) MAILPORT_PERSISTENT > 1 ? (int) MAILPORT_PERSISTENT : 60;
        $config->setPersistent(true, $idle * 1000);
    }

    /**
     * Fires with the Config made from the MAILPORT_* constants, before the client is made: the
     * place for settings without a constant (setHeloName, setTlsServerName, ...).
     *
     * @param \Mailport\Config $config
     */
    do_action('mailport_config', $config);

    return $config;
}

/**
 * The client for this request, made on first use and kept in a static (one SMTP session for all
 * the mail of a request; closed with QUIT at shutdown).
 */
function mailport_client(): \Mailport\Client
{
    static $client = null;
    if ($client === null) {
        $config = mailport_config();
        if (mailport_delivery_mode() === 'direct-then-queue') {
            mailport_direct_budget($config);
        }
        $client = new \Mailport\Client($config);
        add_action('shutdown', static function () use (&$client): void {
            if ($client !== null) {
                try {
                    $client->close();
                } catch (Throwable $e) {
                    // The request is over; a failed QUIT changes nothing.
                }
            }
        }, PHP_INT_MAX);
    }
    return $client;
}

/**
 * Where a mail that cannot go out now is queued instead (direct-then-queue), a page waits for
 * the SMTP server only this long: MAILPORT_DIRECT_BUDGET seconds (10 by default, and never more
 * than MAILPORT_TIMEOUT), connecting within 5. A server slower than that is a transient failure,
 * and the mail waits in the outbox for the worker, which has the full timeouts.
 */
function mailport_direct_budget(\Mailport\Config $config): void
{
    $budget = defined('MAILPORT_DIRECT_BUDGET') && is_numeric(MAILPORT_DIRECT_BUDGET) && MAILPORT_DIRECT_BUDGET > 0
        ? (float) MAILPORT_DIRECT_BUDGET : 10.0;
    if (defined('MAILPORT_TIMEOUT') && is_numeric(MAILPORT_TIMEOUT) && MAILPORT_TIMEOUT > 0) {
        $budget = min($budget, (float) MAILPORT_TIMEOUT);
    }
    $ms = max(1, (int) round($budget * 1000));
    $config->setSendTimeoutMs($ms);
    $config->setConnectTimeoutMs(min($ms, 5000));
    $config->setCommandTimeoutMs($ms);
    $config->setDataTimeoutMs($ms);
}

/** The receipt of the last message this request sent through mailport, or null. */
function mailport_last_receipt(?\Mailport\Receipt $set = null): ?\Mailport\Receipt
{
    static $last = null;
    if ($set !== null) {
        $last = $set;
    }
    return $last;
}

/** A filter's result as a string: WordPress casts what PHPMailer gets, so do we. */
function mailport_filter_string(string $filter, $value): string
{
    if (is_string($value)) {
        return $value;
    }
    if (is_scalar($value) || $value === null || $value instanceof Stringable) {
        return (string) $value;
    }
    throw mailport_config_error(
        sprintf('the %s filter returned %s, not a string', $filter, get_debug_type($value)),
        sprintf('check the callbacks hooked to %s', $filter),
    );
}

/**
 * The `pre_wp_mail` filter: null (let WordPress send) when mailport is not configured or another
 * callback already decided; otherwise sends and returns what wp_mail() returns.
 *
 * @param null|bool $return
 * @param array     $atts   wp_mail()'s arguments, after the `wp_mail` filter
 */
function mailport_pre_wp_mail($return, $atts)
{
    if ($return !== null || !mailport_is_configured()) {
        return $return;
    }
    $atts = is_array($atts) ? $atts : [];
    $mode = mailport_delivery_mode();
    if ($mode === 'queue') {
        return mailport_queue_mail($atts);
    }
    return mailport_wp_mail($atts, $mode === 'direct-then-queue');
}
add_filter('pre_wp_mail', 'mailport_pre_wp_mail', 10, 2);

/**
 * How this request delivers mail: MAILPORT_DELIVERY ('queue', 'direct' or 'direct-then-queue')
 * where FFI works in it, else 'queue' (sending needs the library, and a web request under PHP's
 * default ffi.enable=preload may not call it unless the binding was preloaded). Without the
 * constant: 'direct-then-queue' where FFI works (send at once, queue when the failure may pass),
 * else 'queue'. A mail is never failed for want of FFI: it waits for `wp mailport outbox run`.
 */
function mailport_delivery_mode(): string
{
    $wanted = (string) Mailport_Settings::get('delivery');
    if (!in_array($wanted, ['queue', 'direct', 'direct-then-queue'], true)) {
        // The admin notice says so; the mail is kept rather than lost.
        return 'queue';
    }
    return $wanted !== 'queue' && !mailport_ffi_usable() ? 'queue' : $wanted;
}

/**
 * Whether this request may call the library through FFI: ffi.enable=true, or "preload" (PHP's
 * default) in the command line or with the binding preloaded (preload.php).
 */
function mailport_ffi_usable(): bool
{
    static $usable = null;
    if ($usable !== null) {
        return $usable;
    }
    if (!extension_loaded('ffi')) {
        return $usable = false;
    }
    $mode = strtolower(trim((string) ini_get('ffi.enable')));
    if (in_array($mode, ['1', 'on', 'true', 'yes'], true)) {
        return $usable = true;
    }
    if ($mode !== 'preload') {
        return $usable = false;
    }
    // Preloaded classes exist before any autoloader runs: this is asked first when the plugin
    // loads (below), before anything could autoload the binding in this request.
    return $usable = in_array(PHP_SAPI, ['cli', 'phpdbg'], true) || class_exists('Mailport\\Native', false);
}

/**
 * Queue one wp_mail() call in the outbox table (see Mailport_Queue): true once the row is
 * written, with wp_mail_succeeded fired (its data carries `mailport_queued`, the entry id), or
 * false with wp_mail_failed, as wp_mail() does.
 */
function mailport_queue_mail(array $atts, ?Throwable $because = null): bool
{
    $mail_data = mailport_mail_data($atts);
    $id = Mailport_Queue::enqueue($atts);
    if ($id instanceof WP_Error) {
        $data = $mail_data + ['mailport_code' => 'MAILPORT_QUEUE_FAILED', 'hint' => $id->get_error_data()['hint'] ?? ''];
        if ($because !== null) {
            $data['send_error'] = $because->getMessage();
        }
        do_action('wp_mail_failed', new WP_Error('wp_mail_failed', $id->get_error_message(), $data));
        return false;
    }
    /**
     * Fires when a mail is queued rather than sent: by the delivery mode, or because sending at
     * once failed for a reason that may pass ($because).
     *
     * @param string         $id        the outbox entry id
     * @param array          $mail_data as wp_mail_succeeded gets it
     * @param Throwable|null $because   the failure of the direct attempt, if there was one
     */
    do_action('mailport_queued', $id, $mail_data, $because);
    /** This action is documented in wp-includes/pluggable.php */
    do_action('wp_mail_succeeded', $mail_data + ['mailport_queued' => $id]);
    return true;
}

/**
 * wp_mail()'s $attachments as an array (WordPress also takes a newline-separated string); an
 * array's string keys, WordPress 6.x's file names, are kept.
 */
function mailport_attachments($attachments): array
{
    if (is_array($attachments)) {
        return $attachments;
    }
    return $attachments === '' || $attachments === null
        ? [] : explode("\n", str_replace("\r\n", "\n", (string) $attachments));
}

/** What wp_mail_succeeded / wp_mail_failed receive, as WordPress documents it. */
function mailport_mail_data(array $atts): array
{
    $to = $atts['to'] ?? [];
    $attachments = mailport_attachments($atts['attachments'] ?? []);
    $data = [
        'to' => is_array($to) ? array_values(array_map('strval', $to)) : [(string) $to],
        'subject' => (string) ($atts['subject'] ?? ''),
        'message' => (string) ($atts['message'] ?? ''),
        'headers' => $atts['headers'] ?? '',
        'attachments' => $attachments,
    ];
    if (!empty($atts['embeds'])) {
        $data['embeds'] = $atts['embeds'];
    }
    return $data;
}

/**
 * Send one wp_mail() call through mailport: true when the server accepted it (wp_mail_succeeded
 * fired), false otherwise (wp_mail_failed fired with a WP_Error carrying mailport's details).
 *
 * @param array $atts to, subject, message, headers, attachments (and embeds, WordPress 6.9)
 */
function mailport_wp_mail(array $atts, bool $queue_if_transient = false): bool
{
    $mail_data = mailport_mail_data($atts);
    $to = $atts['to'] ?? [];
    $to_list = is_array($to) ? $mail_data['to'] : (string) $to;
    $subject = $mail_data['subject'];
    $message = $mail_data['message'];
    $headers = $atts['headers'] ?? '';
    $headers = is_array($headers) ? array_values(array_map('strval', $headers)) : (string) $headers;
    $mail_data['headers'] = $headers;
    $attachments = $mail_data['attachments'];
    $embeds = $atts['embeds'] ?? [];

    $sender = null;
    $envelope = null;
    try {
        $missing = mailport_load_binding();
        if ($missing !== null) {
            throw new RuntimeException($missing);
        }
        $client = mailport_client();

        $wp = new \Mailport\WpMail($to_list, $subject, $message, $headers, $attachments, is_array($embeds) ? $embeds : []);
        $host = wp_parse_url(network_home_url(), PHP_URL_HOST);
        if (is_string($host) && $host !== '') {
            $wp->setSiteDomain($host);
        }
        $charset = get_bloginfo('charset');
        if (is_string($charset) && $charset !== '') {
            $wp->setDefaultCharset($charset);
        }
        $from = mailport_setting_string('from_email');
        $from_name = mailport_setting_string('from_name');
        if ($from !== null || $from_name !== null) {
            $wp->setDefaultFrom($from, $from_name);
        }

        // WordPress's filters, on the values its own parsing gives (wp_mail_from gets the From
        // header's address, or the default).
        foreach (\Mailport\WpValue::cases() as $which) {
            $parsed = $wp->parsedValue($which);
            $filtered = mailport_filter_string($which->filter(), apply_filters($which->filter(), $parsed));
            $wp->override($which, $filtered === $parsed ? null : $filtered);
            if ($which === \Mailport\WpValue::FROM_EMAIL) {
                $sender = $filtered;
            }
        }
        // Force From: the configured sender, whatever the call or a filter said.
        if (Mailport_Settings::get('force_from')) {
            if ($from === null) {
                throw mailport_config_error(
                    sprintf('%s is set but no From address is (%s)', Mailport_Settings::source('force_from'), Mailport_Settings::source('from_email')),
                    "enter the From address on Settings > Mailport, or define('MAILPORT_FROM', 'wordpress@your-domain'); in wp-config.php",
                );
            }
            $wp->override(\Mailport\WpValue::FROM_EMAIL, $from);
            $sender = $from;
            if ($from_name !== null) {
                $wp->override(\Mailport\WpValue::FROM_NAME, $from_name);
            }
        }

        $built = $wp->build();
        $wp->close();
        if (defined('MAILPORT_ENVELOPE_SENDER') && MAILPORT_ENVELOPE_SENDER !== '' && MAILPORT_ENVELOPE_SENDER !== null) {
            $envelope = (string) MAILPORT_ENVELOPE_SENDER;
            $built->setEnvelopeFrom($envelope);
        }

        /**
         * Fires with the built message just before it is sent: the place to add what wp_mail()'s
         * arguments cannot express (mailport has no phpmailer_init).
         *
         * @param \Mailport\Message $built
         * @param array             $atts  wp_mail()'s arguments
         */
        do_action('mailport_before_send', $built, $atts);

        $receipt = $client->send($built);
        $built->close();
        mailport_last_receipt($receipt);
        Mailport_OAuth::worked();
        Mailport_Queue::log_direct($subject, (string) ($envelope ?? $sender ?? ''), [], $receipt, null);
    } catch (Throwable $e) {
        Mailport_OAuth::failed_with($e);
        if ($queue_if_transient && $e instanceof \Mailport\Exception\ExceptionInterface && $e->isTransient()) {
            return mailport_queue_mail($atts, $e);
        }
        Mailport_Queue::log_direct($subject, (string) ($envelope ?? $sender ?? ''), $mail_data['to'], null, $e);
        do_action('wp_mail_failed', new WP_Error('wp_mail_failed', $e->getMessage(), $mail_data + mailport_error_data($e)));
        return false;
    }

    /** This action is documented in wp-includes/pluggable.php */
    do_action('wp_mail_succeeded', $mail_data);
    return true;
}

/**
 * What wp_mail_failed's WP_Error data carries besides the mail data: mailport_code (e.g.
 * "MAILPORT_ERR_AUTH_FAILED"), reply_code (e.g. 535, or 0), enhanced_status ("5.7.8" or ""),
 * server_reply, hint, transcript (redacted: no passwords), transient, and when present
 * invalid_addresses and rejected_recipients.
 */
function mailport_error_data(Throwable $e): array
{
    if ($e instanceof \Mailport\Exception\ExceptionInterface) {
        $data = [
            'mailport_code' => $e->getName(),
            // The message alone: the WP_Error's text also carries the hint, for loggers that
            // read only that; screens show the hint in its own row.
            'error_message' => $e->getErrorMessage(),
            'reply_code' => $e->getReplyCode(),
            'enhanced_status' => $e->getEnhancedStatus(),
            'server_reply' => $e->getServerReply(),
            'hint' => $e->getHint(),
            'transcript' => $e->getTranscript(),
            'transient' => $e->isTransient(),
        ];
        $invalid = $e->getInvalidAddresses();
        if ($invalid) {
            $data['invalid_addresses'] = array_map(static fn ($a): array => [
                'field' => $a->field, 'input' => $a->input, 'reason' => $a->reason,
            ], $invalid);
        }
        $rejected = $e->getRejected();
        if ($rejected) {
            $data['rejected_recipients'] = array_map(static fn ($r): array => [
                'address' => $r->address, 'reply_code' => $r->replyCode, 'reply' => $r->reply,
            ], $rejected);
        }
        return $data;
    }
    return [
        'mailport_code' => 'MAILPORT_PLUGIN_ERROR',
        'reply_code' => 0,
        'enhanced_status' => '',
        'server_reply' => '',
        'hint' => $e instanceof RuntimeException && mailport_load_binding() !== null
            ? 'install the mailport PHP binding (see the plugin\'s README.md)'
            : sprintf('%s in %s:%d', get_class($e), $e->getFile(), $e->getLine()),
        'transcript' => '',
        'transient' => false,
    ];
}

/**
 * Send a test mail to $to through wp_mail() (so through every filter, as any plugin's mail goes)
 * with mailport. Returns true, or a WP_Error saying why not (its data as wp_mail_failed's);
 * mailport_last_receipt() then has the server's reply. Callable from any PHP context once
 * WordPress is loaded, e.g. php -r 'require "wp-load.php"; var_dump(mailport_send_test_mail("me@example.com"));'
 *
 * @return true|WP_Error
 */
function mailport_send_test_mail(string $to)
{
    if (!mailport_is_configured()) {
        return new WP_Error('mailport_not_configured', 'mailport is not configured: no SMTP host is set (Settings > Mailport, or MAILPORT_HOST in wp-config.php)');
    }
    $error = null;
    $catch = static function ($e) use (&$error): void {
        $error = $e;
    };
    add_action('wp_mail_failed', $catch);
    try {
        $site = wp_specialchars_decode((string) get_bloginfo('name'), ENT_QUOTES);
        $body = sprintf(
            "This is a test mail from %s (%s), sent by the Mailport SMTP plugin %s through %s.\n\n"
            . "If you read this, wp_mail() works.\n\nSent %s by %s.\n",
            $site === '' ? 'WordPress' : $site,
            home_url('/'),
            MAILPORT_PLUGIN_VERSION,
            Mailport_Settings::get('host') . ':' . Mailport_Settings::get('port'),
            gmdate('Y-m-d H:i:s') . ' UTC',
            mailport_library_version(),
        );
        $sent = wp_mail($to, sprintf('Mailport test mail from %s', $site === '' ? 'WordPress' : $site), $body);
    } finally {
        remove_action('wp_mail_failed', $catch);
    }
    if ($sent) {
        return true;
    }
    return $error instanceof WP_Error ? $error : new WP_Error('wp_mail_failed', 'wp_mail() returned false');
}

/**
 * Check the configured server without sending anything (Mailport::probe): which ports work, which
 * to use and why, what is wrong with the others. With MAILPORT_PORT set to a number only that port
 * is checked, else 587, 465, 2525 and 25. Returns the Mailport\Report (->ok, ->summary,
 * ->findings, ->json); throws a Mailport exception when mailport is not configured or cannot load.
 *
 * @param list<int>|null $ports the ports to check instead
 */
function mailport_check_connection(?array $ports = null): \Mailport\Report
{
    $config = mailport_config();
    if ($ports === null && defined('MAILPORT_PORT') && (is_int(MAILPORT_PORT) || ctype_digit((string) MAILPORT_PORT))) {
        $ports = [(int) MAILPORT_PORT];
    }
    $deadline = null;
    if (defined('MAILPORT_TIMEOUT') && is_numeric(MAILPORT_TIMEOUT) && MAILPORT_TIMEOUT > 0) {
        $deadline = max(1, (int) round((float) MAILPORT_TIMEOUT * 1000));
    }
    return \Mailport\Mailport::probe($config, $ports, $deadline);
}

/** "mailport/0.1.0 rustls/…", or why the library is not available. */
function mailport_library_version(): string
{
    try {
        if (mailport_load_binding() !== null) {
            return 'mailport (PHP binding not found)';
        }
        mailport_configure_library();
        return \Mailport\Mailport::version();
    } catch (Throwable $e) {
        return 'mailport (library not loaded: ' . $e->getMessage() . ')';
    }
}

require_once __DIR__ . '/includes/library.php';
register_activation_hook(__FILE__, 'mailport_activate');

/**
 * The outbox's database URL for the library: MAILPORT_OUTBOX_DATABASE when defined (a
 * mysql:// URL), else WordPress's own database (DB_HOST, DB_USER, DB_PASSWORD, DB_NAME) and table
 * {$wpdb->prefix}mailport_outbox, the one Mailport_Queue writes. DB_HOST's forms: "host",
 * "host:port", "host:/path/to/socket", "[::1]:port"; "localhost" alone is the local socket, as
 * for PHP's mysqli.
 */
function mailport_outbox_url(): string
{
    global $wpdb;
    if (defined('MAILPORT_OUTBOX_DATABASE') && MAILPORT_OUTBOX_DATABASE !== '') {
        return (string) MAILPORT_OUTBOX_DATABASE;
    }
    $host = preg_replace('/^p:/', '', (string) DB_HOST);
    $port = null;
    $socket = null;
    if (preg_match('/^\[([^\]]+)\](?::(\d+))?$/', $host, $m)) {
        [$host, $port] = [$m[1], $m[2] ?? null];
    } elseif (substr_count($host, ':') === 1) {
        [$host, $rest] = explode(':', $host, 2);
        if (ctype_digit($rest)) {
            $port = $rest;
        } else {
            $socket = $rest;
        }
    }
    if ($host === '') {
        $host = 'localhost';
    }
    if ($host === 'localhost' && $port === null && $socket === null) {
        foreach ([ini_get('mysqli.default_socket'), ini_get('pdo_mysql.default_socket'), '/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock'] as $candidate) {
            if (is_string($candidate) && $candidate !== '' && file_exists($candidate)) {
                $socket = $candidate;
                break;
            }
        }
    }
    $authority = rawurlencode((string) DB_USER) . ':' . rawurlencode((string) DB_PASSWORD) . '@'
        . (str_contains($host, ':') ? "[$host]" : $host) . ($port !== null ? ":$port" : '');
    $query = ['prefix' => $wpdb->prefix];
    if ($socket !== null) {
        $query['socket'] = $socket;
    }
    return 'mysql://' . $authority . '/' . rawurlencode((string) DB_NAME) . '?' . http_build_query($query, '', '&', PHP_QUERY_RFC3986);
}

/** A setting as a non-empty string, or null. */
function mailport_setting_string(string $key): ?string
{
    $value = Mailport_Settings::get($key);
    return $value === null || $value === false || $value === '' ? null : (string) $value;
}

/** Tell administrators when MAILPORT_DELIVERY has a value the plugin does not know. */
function mailport_delivery_notice(): void
{
    if (!Mailport_Settings::locked('delivery') || !current_user_can('manage_options')) {
        return;
    }
    $mode = (string) Mailport_Settings::get('delivery');
    if (in_array($mode, ['queue', 'direct', 'direct-then-queue'], true)) {
        return;
    }
    printf(
        '<div class="notice notice-error"><p><strong>Mailport SMTP:</strong> %s</p></div>',
        esc_html(sprintf(
            /* translators: %s: the value of MAILPORT_DELIVERY */
            __('MAILPORT_DELIVERY is "%s", which is not one of queue, direct or direct-then-queue: mail is queued until it is fixed.', 'mailport'),
            $mode,
        )),
    );
}
add_action('admin_notices', 'mailport_delivery_notice');

if (defined('WP_CLI') && WP_CLI) {
    require_once __DIR__ . '/includes/class-mailport-cli-command.php';
    require_once __DIR__ . '/includes/class-mailport-outbox-command.php';
    WP_CLI::add_command('mailport', 'Mailport_CLI_Command');
    WP_CLI::add_command('mailport outbox', 'Mailport_Outbox_Command');
}

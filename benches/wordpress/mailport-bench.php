<?php
/**
 * The S5 benchmark's endpoint, served by benches/wordpress/serve.py (PHP's built-in server):
 *
 *     GET /mailport-bench.php?mode=MODE&port=SMTP_PORT&n=NUMBER
 *
 * Loads WordPress and calls wp_mail() once (to sink@example.com, subject "Benchmark message
 * NUMBER", a short plain-text body). Answers 200 "sent" when wp_mail() returned true (200
 * "loaded" in mode none), else 500 with the reason. MODE:
 *
 *   none        load WordPress, send nothing (what a WordPress request costs by itself);
 *   phpmailer   the mailport plugin is not loaded; WordPress's bundled PHPMailer sends over SMTP,
 *               configured in `phpmailer_init` as the SMTP plugins do it (see mu-plugin.php);
 *   mailport    the mailport plugin, configured by MAILPORT_* constants: 127.0.0.1:SMTP_PORT,
 *               STARTTLS, AUTH, the sink's CA; a new SMTP session per request;
 *   persistent  the same with MAILPORT_PERSISTENT: the authenticated session stays in the PHP
 *               process for its next requests.
 *
 * The constants are this request's wp-config.php (the SMTP port changes between requests: the
 * benchmark sends to the sink directly and through its delay proxy). WordPress is loaded as
 * wp-load.php does it, through tests/wp-bootstrap.php playing wp-config.php (Debian's
 * /usr/share/wordpress/wp-config.php would read /etc/wordpress).
 *
 * Settings from the server's environment (set by serve.py): MAILPORT_WP_BENCH_USER,
 * MAILPORT_WP_BENCH_PASSWORD, MAILPORT_WP_BENCH_CA, and MAILPORT_WP_BENCH_LIBRARY (only when the
 * binding is not preloaded: it becomes the MAILPORT_LIBRARY constant).
 */

declare(strict_types=1);

/** Answer with an error and stop (WordPress's shutdown hooks still run). */
function mailport_bench_fail(int $status, string $message): never
{
    if (!headers_sent()) {
        http_response_code($status);
        header('Content-Type: text/plain; charset=UTF-8');
    }
    echo $message, "\n";
    exit;
}

$mailport_bench = (static function (): array {
    $mode = $_GET['mode'] ?? '';
    if (!in_array($mode, ['none', 'phpmailer', 'mailport', 'persistent'], true)) {
        mailport_bench_fail(400, 'mode must be none, phpmailer, mailport or persistent');
    }
    $number = $_GET['n'] ?? '0';
    if (!is_string($number) || !ctype_digit($number)) {
        mailport_bench_fail(400, 'n must be a number');
    }
    $port = $_GET['port'] ?? '';
    if ($mode !== 'none' && (!is_string($port) || !ctype_digit($port) || (int) $port < 1 || (int) $port > 65535)) {
        mailport_bench_fail(400, 'port must be a TCP port number');
    }
    $setting = static function (string $name, bool $required = true): string {
        $value = getenv('MAILPORT_WP_BENCH_' . $name);
        if (($value === false || $value === '') && $required) {
            mailport_bench_fail(500, "the server's environment has no MAILPORT_WP_BENCH_$name");
        }
        return (string) $value;
    };

    $constants = [
        'WP_HOME' => 'http://blog.example.com',
        'WP_SITEURL' => 'http://blog.example.com',
        // As in production: WordPress reports warnings and errors only, and PHP logs them
        // (serve.py sets log_errors and error_log).
        'WP_DEBUG' => false,
        'MAILPORT_BENCH_MODE' => $mode,
    ];
    if ($mode === 'phpmailer') {
        $constants += [
            'MAILPORT_BENCH_SMTP_PORT' => (int) $port,
            'MAILPORT_BENCH_SMTP_USER' => $setting('USER'),
            'MAILPORT_BENCH_SMTP_PASSWORD' => $setting('PASSWORD'),
            'MAILPORT_BENCH_SMTP_CA' => $setting('CA'),
        ];
    } elseif ($mode === 'mailport' || $mode === 'persistent') {
        $constants += [
            'MAILPORT_HOST' => '127.0.0.1',
            'MAILPORT_PORT' => (int) $port,
            'MAILPORT_SECURITY' => 'starttls',
            'MAILPORT_USER' => $setting('USER'),
            'MAILPORT_PASSWORD' => $setting('PASSWORD'),
            'MAILPORT_CA_FILE' => $setting('CA'),
        ];
        $library = $setting('LIBRARY', false);
        if ($library !== '') {
            $constants['MAILPORT_LIBRARY'] = $library;
        }
        if ($mode === 'persistent') {
            $constants['MAILPORT_PERSISTENT'] = true;
        }
    }
    return ['mode' => $mode, 'number' => (int) $number, 'constants' => $constants];
})();

// wp-config.php, then wp-settings.php: at file scope, as wp-load.php requires them.
$mailport_wp_constants = $mailport_bench['constants'];
require dirname(realpath(__FILE__), 3) . '/bindings/wordpress/tests/wp-bootstrap.php';

(static function (string $mode, int $number): void {
    header('Content-Type: text/plain; charset=UTF-8');
    header('X-Bench-Mode: ' . $mode);
    // Where the time goes (for looking into a figure; the benchmark times the whole request):
    // from the request's start until WordPress was loaded, and wp_mail() itself, in µs.
    header(sprintf('X-Bench-Load-Us: %.0f', (microtime(true) - $_SERVER['REQUEST_TIME_FLOAT']) * 1e6));
    if ($mode === 'none') {
        echo 'loaded';
        return;
    }
    $mailport_loaded = function_exists('mailport_wp_mail');
    if ($mode === 'phpmailer' && $mailport_loaded) {
        mailport_bench_fail(500, 'phpmailer mode, but the mailport plugin was loaded');
    }
    if ($mode !== 'phpmailer' && !$mailport_loaded) {
        mailport_bench_fail(500, "$mode mode, but the mailport plugin was not loaded (is it active?)");
    }

    $error = null;
    add_action('wp_mail_failed', static function ($e) use (&$error): void {
        $error = $e;
    });
    $started = hrtime(true);
    $sent = wp_mail(
        'sink@example.com',
        "Benchmark message $number",
        "This is benchmark message $number, sent with wp_mail().\nA short plain-text body, as a contact form or a password reset sends.\n",
    );
    header(sprintf('X-Bench-Wp-Mail-Us: %.0f', (hrtime(true) - $started) / 1e3));

    if (!$sent) {
        $message = $error instanceof WP_Error ? $error->get_error_message() : 'wp_mail() returned false';
        $data = $error instanceof WP_Error ? $error->get_error_data() : null;
        if (is_array($data)) {
            foreach (['mailport_code', 'hint', 'phpmailer_exception_code'] as $key) {
                if (isset($data[$key]) && $data[$key] !== '' && !str_contains($message, "$key: ")) {
                    $message .= "\n$key: " . (is_scalar($data[$key]) ? $data[$key] : json_encode($data[$key]));
                }
            }
        }
        mailport_bench_fail(500, "wp_mail() failed in $mode mode: $message");
    }
    if ($mode === 'phpmailer') {
        // phpmailer_init ran: SMTP, not PHP's mail().
        global $phpmailer;
        if (!is_object($phpmailer) || ($phpmailer->Mailer ?? '') !== 'smtp') {
            mailport_bench_fail(500, 'wp_mail() returned true, but PHPMailer was not set up for SMTP');
        }
    } else {
        $receipt = mailport_last_receipt();
        if ($receipt === null) {
            mailport_bench_fail(500, 'wp_mail() returned true, but mailport sent nothing');
        }
        header('X-Mailport-Tls-Resumed: ' . ($receipt->tlsResumed ? '1' : '0'));
    }
    echo 'sent';
})($mailport_bench['mode'], $mailport_bench['number']);

<?php
/**
 * Plugin Name: mailport WordPress benchmark (S5)
 * Description: Installed by benches/wordpress/serve.py as a must-use plugin. Does nothing unless
 *              mailport-bench.php defined MAILPORT_BENCH_MODE for this request. In the
 *              "phpmailer" mode it keeps the mailport plugin from loading and configures
 *              WordPress's bundled PHPMailer for SMTP in `phpmailer_init`, the way WP Mail SMTP,
 *              Post SMTP and FluentSMTP do: STARTTLS and AUTH, the certificate verified against
 *              the sink's CA.
 *
 * Must-use plugins load before the regular ones, so the `option_active_plugins` filter below
 * takes effect for this request only; the active_plugins option itself is never changed.
 */

defined('ABSPATH') || exit;

if (!defined('MAILPORT_BENCH_MODE') || MAILPORT_BENCH_MODE !== 'phpmailer') {
    return;
}

// The site uses another SMTP plugin instead of mailport: mailport is not loaded at all.
add_filter('option_active_plugins', static function ($plugins) {
    return is_array($plugins) ? array_values(array_diff($plugins, ['mailport/mailport.php'])) : $plugins;
});

add_action('phpmailer_init', static function ($phpmailer): void {
    $phpmailer->isSMTP();
    $phpmailer->Host = '127.0.0.1';
    $phpmailer->Port = MAILPORT_BENCH_SMTP_PORT;
    $phpmailer->SMTPSecure = 'tls';          // PHPMailer::ENCRYPTION_STARTTLS
    $phpmailer->SMTPAutoTLS = true;
    $phpmailer->SMTPAuth = true;
    $phpmailer->Username = MAILPORT_BENCH_SMTP_USER;
    $phpmailer->Password = MAILPORT_BENCH_SMTP_PASSWORD;
    $phpmailer->SMTPOptions = [
        'ssl' => [
            'cafile' => MAILPORT_BENCH_SMTP_CA,
            'verify_peer' => true,
            'verify_peer_name' => true,
            'allow_self_signed' => false,
        ],
        'socket' => ['tcp_nodelay' => true],
    ];
});

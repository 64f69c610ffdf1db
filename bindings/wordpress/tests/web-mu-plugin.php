<?php
/**
 * Plugin Name: mailport web end-to-end test hooks (test only)
 * Description: Used by bindings/wordpress/tests/e2e_web.py through nginx + php-fpm; never install it on a site.
 *
 * A contact form in one request: POST /?mailport_e2e_send=TOKEN with the fields to and subject
 * and a file field attachment. TOKEN must equal the MAILPORT_E2E_WEB_TOKEN environment variable
 * (set by the test for php-fpm only), so that no other request, and no CLI step, can trigger it.
 * As a form plugin does (Contact Form 7's wpcf7_uploads), the upload is moved into the uploads
 * directory, attached, and deleted when wp_mail() returns: a queued mail must have its own copy.
 * The answer is JSON: what wp_mail() returned, the hooks that fired, how this request delivers
 * (mailport_delivery_mode(), mailport_ffi_usable(), ffi.enable, preloaded or not) and the outbox rows.
 *
 * Also, for every request: avatars off, so that the admin screens make the browser ask no
 * gravatar.com (the test needs, and tries, no internet); and the local OAuth server's test CA
 * trusted for wp_remote_post() to it (MAILPORT_E2E_OAUTH_CA, MAILPORT_E2E_OAUTH_URL).
 */

declare(strict_types=1);

defined('ABSPATH') || exit;

add_filter('pre_option_show_avatars', '__return_zero');
// Site Health's asynchronous tests and its WordPress-version test ask wordpress.org and the
// site itself over HTTP, which the test site blocks (the version test then returns an empty
// result on which the Status tab's script stops): without them it shows the other direct
// tests, the plugin's among them, at once.
add_filter('site_status_tests', static function (array $tests): array {
    $tests['async'] = [];
    unset($tests['direct']['wordpress_version']);
    return $tests;
}, 100);

// The local OAuth server (tests/servers/oauth_server.py) has a certificate from a CA made at
// test time: trust that CA for requests to it, and for nothing else. (The plugin never loosens
// certificate checks itself; a site reaches a private token endpoint the same way.)
add_filter('http_request_args', static function (array $args, string $url): array {
    $ca = getenv('MAILPORT_E2E_OAUTH_CA');
    $base = getenv('MAILPORT_E2E_OAUTH_URL');
    if (is_string($ca) && $ca !== '' && is_string($base) && $base !== '' && str_starts_with($url, $base . '/')) {
        $args['sslcertificates'] = $ca;
    }
    return $args;
}, 10, 2);

(static function (): void {
    if (!isset($_GET['mailport_e2e_send'])) {
        return;
    }
    $token = getenv('MAILPORT_E2E_WEB_TOKEN');
    if (!is_string($token) || strlen($token) < 16 || !hash_equals($token, (string) $_GET['mailport_e2e_send'])) {
        http_response_code(403);
        header('Content-Type: text/plain');
        echo "mailport_e2e_send: wrong or unset token\n";
        exit;
    }
    // Before the plugin is loaded: a class that exists now came from opcache.preload.
    $preloaded = class_exists('Mailport\\Native', false);
    add_action('wp_loaded', static function () use ($preloaded): void {
        mailport_e2e_web_send($preloaded);
    });
})();

function mailport_e2e_web_plain($value)
{
    if ($value instanceof WP_Error) {
        return [
            'class' => 'WP_Error',
            'code' => $value->get_error_code(),
            'message' => $value->get_error_message(),
            'data' => mailport_e2e_web_plain($value->get_error_data()),
        ];
    }
    if ($value instanceof Throwable) {
        return ['class' => get_class($value), 'message' => $value->getMessage()];
    }
    if (is_array($value)) {
        return array_map('mailport_e2e_web_plain', $value);
    }
    if (is_object($value)) {
        return ['class' => get_class($value)];
    }
    return $value;
}

function mailport_e2e_web_answer(int $status, array $result): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    header('Cache-Control: no-store');
    echo json_encode($result, JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR), "\n";
    exit;
}

function mailport_e2e_web_send(bool $preloaded): void
{
    $file = $_FILES['attachment'] ?? null;
    if (!is_array($file) || ($file['error'] ?? UPLOAD_ERR_NO_FILE) !== UPLOAD_ERR_OK || !isset($_POST['to'], $_POST['subject'])) {
        mailport_e2e_web_answer(400, ['error' => 'POST the fields to and subject and a file field attachment', 'files' => $_FILES]);
    }
    $folder = wp_upload_dir(null, true)['basedir'] . '/mailport-e2e-form/' . wp_generate_password(12, false);
    if (!wp_mkdir_p($folder)) {
        mailport_e2e_web_answer(500, ['error' => "cannot create $folder"]);
    }
    $path = $folder . '/' . sanitize_file_name((string) $file['name']);
    if (!move_uploaded_file((string) $file['tmp_name'], $path)) {
        mailport_e2e_web_answer(500, ['error' => "move_uploaded_file to $path failed"]);
    }

    $events = [];
    add_action('wp_mail_succeeded', static function ($data) use (&$events): void {
        $events[] = ['hook' => 'wp_mail_succeeded', 'arg' => mailport_e2e_web_plain($data)];
    });
    add_action('wp_mail_failed', static function ($error) use (&$events): void {
        $events[] = ['hook' => 'wp_mail_failed', 'arg' => mailport_e2e_web_plain($error)];
    });
    $queued = [];
    add_action('mailport_queued', static function ($id, $data, $because) use (&$queued): void {
        $queued[] = ['id' => $id, 'because' => $because instanceof Throwable ? $because->getMessage() : null];
    }, 10, 3);

    $returned = wp_mail(
        (string) wp_unslash($_POST['to']),
        (string) wp_unslash($_POST['subject']),
        "Sent from a web request served by php-fpm.\n",
        ['From: Web Form <web-form@example.com>'],
        [$path],
    );
    // The form plugin's clean-up: the upload is gone once the request is over.
    unlink($path);
    rmdir($folder);

    global $wpdb;
    $rows = [];
    if (class_exists('Mailport_Queue')) {
        $table = Mailport_Queue::table();
        if ($wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $table)) === $table) {
            $rows = $wpdb->get_results("SELECT `id`, `state`, `description` FROM `$table` ORDER BY `id`", ARRAY_A);
        }
    }
    mailport_e2e_web_answer(200, [
        'returned' => $returned,
        'events' => $events,
        'queued' => $queued,
        'rows' => $rows,
        'sapi' => PHP_SAPI,
        'ffi_enable' => ini_get('ffi.enable'),
        'preloaded' => $preloaded,
        'ffi_usable' => function_exists('mailport_ffi_usable') ? mailport_ffi_usable() : null,
        'mode' => function_exists('mailport_delivery_mode') ? mailport_delivery_mode() : null,
        'library' => class_exists('Mailport\\Native', false) ? Mailport\Native::libraryPath() : null,
        'upload_removed' => !file_exists($path),
    ]);
}

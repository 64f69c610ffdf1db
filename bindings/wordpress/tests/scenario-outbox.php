<?php
/**
 * The outbox steps of the end-to-end test (tests/e2e_outbox.py), included by scenario.php once
 * WordPress is loaded: wp_mail() queueing where FFI is off or the server is down, and
 * `wp mailport outbox …` delivering (through scenario.php's stand-in WP_CLI class).
 */

declare(strict_types=1);

/** The outbox rows and the attachment folders the queue keeps, for the checks. */
function mailport_e2e_outbox_state(): array
{
    global $wpdb;
    $table = Mailport_Queue::table();
    $exists = $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $table)) === $table;
    $rows = $exists ? $wpdb->get_results(
        "SELECT `id`, `state`, `description`, `header` IS NOT NULL AS `rendered` FROM `$table` ORDER BY `id`",
        ARRAY_A,
    ) : [];
    $base = wp_upload_dir(null, false)['basedir'] . '/' . Mailport_Queue::FILES;
    $folders = [];
    foreach (is_dir($base) ? scandir($base) : [] as $name) {
        if ($name[0] !== '.' && is_dir("$base/$name")) {
            $folders[$name] = array_values(array_diff(scandir("$base/$name"), ['.', '..']));
        }
    }
    return [
        'create_sql' => Mailport_Queue::create_table_sql(),
        'rows' => $rows,
        'folders' => $folders,
        'protected' => is_file("$base/.htaccess") && is_file("$base/index.php"),
    ];
}

switch ($step) {
    case 'outbox_queue':
        // One wp_mail() call (the contact form, or a plain one), then what the queue holds.
        mailport_e2e_record_hooks();
        $because = null;
        add_action('mailport_queued', static function ($id, $data, $error) use (&$because): void {
            $because = $error instanceof Throwable ? $error->getMessage() : null;
        }, 10, 3);
        if (($args['form'] ?? 'contact') === 'contact') {
            $sent = mailport_e2e_contact_form($args);
        } else {
            $sent = wp_mail($args['to'], $args['subject'], 'Plain text.', $args['headers'] ?? '');
        }
        mailport_e2e_result([
            'returned' => $sent,
            'ffi_usable' => mailport_ffi_usable(),
            'mode' => mailport_delivery_mode(),
            'because' => $because,
        ] + mailport_e2e_outbox_state());
        break;

    case 'outbox_state':
        mailport_e2e_result(mailport_e2e_outbox_state());
        break;

    case 'outbox_cli':
        // `wp mailport outbox SUB …` for each [SUB, positional, assoc] in $args['runs'].
        mailport_e2e_result(mailport_e2e_cli_runs('mailport outbox', $args['runs']) + [
            'url_has_socket' => str_contains(mailport_outbox_url(), 'socket='),
            'last_check' => get_option(Mailport_Worker::LAST_CHECK, null),
            'check_requested' => (bool) get_option(Mailport_Worker::CHECK_REQUESTED),
        ] + mailport_e2e_outbox_state());
        break;

    case 'outbox_queue_killed':
        // wp_mail() without FFI, its process SIGKILLed inside the queue writer: just before the
        // row's INSERT (the attachment already copied) or just after it. Never prints a result.
        if ($args['at'] === 'before_insert') {
            add_filter('query', static function (string $query): string {
                if (str_starts_with($query, 'INSERT INTO `' . Mailport_Queue::table() . '`')) {
                    posix_kill(getmypid(), 9);
                }
                return $query;
            });
        } else {
            add_action('mailport_queued', static function (): void {
                posix_kill(getmypid(), 9);
            });
        }
        wp_mail($args['to'], $args['subject'], 'Plain text.', '', [$args['attachment']]);
        mailport_e2e_result(['returned' => 'the process was not killed']);
        break;

    case 'outbox_cleanup':
        // What the worker does after each run: remove the copies no row needs any more.
        mailport_e2e_result(['removed' => Mailport_Queue::cleanup()] + mailport_e2e_outbox_state());
        break;

    case 'outbox_request_check':
        // What the Connection check screen does where FFI is not usable.
        update_option(Mailport_Worker::CHECK_REQUESTED, time(), false);
        mailport_e2e_result(['requested' => (bool) get_option(Mailport_Worker::CHECK_REQUESTED), 'ffi_usable' => mailport_ffi_usable()]);
        break;

    default:
        fwrite(STDERR, "scenario-outbox.php: unknown step '$step'\n");
        exit(2);
}

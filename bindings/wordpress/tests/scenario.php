<?php
/**
 * One step of the end-to-end test, run in its own PHP process by tests/e2e.py (constants such as
 * MAILPORT_PASSWORD cannot change inside a process, just as wp-config.php cannot change during a
 * request). Usage: php scenario.php STEP [JSON-ARGS]
 *
 * Loads WordPress through wp-bootstrap.php, does STEP and prints exactly one line
 * "RESULT <json>" on stdout; e2e.py checks the result and what reached the SMTP server.
 */

declare(strict_types=1);

$step = $argv[1] ?? '';
$args = isset($argv[2]) ? json_decode($argv[2], true, 16, JSON_THROW_ON_ERROR) : [];

if ($step === 'install') {
    // The "new site" notice would go through wp_mail() before anything is configured.
    function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password): void
    {
    }
}

if ($step === 'cli' || $step === 'outbox_cli') {
    // A stand-in for WP-CLI (not installed here): records add_command() and the output.
    define('WP_CLI', true);

    final class MailportE2eCliHalt extends Exception
    {
    }

    final class WP_CLI
    {
        public static array $commands = [];
        public static array $output = [];

        public static function add_command(string $name, $callable, array $args = []): bool
        {
            self::$commands[$name] = $callable;
            return true;
        }

        public static function log(string $message): void
        {
            self::$output[] = ['log', $message];
        }

        public static function line(string $message = ''): void
        {
            self::$output[] = ['line', $message];
        }

        public static function success(string $message): void
        {
            self::$output[] = ['success', $message];
        }

        public static function warning(string $message): void
        {
            self::$output[] = ['warning', $message];
        }

        public static function error($message, $exit = true): void
        {
            self::$output[] = ['error', is_string($message) ? $message : print_r($message, true)];
            throw new MailportE2eCliHalt();
        }
    }
}

// At file scope: wp-settings.php relies on its globals ($table_prefix, $wpdb, ...).
require __DIR__ . '/wp-bootstrap.php';

/** Everything the mail hooks saw during this run. */
$GLOBALS['mailport_e2e_events'] = [];

function mailport_e2e_plain($value)
{
    if ($value instanceof WP_Error) {
        return [
            'class' => 'WP_Error',
            'code' => $value->get_error_code(),
            'message' => $value->get_error_message(),
            'data' => mailport_e2e_plain($value->get_error_data()),
        ];
    }
    if (is_array($value)) {
        return array_map('mailport_e2e_plain', $value);
    }
    if (is_object($value)) {
        return ['class' => get_class($value)] + array_map('mailport_e2e_plain', get_object_vars($value));
    }
    return $value;
}

function mailport_e2e_record_hooks(): void
{
    add_action('wp_mail_succeeded', static function ($mail_data): void {
        $GLOBALS['mailport_e2e_events'][] = ['hook' => 'wp_mail_succeeded', 'arg' => mailport_e2e_plain($mail_data)];
    });
    add_action('wp_mail_failed', static function ($error): void {
        $GLOBALS['mailport_e2e_events'][] = ['hook' => 'wp_mail_failed', 'arg' => mailport_e2e_plain($error)];
    });
    // Proves the wp_mail filter ran before pre_wp_mail (the plugin must use what it returns).
    add_filter('wp_mail', static function (array $atts): array {
        if (is_array($atts['headers'] ?? null)) {
            $atts['headers'][] = 'X-Mailport-E2E: wp_mail filter applied';
        } else {
            $atts['headers'] = rtrim((string) ($atts['headers'] ?? '')) . "\nX-Mailport-E2E: wp_mail filter applied";
        }
        return $atts;
    });
}

function mailport_e2e_result(array $result): void
{
    $result['events'] = $GLOBALS['mailport_e2e_events'];
    echo 'RESULT ', json_encode($result, JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR), "\n";
}

/**
 * Run `wp <name> SUB …` for each [SUB, positional, assoc] of $runs through the command class the
 * plugin registered with the stand-in WP_CLI: what each printed, and whether it stopped with an
 * error.
 */
function mailport_e2e_cli_runs(string $name, array $runs): array
{
    $registered = WP_CLI::$commands[$name] ?? null;
    $out = [];
    foreach ($runs as [$sub, $pos, $assoc]) {
        WP_CLI::$output = [];
        $halted = false;
        try {
            $command = is_string($registered) ? new $registered() : $registered;
            $command->$sub($pos, $assoc);
        } catch (MailportE2eCliHalt $e) {
            $halted = true;
        }
        $out[] = ['sub' => $sub, 'assoc' => $assoc, 'halted' => $halted, 'output' => WP_CLI::$output];
    }
    return [
        'registered' => is_string($registered) ? $registered : gettype($registered),
        'runs' => $out,
    ];
}

/** The call a contact-form plugin makes. */
function mailport_e2e_contact_form(array $args): bool
{
    // As form plugins do: the visitor's name goes into one element of the headers array.
    $name = $args['visitor_name'] ?? 'Visitor';
    $headers = [
        'Content-Type: text/html; charset=UTF-8',
        "Reply-To: $name <visitor@example.org>",
        'Cc: team@example.com',
        'From: Contact Form <forms@example.com>',
    ];
    $message = '<html><body><h1>New message</h1><p>From: Visitor &lt;visitor@example.org&gt;</p>'
        . '<p>Grüße — the message body.</p></body></html>';
    return wp_mail($args['to'], $args['subject'], $message, $headers, [$args['attachment']]);
}

if (str_starts_with($step, 'outbox_')) {
    require __DIR__ . '/scenario-outbox.php';
    exit(0);
}
if (str_starts_with($step, 'oauth_')) {
    require __DIR__ . '/scenario-oauth.php';
    exit(0);
}

switch ($step) {
    case 'install':
        require_once ABSPATH . 'wp-admin/includes/upgrade.php';
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        $installed = is_blog_installed();
        if (!$installed) {
            $r = wp_install('Mailport E2E', 'admin', 'admin@example.com', false, '', 'admin-password-e2e');
            if (!is_array($r) || empty($r['user_id'])) {
                mailport_e2e_result(['ok' => false, 'error' => 'wp_install failed']);
                exit(1);
            }
        }
        $activated = activate_plugin('mailport/mailport.php');
        mailport_e2e_result([
            'ok' => !is_wp_error($activated),
            'was_installed' => $installed,
            'activate' => mailport_e2e_plain($activated),
            'active_plugins' => get_option('active_plugins'),
            'wp_version' => get_bloginfo('version'),
        ]);
        break;

    case 'unconfigured':
        // No MAILPORT_HOST: the plugin is loaded but leaves wp_mail() to WordPress.
        mailport_e2e_result([
            'plugin_loaded' => function_exists('mailport_send_test_mail') && function_exists('mailport_check_connection'),
            'active_plugins' => get_option('active_plugins'),
            'pre_wp_mail' => apply_filters('pre_wp_mail', null, [
                'to' => 'someone@example.com', 'subject' => 's', 'message' => 'm',
                'headers' => '', 'attachments' => [],
            ]),
        ]);
        break;

    case 'contact_form':
        mailport_e2e_record_hooks();
        $sent = mailport_e2e_contact_form($args);
        mailport_e2e_result([
            'returned' => $sent,
            'plugin_file' => (new ReflectionFunction('mailport_wp_mail'))->getFileName(),
            'binding_file' => class_exists('Mailport\\Native', false) ? (new ReflectionClass('Mailport\\Native'))->getFileName() : null,
            'library' => class_exists('Mailport\\Native', false) ? Mailport\Native::libraryPath() : null,
        ]);
        break;

    case 'two_mails':
        // Two wp_mail() calls in one request: one client, one SMTP session.
        mailport_e2e_record_hooks();
        $first = wp_mail($args['to'], 'First of two', 'One.');
        $second = wp_mail($args['to'], 'Second of two', 'Two.');
        mailport_e2e_result(['returned' => [$first, $second]]);
        break;

    case 'plain_send':
        // One simple wp_mail() call, for the failure cases (bad address, missing binding, ...).
        mailport_e2e_record_hooks();
        $sent = wp_mail($args['to'], 'Plain', 'Plain text.');
        mailport_e2e_result(['returned' => $sent]);
        break;

    case 'from_filter':
        mailport_e2e_record_hooks();
        add_filter('wp_mail_from', static fn ($from) => $args['filtered_from']);
        add_filter('wp_mail_from_name', static fn ($name) => $args['filtered_name']);
        $seen = [];
        add_filter('wp_mail_from', static function ($from) use (&$seen) {
            $seen['wp_mail_from'] = $from;
            return $from;
        }, 5);
        add_filter('wp_mail_from_name', static function ($name) use (&$seen) {
            $seen['wp_mail_from_name'] = $name;
            return $name;
        }, 5);
        $sent = wp_mail($args['to'], 'Filtered sender', 'Plain text body.', ['From: Original <original@example.com>']);
        mailport_e2e_result(['returned' => $sent, 'filters_saw' => $seen]);
        break;

    case 'logged':
        // The last attempt of the newest Email log entry with this subject: what the log's Error
        // column shows (the message, and the hint below it).
        global $wpdb;
        $attempt = null;
        foreach ($wpdb->get_col('SELECT `id` FROM `' . Mailport_Queue::table() . '` ORDER BY `created` DESC, `id` DESC LIMIT 50') as $id) {
            $record = json_decode((string) $wpdb->get_var($wpdb->prepare('SELECT `record` FROM `' . Mailport_Queue::table() . '` WHERE `id` = %s', $id)), true);
            if (is_array($record) && ($record['subject'] ?? null) === $args['subject']) {
                $attempt = Mailport_Queue::last_attempt((string) $id);
                break;
            }
        }
        mailport_e2e_result(['attempt' => $attempt]);
        break;

    case 'check':
        $report = mailport_check_connection();
        mailport_e2e_result(['report' => mailport_e2e_plain($report)]);
        break;

    case 'test_mail':
        mailport_e2e_record_hooks();
        $sent = mailport_send_test_mail($args['to']);
        mailport_e2e_result(['returned' => mailport_e2e_plain($sent)]);
        break;

    case 'cli':
        // wp mailport test <to> / wp mailport check, through the registered command class.
        mailport_e2e_result(mailport_e2e_cli_runs('mailport', [
            ['test', [$args['to']], []],
            ['check', [], []],
            ['check', [], ['format' => 'json']],
        ]));
        break;

    case 'uninstall':
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        global $wpdb;
        $count = static fn (): int => (int) $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->options}");
        $before = $count();
        deactivate_plugins('mailport/mailport.php');
        $after_deactivate = $count();
        $uninstallable = is_uninstallable_plugin('mailport/mailport.php');
        uninstall_plugin('mailport/mailport.php');
        $after = $count();
        mailport_e2e_result([
            'uninstallable' => $uninstallable,
            'options_before' => $before,
            'options_after_deactivate' => $after_deactivate,
            'options_after' => $after,
            'mailport_options' => $wpdb->get_col("SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE '%mailport%'"),
            'outbox_table' => $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->prefix . 'mailport_outbox')) !== null,
            'active_plugins' => get_option('active_plugins'),
        ]);
        break;

    case 'zip_install':
        // What `wp plugin install ZIP --activate` and Plugins > Add New > Upload Plugin do:
        // WordPress's Plugin_Upgrader unpacks the zip into WP_PLUGIN_DIR, then activate_plugin()
        // (which runs the plugin's activation hook).
        require_once ABSPATH . 'wp-admin/includes/file.php';
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
        $skin = new WP_Ajax_Upgrader_Skin();
        $upgrader = new Plugin_Upgrader($skin);
        $installed = $upgrader->install($args['zip']);
        $plugin = $upgrader->plugin_info();
        $activated = $plugin ? activate_plugin($plugin) : null;
        mailport_e2e_result([
            'installed' => mailport_e2e_plain($installed),
            'skin_errors' => $skin->get_error_messages(),
            'plugin' => $plugin,
            'activate' => mailport_e2e_plain($activated),
            'active_plugins' => get_option('active_plugins'),
            'plugin_file' => function_exists('mailport_wp_mail') ? (new ReflectionFunction('mailport_wp_mail'))->getFileName() : null,
            'check' => get_option('mailport_library_check'),
        ]);
        break;

    case 'library_health':
        // What an administrator sees (the dashboard notice, the Site Health test), and what a
        // subscriber sees (no notice).
        require_once ABSPATH . 'wp-admin/includes/class-wp-site-health.php';
        $notices = static function (): string {
            ob_start();
            do_action('admin_notices');
            return (string) ob_get_clean();
        };
        if (!empty($args['mark_record'])) {
            // Marks the stored verdict: if the notice's cheap check verified the file again,
            // the mark is gone.
            $record = get_option('mailport_library_check');
            if (is_array($record)) {
                $record['checked'] = 0;
                update_option('mailport_library_check', $record, false);
            }
        }
        wp_set_current_user(1);
        $admin = $notices();
        $afterNotice = get_option('mailport_library_check');
        $subscriber = get_user_by('login', 'e2e-subscriber');
        $subscriberId = $subscriber ? $subscriber->ID : wp_insert_user([
            'user_login' => 'e2e-subscriber', 'user_pass' => wp_generate_password(), 'user_email' => 'subscriber@example.com',
            'role' => 'subscriber',
        ]);
        wp_set_current_user((int) $subscriberId);
        $forSubscriber = $notices();
        $tests = WP_Site_Health::get_tests();
        $test = $tests['direct']['mailport_library'] ?? null;
        $health = $test !== null && is_callable($test['test']) ? call_user_func($test['test']) : null;
        mailport_e2e_result([
            'admin_notice' => $admin,
            'subscriber_notice' => $forSubscriber,
            'health_test' => $test === null ? null : $test['label'],
            'health' => $health,
            'check_after_notice' => $afterNotice,
            'check' => get_option('mailport_library_check'),
        ]);
        break;

    default:
        fwrite(STDERR, "scenario.php: unknown step '$step'\n");
        exit(2);
}

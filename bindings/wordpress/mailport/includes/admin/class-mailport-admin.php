<?php
/**
 * Settings > Mailport: the screens (Settings, Connection check, Test email, Email log), each
 * reachable only with manage_options, each action behind a nonce. The work is done elsewhere:
 * Mailport_Settings stores, mailport_send_test_mail() sends, Mailport_Worker checks, and the log
 * reads the outbox table (no library needed, so the screens work where FFI does not).
 */

defined('ABSPATH') || exit;

require_once __DIR__ . '/class-mailport-admin-settings.php';
require_once __DIR__ . '/class-mailport-admin-check.php';
require_once __DIR__ . '/class-mailport-admin-log.php';
require_once __DIR__ . '/class-mailport-admin-oauth.php';

final class Mailport_Admin
{
    const PAGE = 'mailport';
    const CAP = 'manage_options';

    public static function init(): void
    {
        add_action('admin_menu', [self::class, 'menu']);
        add_action('admin_init', [Mailport_Admin_Settings::class, 'register']);
        add_action('admin_post_mailport_test_email', [self::class, 'test_email']);
        add_action('admin_post_mailport_check', [Mailport_Admin_Check::class, 'run']);
        add_action('admin_post_mailport_apply', [Mailport_Admin_Check::class, 'apply']);
        add_action('admin_post_mailport_entry', [Mailport_Admin_Log::class, 'act']);
        add_filter('plugin_action_links_mailport/mailport.php', [self::class, 'action_links']);
        Mailport_Admin_OAuth::init();
    }

    public static function menu(): void
    {
        add_options_page(
            __('Mailport SMTP', 'mailport'),
            __('Mailport', 'mailport'),
            self::CAP,
            self::PAGE,
            [self::class, 'page'],
        );
    }

    /** @param list<string> $links */
    public static function action_links(array $links): array
    {
        array_unshift($links, sprintf('<a href="%s">%s</a>', esc_url(self::url()), esc_html__('Settings', 'mailport')));
        return $links;
    }

    /** The screen's URL, on a tab, with more query arguments. */
    public static function url(string $tab = 'settings', array $args = []): string
    {
        return add_query_arg(['page' => self::PAGE, 'tab' => $tab] + $args, admin_url('options-general.php'));
    }

    /** Stop unless the user may manage options and the nonce of $action is valid. */
    public static function guard(string $action): void
    {
        if (!current_user_can(self::CAP)) {
            wp_die(esc_html__('Sorry, you are not allowed to manage the mail settings.', 'mailport'), 403);
        }
        check_admin_referer($action);
    }

    /** Keep a message for the next screen this user sees (after the redirect of an action). */
    public static function flash(string $type, string $message, array $details = []): void
    {
        set_transient('mailport_flash_' . get_current_user_id(), ['type' => $type, 'message' => $message, 'details' => $details], 120);
    }

    public static function redirect(string $tab, array $args = []): void
    {
        wp_safe_redirect(self::url($tab, $args));
        exit;
    }

    public static function page(): void
    {
        if (!current_user_can(self::CAP)) {
            wp_die(esc_html__('Sorry, you are not allowed to manage the mail settings.', 'mailport'), 403);
        }
        $tabs = [
            'settings' => __('Settings', 'mailport'),
            'check' => __('Connection check', 'mailport'),
            'test' => __('Send a test email', 'mailport'),
            'log' => __('Email log', 'mailport'),
        ];
        $tab = isset($_GET['tab']) && isset($tabs[$_GET['tab']]) ? (string) $_GET['tab'] : 'settings';
        echo '<div class="wrap mailport-admin">';
        printf('<h1>%s</h1>', esc_html__('Mailport SMTP', 'mailport'));
        echo '<nav class="nav-tab-wrapper">';
        foreach ($tabs as $key => $label) {
            printf(
                '<a href="%s" class="nav-tab%s" id="mailport-tab-%s">%s</a>',
                esc_url(self::url($key)),
                $key === $tab ? ' nav-tab-active' : '',
                esc_attr($key),
                esc_html($label),
            );
        }
        echo '</nav>';
        self::show_flash();
        switch ($tab) {
            case 'check':
                Mailport_Admin_Check::render();
                break;
            case 'test':
                self::render_test();
                break;
            case 'log':
                Mailport_Admin_Log::render();
                break;
            default:
                Mailport_Admin_Settings::render();
        }
        echo '</div>';
    }

    private static function show_flash(): void
    {
        $key = 'mailport_flash_' . get_current_user_id();
        $flash = get_transient($key);
        if (!is_array($flash)) {
            return;
        }
        delete_transient($key);
        $class = ['success' => 'notice-success', 'error' => 'notice-error', 'warning' => 'notice-warning'][$flash['type']] ?? 'notice-info';
        printf('<div class="notice %s mailport-result" id="mailport-result"><p><strong>%s</strong></p>', esc_attr($class), esc_html($flash['message']));
        if (!empty($flash['details'])) {
            echo '<table class="widefat striped mailport-details"><tbody>';
            foreach ($flash['details'] as $label => $value) {
                if ($value === '' || $value === null) {
                    continue;
                }
                printf(
                    '<tr><th scope="row">%s</th><td>%s</td></tr>',
                    esc_html($label),
                    // pre-wrap: an error's long first line must not widen the page.
                    str_contains((string) $value, "\n") ? '<pre style="white-space:pre-wrap">' . esc_html((string) $value) . '</pre>' : esc_html((string) $value),
                );
            }
            echo '</tbody></table>';
        }
        echo '</div>';
    }

    private static function render_test(): void
    {
        $to = wp_get_current_user()->user_email ?: (string) get_option('admin_email');
        echo '<p>' . esc_html__('Sends a short message through wp_mail(), as every plugin\'s mail goes, and shows what the server answered or why it failed.', 'mailport') . '</p>';
        if (!mailport_is_configured()) {
            printf('<div class="notice notice-warning inline"><p>%s</p></div>', esc_html__('No SMTP host is set yet: enter it on the Settings tab first.', 'mailport'));
        }
        printf('<form method="post" action="%s" id="mailport-test-form">', esc_url(admin_url('admin-post.php')));
        wp_nonce_field('mailport_test_email');
        echo '<input type="hidden" name="action" value="mailport_test_email">';
        echo '<table class="form-table" role="presentation"><tr><th scope="row"><label for="mailport-test-to">' . esc_html__('Send to', 'mailport') . '</label></th>';
        printf('<td><input type="email" class="regular-text" id="mailport-test-to" name="to" value="%s" required></td></tr></table>', esc_attr($to));
        submit_button(__('Send test email', 'mailport'), 'primary', 'submit', true, ['id' => 'mailport-test-send']);
        echo '</form>';
    }

    /** admin-post.php?action=mailport_test_email */
    public static function test_email(): void
    {
        self::guard('mailport_test_email');
        $to = sanitize_email(wp_unslash((string) ($_POST['to'] ?? '')));
        if (!is_email($to)) {
            self::flash('error', __('Enter the address to send the test email to.', 'mailport'));
            self::redirect('test');
        }
        $queued = null;
        $catch = static function ($id) use (&$queued): void {
            $queued = $id;
        };
        add_action('mailport_queued', $catch);
        $result = mailport_send_test_mail($to);
        remove_action('mailport_queued', $catch);
        if ($result === true && $queued !== null) {
            self::flash('warning', sprintf(
                /* translators: %s: the outbox entry id */
                __('The test email was queued (entry %s): this request could not send it at once. The worker (wp mailport outbox run) sends it; follow it in the Email log.', 'mailport'),
                $queued,
            ), [__('Why', 'mailport') => mailport_ffi_usable()
                ? __('Sending failed for a reason that may pass; it is retried.', 'mailport')
                : __('PHP does not allow FFI in web requests here (ffi.enable), so mail is queued.', 'mailport')]);
        } elseif ($result === true) {
            $receipt = mailport_last_receipt();
            self::flash('success', sprintf(__('The test email to %s was accepted by the server.', 'mailport'), $to), $receipt === null ? [] : [
                __('Server reply', 'mailport') => $receipt->replyCode . ' ' . $receipt->serverReply,
                __('Port', 'mailport') => (string) $receipt->port,
                __('Encryption', 'mailport') => $receipt->tlsVersion !== null ? "{$receipt->tlsVersion}, {$receipt->tlsCipher}" : __('none', 'mailport'),
            ]);
        } else {
            $data = $result->get_error_data();
            $data = is_array($data) ? $data : [];
            self::flash('error', __('The test email was not sent.', 'mailport'), [
                __('Error', 'mailport') => (string) ($data['error_message'] ?? $result->get_error_message()),
                __('Code', 'mailport') => (string) ($data['mailport_code'] ?? ''),
                __('Server reply', 'mailport') => (string) ($data['server_reply'] ?? ''),
                __('What to do', 'mailport') => (string) ($data['hint'] ?? ''),
                __('Transcript', 'mailport') => (string) ($data['transcript'] ?? ''),
            ]);
        }
        self::redirect('test');
    }
}

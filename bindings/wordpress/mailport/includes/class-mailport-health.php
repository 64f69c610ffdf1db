<?php
/**
 * Site Health (Tools > Site Health) and the one admin notice: whether mail can be sent from web
 * requests here, whether the worker runs, what waits in the outbox, and the last connection check.
 * The notice appears only when something needs the administrator: held mail (a configuration
 * problem that will not cure itself), or mail waiting while the worker has not run.
 */

defined('ABSPATH') || exit;

final class Mailport_Health
{
    /** Minutes without a worker run, with mail waiting, before it is a problem (cron runs each minute). */
    const WORKER_LATE_MINUTES = 10;

    public static function init(): void
    {
        add_filter('site_status_tests', [self::class, 'tests']);
        add_action('admin_notices', [self::class, 'notice']);
    }

    public static function tests(array $tests): array
    {
        $names = ['ffi', 'worker', 'queue', 'check'];
        if (Mailport_OAuth::provider() !== null) {
            $names[] = 'oauth';
        }
        foreach ($names as $name) {
            $tests['direct']["mailport_$name"] = [
                'label' => 'Mailport',
                'test' => [self::class, $name],
            ];
        }
        return $tests;
    }

    /**
     * The outbox's counts: pending, held, failed, and the oldest pending entry's time. Read once
     * per request: the notice (on every admin page) and each Site Health test ask for them.
     */
    public static function queue_state(): array
    {
        global $wpdb;
        static $state = null;
        if ($state !== null) {
            return $state;
        }
        $table = Mailport_Queue::table();
        if (!Mailport_Queue::table_exists()) {
            return $state = ['pending' => 0, 'held' => 0, 'failed' => 0, 'oldest' => null];
        }
        $row = $wpdb->get_row(
            "SELECT SUM(`pending` = 1) AS `pending`, SUM(`state` = 'held') AS `held`, SUM(`state` = 'failed') AS `failed`, MIN(CASE WHEN `pending` = 1 THEN `created` END) AS `oldest` FROM `$table`",
            ARRAY_A,
        );
        return $state = [
            'pending' => (int) ($row['pending'] ?? 0),
            'held' => (int) ($row['held'] ?? 0),
            'failed' => (int) ($row['failed'] ?? 0),
            'oldest' => $row['oldest'] !== null ? (int) $row['oldest'] : null,
        ];
    }

    /** A tab of Settings > Mailport (the admin classes are loaded only in wp-admin). */
    private static function url(string $tab): string
    {
        return add_query_arg(['page' => 'mailport', 'tab' => $tab], admin_url('options-general.php'));
    }

    private static function result(string $test, string $status, string $label, string $description, string $badge = 'Mailport'): array
    {
        return [
            'label' => $label,
            'status' => $status,
            'badge' => ['label' => $badge, 'color' => $status === 'good' ? 'blue' : ($status === 'critical' ? 'red' : 'orange')],
            'description' => '<p>' . esc_html($description) . '</p>',
            'actions' => sprintf('<p><a href="%s">%s</a></p>', esc_url(self::url(['mailport_check' => 'check', 'mailport_oauth' => 'settings'][$test] ?? 'log')), esc_html__('Mailport settings', 'mailport')),
            'test' => $test,
        ];
    }

    public static function ffi(): array
    {
        if (mailport_ffi_usable()) {
            return self::result('mailport_ffi', 'good', __('Mail can be sent from web requests', 'mailport'), sprintf(
                /* translators: %s: the library's version */
                __('PHP allows FFI in web requests here, so wp_mail() sends at once (%s).', 'mailport'),
                mailport_library_version(),
            ));
        }
        return self::result('mailport_ffi', 'recommended', __('Mail from web requests is queued', 'mailport'), __('PHP does not allow FFI in web requests here (ffi.enable=preload, PHP\'s default, without the preload set-up). Mail is not lost: wp_mail() queues it in the database and "wp mailport outbox run", run by the system cron each minute, sends it. To send at once, use the preload set-up in the plugin\'s README.', 'mailport'));
    }

    public static function worker(): array
    {
        $last = (int) get_option(Mailport_Worker::LAST_RUN, 0);
        $queue = self::queue_state();
        if ($last === 0) {
            $status = $queue['pending'] > 0 || !mailport_ffi_usable() ? 'critical' : 'recommended';
            return self::result('mailport_worker', $status, __('The mail worker has never run', 'mailport'), __('Queued mail is sent by "wp mailport outbox run". Add it to the system crontab, as the site\'s user: * * * * * cd /path/to/site && wp mailport outbox run --quiet', 'mailport'));
        }
        $minutes = (int) floor((time() - $last) / 60);
        $late = $minutes >= self::WORKER_LATE_MINUTES && $queue['pending'] > 0;
        return self::result(
            'mailport_worker',
            $late ? 'critical' : 'good',
            $late ? __('The mail worker has stopped running', 'mailport') : __('The mail worker runs', 'mailport'),
            sprintf(
                /* translators: %d: minutes */
                _n('It last ran %d minute ago.', 'It last ran %d minutes ago.', $minutes, 'mailport'),
                $minutes,
            ) . ($late ? ' ' . __('Mail is waiting: check the crontab line and the cron log.', 'mailport') : ''),
        );
    }

    public static function queue(): array
    {
        $q = self::queue_state();
        if ($q['held'] > 0) {
            return self::result('mailport_queue', 'critical', __('Mail is held by a configuration problem', 'mailport'), sprintf(
                /* translators: %d: a number of messages */
                _n('%d message waits for a configuration problem to be fixed (a login refused, a certificate not trusted, a sender not allowed): see the Email log, fix the settings, and it is sent.', '%d messages wait for a configuration problem to be fixed (a login refused, a certificate not trusted, a sender not allowed): see the Email log, fix the settings, and they are sent.', $q['held'], 'mailport'),
                $q['held'],
            ));
        }
        if ($q['pending'] === 0) {
            return self::result('mailport_queue', 'good', __('No mail is waiting', 'mailport'), $q['failed'] > 0
                ? sprintf(_n('%d message failed for good: see the Email log.', '%d messages failed for good: see the Email log.', $q['failed'], 'mailport'), $q['failed'])
                : __('Everything queued has been delivered.', 'mailport'));
        }
        $age = time() - (int) $q['oldest'];
        return self::result(
            'mailport_queue',
            $age > HOUR_IN_SECONDS ? 'recommended' : 'good',
            sprintf(_n('%d message is waiting', '%d messages are waiting', $q['pending'], 'mailport'), $q['pending']),
            sprintf(
                /* translators: %s: "5 minutes" */
                __('The oldest was queued %s ago.', 'mailport'),
                human_time_diff((int) $q['oldest']),
            ),
        );
    }

    public static function check(): array
    {
        $last = get_option(Mailport_Worker::LAST_CHECK);
        if (!is_array($last) || empty($last['time'])) {
            return self::result('mailport_check', 'recommended', __('The SMTP connection has not been checked', 'mailport'), __('The connection check (Settings > Mailport) says which port works from this server and why the others do not.', 'mailport'));
        }
        $report = is_string($last['json'] ?? null) ? json_decode($last['json'], true) : null;
        $ok = is_array($report) && !empty($report['recommendation']);
        return self::result(
            'mailport_check',
            $ok ? 'good' : 'critical',
            $ok ? __('The last connection check found a working port', 'mailport') : __('The last connection check found no working port', 'mailport'),
            sprintf(__('Checked %s ago. ', 'mailport'), human_time_diff((int) $last['time']))
                . ($ok ? (string) $report['recommendation']['reason'] : (string) ($last['error'] ?? __('See its findings on the Connection check tab.', 'mailport'))),
        );
    }

    /**
     * The OAuth sign-in: connected, not refused, and used recently enough. An unused refresh
     * token lapses (Microsoft: 90 days; Google: 6 months, and 7 days after consent while the
     * app's publishing status is Testing): a warning 14 days before, critical after. The worker
     * refreshes once a day when no mail goes out, so a quiet site with a running worker stays good.
     */
    public static function oauth(): array
    {
        $provider = Mailport_OAuth::provider();
        $label = Mailport_OAuth::label($provider);
        $connection = Mailport_OAuth::connection();
        $test = 'mailport_oauth';
        if ($connection === null) {
            return self::result($test, 'critical', sprintf(__('Mail cannot be sent: no %s account is connected', 'mailport'), $label), sprintf(
                __('The sign-in is set to %1$s but no account is connected: on Settings > Mailport click "Connect with %1$s" and allow the site to send mail.', 'mailport'),
                $label,
            ));
        }
        $error = $connection['last_error'] ?? null;
        if (is_array($error) && ($error['kind'] ?? '') === 'oauth_invalid_grant') {
            return self::result($test, 'critical', sprintf(__('%s refused the site\'s sign-in: reconnect', 'mailport'), $label), sprintf(
                __('%1$s answered invalid_grant on %2$s: the refresh token for %3$s expired (unused for too long, or the app is in Testing status) or was revoked (password changed, access removed). Mail waits in the outbox. On Settings > Mailport click "Reconnect with %1$s". (%4$s)', 'mailport'),
                $label,
                wp_date('Y-m-d H:i', (int) ($error['time'] ?? 0)),
                (string) $connection['account'],
                (string) ($error['message'] ?? ''),
            ));
        }
        if (is_array($error)) {
            $transient = ($error['kind'] ?? '') === 'oauth_endpoint_unreachable';
            return self::result($test, $transient ? 'recommended' : 'critical', sprintf(__('The last %s sign-in failed', 'mailport'), $label), sprintf(
                __('On %1$s: %2$s (%3$s). %4$s', 'mailport'),
                wp_date('Y-m-d H:i', (int) ($error['time'] ?? 0)),
                (string) ($error['message'] ?? ''),
                (string) ($error['kind'] ?? ''),
                $transient
                    ? __('The token endpoint could not be reached; mail is retried. If it lasts, check that this server can make outgoing HTTPS connections.', 'mailport')
                    : __('Check the client id, secret and tenant on Settings > Mailport, then reconnect.', 'mailport'),
            ));
        }
        $life = Mailport_OAuth::lifetime($connection);
        $used = sprintf(
            __('The sign-in for %1$s last worked %2$s ago; %3$s drops a refresh token unused for %4$d days.', 'mailport'),
            (string) $connection['account'],
            human_time_diff(max((int) ($connection['last_refresh'] ?? 0), (int) $connection['connected'])),
            $label,
            $life['limit'],
        );
        $testing = $provider === 'google'
            ? ' ' . __('While the app\'s publishing status is Testing, Google drops it 7 days after consent whatever the use: publish the app.', 'mailport')
            : '';
        if ($life['days_left'] <= 0) {
            return self::result($test, 'critical', sprintf(__('The %s sign-in has probably expired', 'mailport'), $label), $used . ' ' . sprintf(__('Reconnect with %s on Settings > Mailport, and make sure the worker ("wp mailport outbox run") runs: it keeps the sign-in alive.', 'mailport'), $label));
        }
        if ($life['days_left'] <= Mailport_OAuth::WARN_DAYS) {
            return self::result($test, 'recommended', sprintf(__('The %1$s sign-in lapses in %2$d days unless used', 'mailport'), $label, $life['days_left']), $used . ' ' . __('The worker ("wp mailport outbox run") refreshes it once a day when no mail is sent: check that it runs from the system cron.', 'mailport') . $testing);
        }
        return self::result($test, 'good', sprintf(__('Mail is sent with the %s account %s', 'mailport'), $label, (string) $connection['account']), $used . $testing);
    }

    /** One notice, only when the administrator must act. */
    public static function notice(): void
    {
        if (!current_user_can('manage_options') || !mailport_is_configured()) {
            return;
        }
        $q = self::queue_state();
        $last = (int) get_option(Mailport_Worker::LAST_RUN, 0);
        $problems = [];
        if ($q['held'] > 0) {
            $problems[] = sprintf(_n('%d message is held by a configuration problem.', '%d messages are held by a configuration problem.', $q['held'], 'mailport'), $q['held']);
        }
        if ($q['pending'] > 0 && ($last === 0 || time() - $last >= self::WORKER_LATE_MINUTES * MINUTE_IN_SECONDS)
            && $q['oldest'] !== null && time() - $q['oldest'] >= self::WORKER_LATE_MINUTES * MINUTE_IN_SECONDS) {
            $problems[] = $last === 0
                ? __('Mail is waiting in the outbox and the worker has never run: add "wp mailport outbox run" to the system crontab.', 'mailport')
                : __('Mail is waiting in the outbox and the worker has not run for a while: check the crontab.', 'mailport');
        }
        if ($problems === []) {
            return;
        }
        printf(
            '<div class="notice notice-error" id="mailport-notice"><p><strong>Mailport SMTP:</strong> %s <a href="%s">%s</a></p></div>',
            esc_html(implode(' ', $problems)),
            esc_url(self::url('log')),
            esc_html__('See the Email log', 'mailport'),
        );
    }
}

<?php
/**
 * The Connection check tab: the four mail ports of the configured host (587, 465, 2525, 25),
 * each with what was found (reachable, speaks SMTP or TLS, encryption, certificate, login) and a
 * verdict, the findings with what to do, and the recommendation with a button that applies it.
 * The check runs at once where PHP allows FFI in web requests; elsewhere the next worker run
 * does it, and the screen shows the latest report with its time.
 */

defined('ABSPATH') || exit;

final class Mailport_Admin_Check
{
    public static function render(): void
    {
        $host = (string) Mailport_Settings::get('host');
        if ($host === '') {
            printf('<div class="notice notice-warning inline"><p>%s</p></div>', esc_html__('No SMTP host is set yet: enter it on the Settings tab first.', 'mailport'));
            return;
        }
        printf('<p>%s</p>', esc_html(sprintf(
            /* translators: %s: the SMTP host */
            __('Checks %s on ports 587, 465, 2525 and 25 without sending anything: which ones this server can reach, what each speaks, whether its certificate is trusted and your login works, and which to use.', 'mailport'),
            $host,
        )));
        $requested = get_option(Mailport_Worker::CHECK_REQUESTED);
        printf('<form method="post" action="%s" id="mailport-check-form">', esc_url(admin_url('admin-post.php')));
        wp_nonce_field('mailport_check');
        echo '<input type="hidden" name="action" value="mailport_check">';
        if (mailport_ffi_usable()) {
            submit_button(__('Run the check', 'mailport'), 'primary', 'submit', true, ['id' => 'mailport-check-run']);
        } else {
            printf('<p class="description">%s</p>', esc_html__('PHP does not allow FFI in web requests here: the check runs with the next worker run (wp mailport outbox run).', 'mailport'));
            submit_button($requested ? __('Check asked for: waiting for the worker', 'mailport') : __('Ask the worker to run the check', 'mailport'), 'primary', 'submit', true, ['id' => 'mailport-check-run']);
        }
        echo '</form>';

        $last = get_option(Mailport_Worker::LAST_CHECK);
        if (!is_array($last) || empty($last['time'])) {
            printf('<p id="mailport-check-none">%s</p>', esc_html__('No check has run yet.', 'mailport'));
            return;
        }
        printf(
            '<h2 class="title">%s</h2><p id="mailport-check-time">%s</p>',
            esc_html__('Latest report', 'mailport'),
            esc_html(sprintf(
                /* translators: 1: a date and time, 2: "5 minutes" */
                __('Checked %1$s (%2$s ago).', 'mailport'),
                wp_date(get_option('date_format') . ' ' . get_option('time_format'), (int) $last['time']),
                human_time_diff((int) $last['time']),
            )),
        );
        if (!empty($last['error'])) {
            printf('<div class="notice notice-error inline"><p>%s</p></div>', esc_html((string) $last['error']));
            return;
        }
        $report = json_decode((string) $last['json'], true);
        if (!is_array($report)) {
            return;
        }
        self::ports_table($report);
        self::findings($report);
        self::recommendation($report);
    }

    private static function ports_table(array $report): void
    {
        $yes = static fn (bool $ok, string $text): string => sprintf(
            '<span class="mailport-%s">%s %s</span>',
            $ok ? 'ok' : 'bad',
            $ok ? '&#10003;' : '&#10007;',
            esc_html($text),
        );
        echo '<table class="widefat striped mailport-ports" id="mailport-ports"><thead><tr>';
        foreach ([__('Port', 'mailport'), __('Reachable', 'mailport'), __('Speaks', 'mailport'), __('Encryption', 'mailport'), __('Certificate', 'mailport'), __('Login', 'mailport'), __('Verdict', 'mailport')] as $heading) {
            printf('<th scope="col">%s</th>', esc_html($heading));
        }
        echo '</tr></thead><tbody>';
        foreach ($report['ports'] ?? [] as $port) {
            $attempt = $port['attempts'][0] ?? [];
            $tcp = (string) ($attempt['tcp']['status'] ?? '');
            $speaks = (string) ($attempt['speaks'] ?? '');
            $tls = $attempt['tls'] ?? null;
            $auth = (string) ($attempt['auth']['outcome'] ?? '');
            $verdict = (string) ($port['verdict'] ?? '');
            printf('<tr class="mailport-port-%d">', (int) $port['port']);
            printf('<td><strong>%d</strong><br><span class="description">%s</span></td>', (int) $port['port'], esc_html(str_replace('_', ' ', (string) ($port['role'] ?? ''))));
            echo '<td>' . ($tcp === '' ? '—' : $yes($tcp === 'open', $tcp)) . '</td>';
            echo '<td>' . esc_html($speaks === '' ? '—' : str_replace('_', ' ', $speaks)) . '</td>';
            echo '<td>' . ($tls === null ? '—' : esc_html(trim(($tls['mode'] ?? '') . ' ' . ($tls['version'] ?? '')))) . '</td>';
            echo '<td>' . ($tls === null ? '—' : $yes(($tls['verification'] ?? '') === 'trusted', str_replace('_', ' ', (string) ($tls['verification'] ?? '')))) . '</td>';
            echo '<td>' . ($auth === '' ? '—' : $yes($auth === 'ok', str_replace('_', ' ', $auth))) . '</td>';
            printf(
                '<td class="mailport-verdict-%s"><strong>%s</strong><br>%s</td>',
                esc_attr($verdict),
                esc_html($verdict),
                esc_html((string) ($port['summary'] ?? '')),
            );
            echo '</tr>';
        }
        echo '</tbody></table>';
    }

    private static function findings(array $report): void
    {
        $findings = $report['findings'] ?? [];
        if ($findings === []) {
            return;
        }
        printf('<h3>%s</h3><ul class="mailport-findings" id="mailport-findings">', esc_html__('Findings', 'mailport'));
        foreach ($findings as $f) {
            $severity = (string) ($f['severity'] ?? 'info');
            printf(
                '<li class="mailport-finding mailport-%s"><strong>%s%s</strong> %s%s</li>',
                esc_attr($severity),
                esc_html(ucfirst($severity)),
                isset($f['port']) ? esc_html(sprintf(' (%d)', (int) $f['port'])) : '',
                esc_html((string) ($f['message'] ?? '')),
                !empty($f['hint']) ? '<br><em>' . esc_html((string) $f['hint']) . '</em>' : '',
            );
        }
        echo '</ul>';
    }

    private static function recommendation(array $report): void
    {
        $r = $report['recommendation'] ?? null;
        echo '<h3>' . esc_html__('Recommendation', 'mailport') . '</h3>';
        if (!is_array($r)) {
            printf('<p id="mailport-recommendation">%s</p>', esc_html__('No port works from this server: see the findings above.', 'mailport'));
            return;
        }
        printf('<p id="mailport-recommendation">%s</p>', esc_html((string) ($r['reason'] ?? '')));
        $port = (string) (int) $r['port'];
        $security = (string) $r['security'];
        if ((string) Mailport_Settings::get('port') === $port && (string) Mailport_Settings::get('security') === $security) {
            printf('<p class="description">%s</p>', esc_html__('The settings already use it.', 'mailport'));
            return;
        }
        if (Mailport_Settings::locked('port') || Mailport_Settings::locked('security')) {
            printf('<p class="description">%s</p>', esc_html__('The port or security is set in wp-config.php: change it there.', 'mailport'));
            return;
        }
        printf('<form method="post" action="%s">', esc_url(admin_url('admin-post.php')));
        wp_nonce_field('mailport_apply');
        printf('<input type="hidden" name="action" value="mailport_apply"><input type="hidden" name="port" value="%s"><input type="hidden" name="security" value="%s">', esc_attr($port), esc_attr($security));
        submit_button(sprintf(
            /* translators: 1: a port, 2: a security mode */
            __('Use port %1$s with %2$s', 'mailport'),
            $port,
            $security === 'tls' ? 'TLS' : 'STARTTLS',
        ), 'secondary', 'submit', false, ['id' => 'mailport-apply']);
        echo '</form>';
    }

    /** admin-post.php?action=mailport_check */
    public static function run(): void
    {
        Mailport_Admin::guard('mailport_check');
        if (!mailport_ffi_usable()) {
            update_option(Mailport_Worker::CHECK_REQUESTED, time(), false);
            Mailport_Admin::flash('info', __('The check will run with the next worker run; this page shows its report then.', 'mailport'));
            Mailport_Admin::redirect('check');
        }
        $result = Mailport_Worker::check();
        if ($result['error'] !== null) {
            Mailport_Admin::flash('error', __('The check could not run.', 'mailport'), [__('Error', 'mailport') => $result['error']]);
        } else {
            Mailport_Admin::flash('success', __('The check ran: the report is below.', 'mailport'));
        }
        Mailport_Admin::redirect('check');
    }

    /** admin-post.php?action=mailport_apply: the recommended port and security into the settings. */
    public static function apply(): void
    {
        Mailport_Admin::guard('mailport_apply');
        $port = (string) ($_POST['port'] ?? '');
        $security = (string) ($_POST['security'] ?? '');
        if (Mailport_Settings::check('port', $port) !== null || !in_array($security, ['starttls', 'tls'], true)) {
            Mailport_Admin::flash('error', __('That recommendation cannot be applied.', 'mailport'));
            Mailport_Admin::redirect('check');
        }
        if (Mailport_Settings::locked('port') || Mailport_Settings::locked('security')) {
            Mailport_Admin::flash('error', __('The port or security is set in wp-config.php: change it there.', 'mailport'));
            Mailport_Admin::redirect('check');
        }
        $saved = Mailport_Settings::saved();
        $saved['port'] = $port;
        $saved['security'] = $security;
        update_option(Mailport_Settings::OPTION, $saved);
        Mailport_Admin::flash('success', sprintf(
            /* translators: 1: a port, 2: a security mode */
            __('The settings now use port %1$s with %2$s.', 'mailport'),
            $port,
            $security,
        ));
        Mailport_Admin::redirect('check');
    }
}

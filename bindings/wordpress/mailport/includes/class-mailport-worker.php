<?php
/**
 * What a worker run does besides delivering (wp mailport outbox run): the connection check an
 * administrator asked for from a web request that could not run it, alerts when a connection
 * starts failing or recovers, the log's retention, and the record of when it last ran.
 */

defined('ABSPATH') || exit;

final class Mailport_Worker
{
    /** When the last run ended (Unix seconds). */
    const LAST_RUN = 'mailport_worker_last_run';
    /** Per connection (0 primary, 1 backup): "failing" or "ok", across runs. */
    const HEALTH = 'mailport_connection_health';
    /** The latest connection check: time, JSON report or error. */
    const LAST_CHECK = 'mailport_last_check';
    /** Set when a check was asked for where the library cannot run: the next run does it. */
    const CHECK_REQUESTED = 'mailport_check_requested';

    /** Deliver, then the rest; returns the run's summary. */
    public static function run(?int $limit, int $deadline_ms): \Mailport\OutboxSummary
    {
        $connections = [mailport_config()];
        $backup = mailport_backup_config();
        if ($backup !== null) {
            $connections[] = $backup;
        }
        $outbox = new \Mailport\Outbox(mailport_outbox_url(), $connections);
        try {
            $summary = $outbox->run($limit, $deadline_ms);
            $days = max(1, (int) Mailport_Settings::get('retention_days'));
            $outbox->prune($days * DAY_IN_SECONDS * 1000);
        } finally {
            $outbox->close();
        }
        self::alerts($summary, $backup !== null);
        Mailport_Queue::cleanup();
        Mailport_OAuth::after_run($summary);
        if (get_option(self::CHECK_REQUESTED)) {
            self::check();
        } else {
            Mailport_OAuth::daily_check($summary);
        }
        update_option(self::LAST_RUN, time(), false);
        return $summary;
    }

    /** Run the connection check now and keep its report for the screen. */
    public static function check(): array
    {
        delete_option(self::CHECK_REQUESTED);
        try {
            // The four mail ports, and the configured one first when it is another.
            $ports = [587, 465, 2525, 25];
            $port = (string) Mailport_Settings::get('port');
            if (ctype_digit($port) && !in_array((int) $port, $ports, true)) {
                array_unshift($ports, (int) $port);
            }
            $report = mailport_check_connection($ports);
            Mailport_OAuth::check_findings($report);
            $result = ['time' => time(), 'json' => $report->json, 'error' => null];
        } catch (Throwable $e) {
            Mailport_OAuth::failed_with($e);
            $result = ['time' => time(), 'json' => null, 'error' => $e->getMessage()];
        }
        update_option(self::LAST_CHECK, $result, false);
        return $result;
    }

    /**
     * Alert on a change of a connection's health only, never once per failed message: the
     * run's connection events, and deliveries through a connection that was failing.
     */
    private static function alerts(\Mailport\OutboxSummary $summary, bool $has_backup): void
    {
        $health = get_option(self::HEALTH, []);
        $health = is_array($health) ? $health : [];
        $changes = [];
        foreach ($summary->events as $event) {
            if ($event->kind === \Mailport\OutboxEventKind::CONNECTION_FAILING && ($health[$event->connection] ?? 'ok') !== 'failing') {
                $health[$event->connection] = 'failing';
                $changes[] = [$event->connection, 'failing', $event->server, $event->message];
            } elseif ($event->kind === \Mailport\OutboxEventKind::CONNECTION_RECOVERED && ($health[$event->connection] ?? 'ok') === 'failing') {
                $health[$event->connection] = 'ok';
                $changes[] = [$event->connection, 'recovered', $event->server, $event->message];
            }
        }
        // A run in a new process does not know the last one's failure: a delivery says it works.
        $worked = [0 => $summary->sent - $summary->viaBackup > 0, 1 => $summary->viaBackup > 0];
        foreach ($worked as $index => $ok) {
            if ($ok && ($health[$index] ?? 'ok') === 'failing') {
                $health[$index] = 'ok';
                $changes[] = [$index, 'recovered', null, null];
            }
        }
        update_option(self::HEALTH, $health, false);
        foreach ($changes as [$index, $what, $server, $why]) {
            self::alert($index, $what, $server, $why, $has_backup);
        }
    }

    private static function alert(int $index, string $what, ?string $server, ?string $why, bool $has_backup): void
    {
        $name = $index === 0 ? __('The SMTP connection', 'mailport') : __('The backup SMTP connection', 'mailport');
        $site = wp_specialchars_decode((string) get_bloginfo('name'), ENT_QUOTES);
        $subject = $what === 'failing'
            ? sprintf(__('[%s] Mail delivery is failing', 'mailport'), $site)
            : sprintf(__('[%s] Mail delivery works again', 'mailport'), $site);
        $body = $what === 'failing'
            ? sprintf(__("%s (%s) started failing:\n\n%s\n\nMail is kept in the outbox and retried; see Settings > Mailport > Email log.", 'mailport'), $name, $server ?? '', $why ?? '')
            : sprintf(__("%s works again: the mail that waited is being delivered.", 'mailport'), $name);
        /**
         * Fires once when a connection starts failing or recovers (never once per message).
         *
         * @param int    $index   0 the primary connection, 1 the backup
         * @param string $what    "failing" or "recovered"
         * @param string $message the alert's text
         */
        do_action('mailport_alert', $index, $what, $body);
        if (Mailport_Settings::get('alert_email')) {
            self::email($subject, $body, $has_backup && $index === 0);
        }
        $webhook = (string) Mailport_Settings::get('alert_webhook');
        if ($webhook !== '') {
            wp_remote_post($webhook, [
                'timeout' => 5,
                'headers' => ['Content-Type' => 'application/json'],
                'body' => (string) wp_json_encode([
                    'site' => home_url('/'),
                    'connection' => $index,
                    'event' => $what,
                    'server' => $server,
                    'message' => $why,
                    'text' => $body,
                ]),
            ]);
        }
    }

    /**
     * Mail the site admin directly (not through wp_mail(), which would queue it behind the
     * failing connection): through the backup when the primary is the one failing.
     */
    private static function email(string $subject, string $body, bool $via_backup): void
    {
        $to = (string) get_option('admin_email');
        if (!is_email($to)) {
            return;
        }
        try {
            $config = $via_backup ? mailport_backup_config() : mailport_config();
            $client = new \Mailport\Client($config);
            $message = new \Mailport\Message();
            $from = mailport_setting_string('from_email') ?? $to;
            $message->setFromParts(mailport_setting_string('from_name'), $from);
            $message->addTo($to);
            $message->setSubject($subject);
            $message->setText($body);
            $client->send($message);
            $message->close();
            $client->close();
        } catch (Throwable $e) {
            // The alert cannot go out through a failing connection: the log and Site Health show it.
            error_log('mailport: the alert mail could not be sent: ' . $e->getMessage());
        }
    }
}

<?php
/**
 * The Email log tab: the outbox's entries from its table (read with $wpdb, so it works where
 * FFI does not): status, recipients, subject, attempts, the last error with what to do, and which
 * connection delivered; a filter by status; one entry with every attempt; retry, cancel and
 * resend. Changes follow the table's documented rules (docs/outbox.md): state and due are the
 * truth, the library writes the rest.
 */

defined('ABSPATH') || exit;

final class Mailport_Admin_Log
{
    const PER_PAGE = 50;
    const STATES = ['queued', 'sending', 'sent', 'deferred', 'failed', 'held', 'cancelled', 'quarantined'];

    public static function render(): void
    {
        global $wpdb;
        $table = Mailport_Queue::table();
        if (!Mailport_Queue::table_exists()) {
            printf('<p id="mailport-log-empty">%s</p>', esc_html__('No mail has gone through the outbox yet.', 'mailport'));
            return;
        }
        $id = isset($_GET['entry']) ? sanitize_text_field(wp_unslash((string) $_GET['entry'])) : '';
        if ($id !== '') {
            self::render_entry($id);
            return;
        }
        $state = isset($_GET['state']) && in_array($_GET['state'], self::STATES, true) ? (string) $_GET['state'] : '';
        self::state_links($state);
        $where = $state === '' ? '' : $wpdb->prepare(' WHERE `state` = %s', $state);
        $rows = $wpdb->get_results(
            "SELECT `id`, `state`, `created`, `updated`, `header`, `description`, `record`, `reason` FROM `$table`$where ORDER BY `id` DESC LIMIT " . self::PER_PAGE,
            ARRAY_A,
        );
        if (!$rows) {
            printf('<p id="mailport-log-empty">%s</p>', esc_html__('No entries.', 'mailport'));
            return;
        }
        echo '<table class="widefat striped mailport-log" id="mailport-log"><thead><tr>';
        foreach ([__('Status', 'mailport'), __('Queued', 'mailport'), __('To', 'mailport'), __('Subject', 'mailport'), __('Attempts', 'mailport'), __('Last error', 'mailport'), __('Delivered by', 'mailport')] as $heading) {
            printf('<th scope="col">%s</th>', esc_html($heading));
        }
        echo '</tr></thead><tbody>';
        foreach ($rows as $row) {
            $entry = self::entry($row);
            $last = end($entry['attempts']) ?: null;
            $error = $last !== null && ($last['outcome'] ?? '') !== 'sent' ? (string) ($last['message'] ?? '') : (string) ($row['reason'] ?? '');
            printf('<tr id="mailport-entry-%s">', esc_attr($row['id']));
            printf('<td><span class="mailport-state mailport-state-%1$s">%1$s</span></td>', esc_html($row['state']));
            printf('<td>%s</td>', esc_html(wp_date('Y-m-d H:i', (int) $row['created'])));
            printf('<td>%s</td>', esc_html(implode(', ', $entry['recipients'])));
            printf('<td><a href="%s">%s</a></td>', esc_url(Mailport_Admin::url('log', ['entry' => $row['id']])), esc_html($entry['subject'] !== '' ? $entry['subject'] : __('(no subject)', 'mailport')));
            printf('<td>%d</td>', count($entry['attempts']));
            printf('<td>%s%s</td>', esc_html($error), $last !== null && self::hint($last) !== '' && $error !== '' ? '<br><em>' . esc_html(self::hint($last)) . '</em>' : '');
            printf('<td>%s</td>', esc_html(self::delivered_by($entry['record'])));
            echo '</tr>';
        }
        echo '</tbody></table>';
    }

    /**
     * An attempt's hint; for a refused refresh token, first the button of the configured
     * provider and that Retry then sends the held mail (the library's hint, which follows, names
     * both providers' Connect buttons and knows nothing of this log).
     */
    private static function hint(array $attempt): string
    {
        $hint = (string) ($attempt['hint'] ?? '');
        if (($attempt['kind'] ?? '') === 'oauth_invalid_grant') {
            $label = Mailport_OAuth::label() ?: 'Google/Microsoft';
            return sprintf(
                /* translators: %s: Google or Microsoft */
                __('The refresh token expired or was revoked: click "Reconnect with %s" on Settings > Mailport; the mail is sent after Retry.', 'mailport'),
                $label,
            ) . ($hint !== '' ? " ($hint)" : '');
        }
        return $hint;
    }

    private static function state_links(string $current): void
    {
        global $wpdb;
        $counts = $wpdb->get_results('SELECT `state`, COUNT(*) AS `n` FROM `' . Mailport_Queue::table() . '` GROUP BY `state`', OBJECT_K);
        $links = [sprintf(
            '<a href="%s"%s>%s</a>',
            esc_url(Mailport_Admin::url('log')),
            $current === '' ? ' class="current"' : '',
            esc_html__('All', 'mailport'),
        )];
        foreach (self::STATES as $state) {
            if (!isset($counts[$state])) {
                continue;
            }
            $links[] = sprintf(
                '<a href="%s"%s id="mailport-filter-%s">%s <span class="count">(%d)</span></a>',
                esc_url(Mailport_Admin::url('log', ['state' => $state])),
                $current === $state ? ' class="current"' : '',
                esc_attr($state),
                esc_html($state),
                (int) $counts[$state]->n,
            );
        }
        echo '<ul class="subsubsub"><li>' . implode(' | </li><li>', $links) . '</li></ul><br class="clear">';
    }

    /** What a row says: its record (once tried), else its header or description. */
    private static function entry(array $row): array
    {
        $record = $row['record'] !== null ? json_decode((string) $row['record'], true) : null;
        $header = $row['header'] !== null ? json_decode((string) $row['header'], true) : null;
        $description = $row['description'] !== null ? json_decode((string) $row['description'], true) : null;
        $record = is_array($record) ? $record : [];
        $subject = $record['subject'] ?? $header['subject'] ?? $description['wp_mail']['subject'] ?? $description['subject'] ?? '';
        $recipients = array_map(static fn ($r): string => (string) ($r['address'] ?? ''), $record['recipients'] ?? []);
        if ($recipients === []) {
            $recipients = $header['recipients'] ?? $description['wp_mail']['to'] ?? $description['to'] ?? [];
        }
        return [
            'record' => $record,
            'subject' => (string) $subject,
            'recipients' => array_map('strval', (array) $recipients),
            'attempts' => is_array($record['attempts'] ?? null) ? $record['attempts'] : [],
            'kept' => $row['description'] !== null || ($row['body'] ?? null) !== null,
        ];
    }

    private static function delivered_by(array $record): string
    {
        if (!isset($record['delivered_by'])) {
            return '—';
        }
        $index = (int) $record['delivered_by'];
        foreach ($record['attempts'] ?? [] as $attempt) {
            if (($attempt['outcome'] ?? '') === 'sent' && (int) ($attempt['connection'] ?? -1) === $index) {
                $server = (string) ($attempt['server'] ?? '');
                return $index === 0 ? $server : sprintf(__('%s (backup)', 'mailport'), $server);
            }
        }
        return $index === 0 ? __('primary', 'mailport') : __('backup', 'mailport');
    }

    private static function render_entry(string $id): void
    {
        global $wpdb;
        $row = $wpdb->get_row($wpdb->prepare(
            'SELECT `id`, `state`, `created`, `due`, `header`, `description`, `body` IS NOT NULL AS `body`, `record`, `reason` FROM `' . Mailport_Queue::table() . '` WHERE `id` = %s',
            $id,
        ), ARRAY_A);
        printf('<p><a href="%s">&larr; %s</a></p>', esc_url(Mailport_Admin::url('log')), esc_html__('All entries', 'mailport'));
        if ($row === null) {
            printf('<div class="notice notice-error inline"><p>%s</p></div>', esc_html(sprintf(__('There is no entry %s (it may have been pruned).', 'mailport'), $id)));
            return;
        }
        $row['body'] = $row['body'] ? '1' : null;
        $entry = self::entry($row);
        $record = $entry['record'];
        echo '<table class="widefat striped mailport-entry" id="mailport-entry"><tbody>';
        $fields = [
            __('Entry', 'mailport') => $row['id'],
            __('Status', 'mailport') => $row['state'] . (!empty($record['maybe_delivered']) ? ' — ' . __('may have been delivered already (the answer to an earlier attempt was lost)', 'mailport') : ''),
            __('Subject', 'mailport') => $entry['subject'],
            __('To', 'mailport') => implode(', ', $entry['recipients']),
            __('Message-ID', 'mailport') => (string) ($record['message_id'] ?? ''),
            __('Queued', 'mailport') => wp_date('Y-m-d H:i:s', (int) $row['created']),
            __('Next attempt', 'mailport') => in_array($row['state'], ['queued', 'deferred'], true) ? wp_date('Y-m-d H:i:s', max((int) $row['due'], (int) $row['created'])) : '',
            __('Reason', 'mailport') => (string) ($row['reason'] ?? ''),
            __('Delivered by', 'mailport') => self::delivered_by($record),
        ];
        foreach ($fields as $label => $value) {
            if ($value !== '') {
                printf('<tr><th scope="row">%s</th><td>%s</td></tr>', esc_html($label), esc_html($value));
            }
        }
        echo '</tbody></table>';

        if ($record['recipients'] ?? []) {
            printf('<h3>%s</h3><ul>', esc_html__('Recipients', 'mailport'));
            foreach ($record['recipients'] as $r) {
                printf('<li>%s — %s%s</li>', esc_html((string) $r['address']), esc_html((string) $r['state']), !empty($r['reply']) ? ': ' . esc_html((string) $r['reply']) : '');
            }
            echo '</ul>';
        }
        printf('<h3>%s</h3>', esc_html__('Attempts', 'mailport'));
        if ($entry['attempts'] === []) {
            printf('<p>%s</p>', esc_html__('None yet.', 'mailport'));
        } else {
            echo '<table class="widefat striped" id="mailport-attempts"><thead><tr>';
            foreach ([__('When', 'mailport'), __('Connection', 'mailport'), __('Outcome', 'mailport'), __('Reply', 'mailport'), __('What to do', 'mailport')] as $heading) {
                printf('<th scope="col">%s</th>', esc_html($heading));
            }
            echo '</tr></thead><tbody>';
            foreach ($entry['attempts'] as $a) {
                printf(
                    '<tr><td>%s</td><td>%s%s</td><td>%s</td><td>%s%s</td><td>%s</td></tr>',
                    esc_html(wp_date('Y-m-d H:i:s', (int) $a['at'])),
                    esc_html((string) ($a['server'] ?? '')),
                    (int) ($a['connection'] ?? 0) > 0 ? ' ' . esc_html__('(backup)', 'mailport') : '',
                    esc_html((string) $a['outcome']),
                    esc_html((string) ($a['message'] ?? '')),
                    !empty($a['queue_id']) ? '<br>' . esc_html(sprintf(__('Server queue id: %s', 'mailport'), $a['queue_id'])) : '',
                    esc_html(self::hint($a)),
                );
            }
            echo '</tbody></table>';
        }
        self::actions($row, $entry);
    }

    private static function actions(array $row, array $entry): void
    {
        $buttons = [];
        if (in_array($row['state'], ['deferred', 'held', 'failed'], true)) {
            $buttons['retry'] = __('Retry now', 'mailport');
        }
        if (in_array($row['state'], ['queued', 'deferred', 'held'], true)) {
            $buttons['cancel'] = __('Cancel', 'mailport');
        }
        if (in_array($row['state'], ['sent', 'failed', 'cancelled'], true) && $entry['kept']) {
            $buttons['resend'] = __('Resend as a new message', 'mailport');
        }
        if ($buttons === []) {
            return;
        }
        printf('<form method="post" action="%s" class="mailport-entry-actions">', esc_url(admin_url('admin-post.php')));
        wp_nonce_field('mailport_entry');
        printf('<input type="hidden" name="action" value="mailport_entry"><input type="hidden" name="entry" value="%s">', esc_attr($row['id']));
        foreach ($buttons as $do => $label) {
            printf('<button type="submit" name="do" value="%1$s" class="button" id="mailport-%1$s">%2$s</button> ', esc_attr($do), esc_html($label));
        }
        echo '</form>';
    }

    /** admin-post.php?action=mailport_entry: retry, cancel or resend one entry. */
    public static function act(): void
    {
        global $wpdb;
        Mailport_Admin::guard('mailport_entry');
        $id = sanitize_text_field(wp_unslash((string) ($_POST['entry'] ?? '')));
        $do = (string) ($_POST['do'] ?? '');
        if (!preg_match('/^\d{13}-[0-9a-f]{16}$/', $id)) {
            Mailport_Admin::flash('error', __('That is not an outbox entry.', 'mailport'));
            Mailport_Admin::redirect('log');
        }
        $table = Mailport_Queue::table();
        $now = time();
        $user = wp_get_current_user()->user_login;
        switch ($do) {
            case 'retry':
                $done = self::retry($id);
                break;
            case 'cancel':
                // docs/outbox.md: a program may cancel an entry no worker holds this way.
                $done = $wpdb->query($wpdb->prepare(
                    "UPDATE `$table` SET `state` = 'cancelled', `reason` = %s, `body` = NULL, `description` = NULL, `updated` = %d WHERE `id` = %s AND `state` IN ('queued', 'deferred', 'held')",
                    sprintf('cancelled by %s', $user),
                    $now,
                    $id,
                )) === 1 ? null : __('It cannot be cancelled: it is being sent or already finished.', 'mailport');
                break;
            case 'resend':
                $done = self::resend($id, $new);
                if ($done === null) {
                    Mailport_Admin::flash('success', sprintf(__('Entry %1$s: resent as a new message, entry %2$s.', 'mailport'), $id, $new));
                    Mailport_Admin::redirect('log', ['entry' => $new]);
                }
                break;
            default:
                $done = __('Unknown action.', 'mailport');
        }
        if ($done === null) {
            Mailport_Admin::flash('success', sprintf(__('Entry %1$s: %2$s done.', 'mailport'), $id, $do));
        } else {
            Mailport_Admin::flash('error', $done);
        }
        Mailport_Admin::redirect('log', ['entry' => $id]);
    }

    /** Null when done, else why not. */
    private static function retry(string $id): ?string
    {
        global $wpdb;
        if (mailport_ffi_usable()) {
            try {
                $outbox = new \Mailport\Outbox(mailport_outbox_url());
                try {
                    $outbox->retry($id);
                } finally {
                    $outbox->close();
                }
                return null;
            } catch (Throwable $e) {
                return $e->getMessage();
            }
        }
        // Without the library: a deferred or held entry is made due now (docs/outbox.md); a
        // failed one needs its refused recipients made pending, which the library does.
        $done = $wpdb->query($wpdb->prepare(
            'UPDATE `' . Mailport_Queue::table() . "` SET `state` = 'queued', `due` = 0 WHERE `id` = %s AND `state` IN ('deferred', 'held')",
            $id,
        ));
        if ($done === 1) {
            return null;
        }
        return __('A failed entry is retried by the library: run "wp mailport outbox retry ID", or resend it as a new message.', 'mailport');
    }

    /**
     * A rendered message (CRLF line ends) as a new one: a new Message-ID on the same domain and
     * the Date of now, in its head only; the rest is unchanged. Returns the message and its new
     * Message-ID, or null when the head has no `Message-ID: <left@domain>` field.
     *
     * @return array{0: string, 1: string}|null
     */
    public static function as_new_message(string $message): ?array
    {
        $end = strpos($message, "\r\n\r\n");
        $head = $end === false ? $message : substr($message, 0, $end + 2);
        $rest = $end === false ? '' : substr($message, $end + 2);
        if (!preg_match('/^Message-ID:[ \t]*<[^<>@\s]+@([^<>\s]+)>[ \t]*\r\n/mi', $head, $m)) {
            return null;
        }
        $id = '<' . bin2hex(random_bytes(16)) . '@' . $m[1] . '>';
        // Callbacks, not replacement strings: the domain is the message's text.
        $head = preg_replace_callback('/^Message-ID:[^\r\n]*\r\n/mi', static fn (): string => "Message-ID: $id\r\n", $head, 1);
        $date = 'Date: ' . date(DATE_RFC2822) . "\r\n";
        $head = preg_replace_callback('/^Date:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/mi', static fn (): string => $date, $head, 1);
        return [$head . $rest, $id];
    }

    /** A new entry with the same message, its id put in $new; null when done, else why not. */
    private static function resend(string $id, ?string &$new = null): ?string
    {
        global $wpdb;
        $table = Mailport_Queue::table();
        $row = $wpdb->get_row($wpdb->prepare("SELECT `header`, `description`, `body` FROM `$table` WHERE `id` = %s", $id), ARRAY_A);
        if ($row === null || ($row['description'] === null && $row['body'] === null)) {
            return __('Its message was not kept, so it cannot be resent.', 'mailport');
        }
        $new = sprintf('%013d-%s', (int) floor(microtime(true) * 1000), bin2hex(random_bytes(8)));
        $values = ['id' => $new, 'created' => time()];
        $formats = ['%s', '%d'];
        if ($row['body'] !== null && $row['header'] !== null) {
            // The rendering (a description's attachments are gone once it is rendered), made a
            // new message: the same bytes would carry the same Message-ID, and receivers drop a
            // message whose Message-ID they have seen (Gmail does), so the resend would vanish.
            $renewed = self::as_new_message((string) $row['body']);
            if ($renewed === null) {
                return __('Its message has no Message-ID that can be replaced, so a resend could be taken for the same message and dropped.', 'mailport');
            }
            $header = json_decode((string) $row['header'], true);
            $header['id'] = $new;
            $header['created'] = $values['created'];
            $header['message_id'] = $renewed[1];
            $header['size'] = strlen($renewed[0]);
            $values['header'] = (string) wp_json_encode($header, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
            $values['body'] = $renewed[0];
            array_push($formats, '%s', '%s');
        } else {
            $description = json_decode((string) $row['description'], true);
            unset($description['message_id']); // a new message, with a Message-ID of its own
            $values['description'] = (string) wp_json_encode($description, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
            $formats[] = '%s';
        }
        return $wpdb->insert($table, $values, $formats) === false ? $wpdb->last_error : null;
    }
}

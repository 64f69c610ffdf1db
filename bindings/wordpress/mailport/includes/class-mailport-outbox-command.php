<?php
/**
 * `wp mailport outbox …`: deliver and look after the outbox in the WordPress database, where
 * wp_mail() queues what a web request cannot send (see Mailport_Queue). WP-CLI runs PHP from the
 * command line, where FFI is allowed under PHP's default ffi.enable=preload, so the library does
 * the work here. Run it from the system's cron every minute:
 *
 *     * * * * * cd /var/www/site && wp mailport outbox run --quiet
 *
 * WP-Cron alone is not enough where web requests cannot use FFI: its events run inside web
 * requests.
 */

defined('ABSPATH') || exit;

final class Mailport_Outbox_Command
{
    /**
     * Deliver what is due: queued mail, and deferred mail whose next attempt has come.
     *
     * ## OPTIONS
     *
     * [--limit=<n>]
     * : Deliver at most this many entries.
     *
     * [--deadline=<seconds>]
     * : Stop starting new deliveries after this many seconds (default 50, so that a run from
     * cron each minute ends before the next starts).
     *
     * [--format=<format>]
     * : table (a summary line) or json.
     * ---
     * default: table
     * options:
     *   - table
     *   - json
     * ---
     *
     * ## EXAMPLES
     *
     *     wp mailport outbox run
     *     wp mailport outbox run --limit=100 --format=json
     *
     * @param array<int, string> $args
     * @param array<string, string> $assoc_args
     */
    public function run($args, $assoc_args): void
    {
        $limit = self::positive($assoc_args, 'limit');
        $deadline = self::positive($assoc_args, 'deadline') ?? 50;
        try {
            $missing = mailport_load_binding();
            if ($missing !== null) {
                WP_CLI::error($missing);
            }
            mailport_configure_library();
            $summary = Mailport_Worker::run($limit, $deadline * 1000);
        } catch (\Mailport\Exception\ExceptionInterface $e) {
            self::fail($e);
        }
        if (($assoc_args['format'] ?? 'table') === 'json') {
            WP_CLI::line($summary->json);
            return;
        }
        WP_CLI::success(sprintf(
            'outbox run: %d sent (%d via a backup connection), %d deferred, %d failed, %d held',
            $summary->sent,
            $summary->viaBackup,
            $summary->deferred,
            $summary->failed,
            $summary->held,
        ));
    }

    /**
     * List the outbox's entries, oldest first.
     *
     * ## OPTIONS
     *
     * [--state=<states>]
     * : Only these states, comma-separated: queued, sending, sent, deferred, failed, held, cancelled.
     *
     * [--limit=<n>]
     * : At most this many.
     *
     * [--format=<format>]
     * : table, json or ids.
     * ---
     * default: table
     * options:
     *   - table
     *   - json
     *   - ids
     * ---
     *
     * ## EXAMPLES
     *
     *     wp mailport outbox list --state=deferred,held
     *
     * @param array<int, string> $args
     * @param array<string, string> $assoc_args
     */
    public function list($args, $assoc_args): void
    {
        $states = isset($assoc_args['state']) && $assoc_args['state'] !== ''
            ? array_map('trim', explode(',', (string) $assoc_args['state'])) : null;
        $records = self::with_outbox(static fn (\Mailport\Outbox $outbox) => $outbox->list($states, self::positive($assoc_args, 'limit')));
        $format = $assoc_args['format'] ?? 'table';
        if ($format === 'ids') {
            WP_CLI::line(implode(' ', array_map(static fn ($r): string => $r->id, $records)));
            return;
        }
        if ($format === 'json') {
            WP_CLI::line('[' . implode(',', array_map(static fn ($r): string => $r->json, $records)) . ']');
            return;
        }
        $rows = array_map(static fn ($r): array => [
            'id' => $r->id,
            'state' => $r->state->value,
            'created' => gmdate('Y-m-d H:i:s', $r->created),
            'recipients' => implode(', ', array_map(static fn ($p): string => $p->address, $r->recipients)),
            'retries' => $r->retries,
            'reason' => (string) $r->reason,
        ], $records);
        WP_CLI\Utils\format_items('table', $rows, ['id', 'state', 'created', 'recipients', 'retries', 'reason']);
    }

    /**
     * Show one entry's record: its state, recipients and every attempt.
     *
     * ## OPTIONS
     *
     * <id>
     * : The entry id.
     *
     * @param array<int, string> $args
     */
    public function show($args): void
    {
        $record = self::with_outbox(static fn (\Mailport\Outbox $outbox) => $outbox->get($args[0]));
        WP_CLI::line((string) wp_json_encode($record->data, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
    }

    /**
     * Try a deferred, held or failed entry again at the next run.
     *
     * ## OPTIONS
     *
     * <id>
     * : The entry id.
     *
     * @param array<int, string> $args
     */
    public function retry($args): void
    {
        $record = self::with_outbox(static fn (\Mailport\Outbox $outbox) => $outbox->retry($args[0]));
        WP_CLI::success(sprintf('entry %s is %s: the next run sends it', $record->id, $record->state->value));
    }

    /**
     * Cancel an entry that is not being sent: it will not be sent, and its message is dropped.
     *
     * ## OPTIONS
     *
     * <id>
     * : The entry id.
     *
     * @param array<int, string> $args
     */
    public function cancel($args): void
    {
        $record = self::with_outbox(static fn (\Mailport\Outbox $outbox) => $outbox->cancel($args[0]));
        WP_CLI::success(sprintf('entry %s is %s', $record->id, $record->state->value));
    }

    /**
     * Remove the records of entries sent, failed or cancelled longer ago than asked.
     *
     * ## OPTIONS
     *
     * [--older-than=<age>]
     * : An age: a number and s, m, h or d.
     * ---
     * default: 30d
     * ---
     *
     * @param array<int, string> $args
     * @param array<string, string> $assoc_args
     */
    public function prune($args, $assoc_args): void
    {
        $age = (string) ($assoc_args['older-than'] ?? '30d');
        if (!preg_match('/^(\d+)([smhd])$/', $age, $m)) {
            WP_CLI::error("--older-than=$age: give a number and s, m, h or d, e.g. 30d");
        }
        $seconds = (int) $m[1] * ['s' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400][$m[2]];
        $removed = self::with_outbox(static fn (\Mailport\Outbox $outbox) => $outbox->prune($seconds * 1000));
        WP_CLI::success(sprintf('%d records removed', $removed));
    }

    /**
     * What $use returns, given the outbox in this site's database (to look at and change, not to
     * deliver), closed afterwards; a mailport error ends the command with its hint.
     */
    private static function with_outbox(callable $use)
    {
        try {
            $missing = mailport_load_binding();
            if ($missing !== null) {
                WP_CLI::error($missing);
            }
            mailport_configure_library();
            $outbox = new \Mailport\Outbox(mailport_outbox_url());
            try {
                return $use($outbox);
            } finally {
                $outbox->close();
            }
        } catch (\Mailport\Exception\ExceptionInterface $e) {
            self::fail($e);
        }
    }

    /** @return never */
    private static function fail(\Mailport\Exception\ExceptionInterface $e): void
    {
        if ($e->getHint() !== '') {
            WP_CLI::warning('Hint: ' . $e->getHint());
        }
        WP_CLI::error($e->getMessage());
    }

    private static function positive(array $assoc_args, string $name): ?int
    {
        if (!isset($assoc_args[$name])) {
            return null;
        }
        $value = (string) $assoc_args[$name];
        if (!ctype_digit($value) || (int) $value < 1) {
            WP_CLI::error("--$name=$value: give a whole number of at least 1");
        }
        return (int) $value;
    }
}

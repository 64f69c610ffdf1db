<?php
/**
 * The outbox in the WordPress database, written in plain PHP: what wp_mail() does in a web
 * request that cannot use the library (PHP's ffi.enable defaults to "preload", so an ordinary
 * php-fpm request may not call FFI), and when a direct send fails for a reason that may pass.
 *
 * A mail becomes one row of {$wpdb->prefix}mailport_outbox holding the wp_mail() call as a message
 * description (docs/outbox.md, "A wp_mail() call"): the arguments, the site's defaults, and what
 * WordPress's wp_mail_from, wp_mail_from_name, wp_mail_content_type and wp_mail_charset filters
 * returned in this request. The library renders it when a worker (wp mailport outbox run, or the
 * mailport command on the same database) sends it, with the rules of a direct wp_mail() through
 * the library. Attachments are copied first into a folder of the uploads directory that the web
 * server does not serve, since WordPress and plugins delete their temporary files once the
 * request ends.
 */

defined('ABSPATH') || exit;

final class Mailport_Queue
{
    /** The folder of uploads/ holding attachments until their mail is rendered. */
    const FILES = 'mailport-outbox';

    /** The table, as the library names it for the site's prefix (mysql://…?prefix=wp_). */
    public static function table(): string
    {
        global $wpdb;
        return $wpdb->prefix . 'mailport_outbox';
    }

    /**
     * The statement the library creates the table with (docs/outbox.md, "The table"; a test
     * checks that they are the same), so that a request without the library can create it too.
     */
    public static function create_table_sql(): string
    {
        $t = self::table();
        return "CREATE TABLE IF NOT EXISTS `$t` (\n"
            . "  `id` CHAR(30) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,\n"
            . "  `state` VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'queued',\n"
            . "  `created` BIGINT NOT NULL,\n"
            . "  `due` BIGINT NOT NULL DEFAULT 0,\n"
            . "  `lease_owner` VARCHAR(255) NULL DEFAULT NULL,\n"
            . "  `lease_expires` BIGINT NULL DEFAULT NULL,\n"
            . "  `held_settings` VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,\n"
            . "  `format` INT NOT NULL DEFAULT 1,\n"
            . "  `header` LONGTEXT NULL,\n"
            . "  `description` LONGTEXT NULL,\n"
            . "  `body` LONGBLOB NULL,\n"
            . "  `record` LONGTEXT NULL,\n"
            . "  `reason` TEXT NULL,\n"
            . "  `updated` BIGINT NOT NULL DEFAULT 0,\n"
            . "  `pending` TINYINT GENERATED ALWAYS AS (`state` NOT IN ('sent', 'failed', 'cancelled', 'quarantined')) STORED,\n"
            . "  PRIMARY KEY (`id`),\n"
            . "  KEY `mailport_claim` (`pending`, `id`)\n"
            . ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    }

    /** Whether the table exists (a site that never queued a mail has none). */
    public static function table_exists(): bool
    {
        global $wpdb;
        $table = self::table();
        return $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $table)) === $table;
    }

    /** Create the table when it is missing. Returns null, or why it could not. */
    public static function ensure_table(): ?string
    {
        global $wpdb;
        $suppress = $wpdb->suppress_errors(true);
        $ok = $wpdb->query(self::create_table_sql());
        $wpdb->suppress_errors($suppress);
        return $ok === false ? sprintf('cannot create the table %s: %s', self::table(), $wpdb->last_error) : null;
    }

    /**
     * Queue one wp_mail() call. Returns the entry id, or a WP_Error saying why nothing was queued
     * (then nothing was written: no row, no copied file).
     *
     * @param array $atts wp_mail()'s arguments, after the wp_mail filter
     * @return string|WP_Error
     */
    public static function enqueue(array $atts)
    {
        global $wpdb;
        $id = self::new_id();
        try {
            $call = self::call($atts);
            $call['attachments'] = self::copy_files($id, $call['attachments'], false);
            $call['embeds'] = self::copy_files($id, $call['embeds'], true);
        } catch (Mailport_Queue_Error $e) {
            self::remove_files($id);
            return new WP_Error('wp_mail_failed', $e->getMessage(), ['hint' => $e->hint]);
        }
        $description = ['wp_mail' => array_filter($call, static fn ($v): bool => $v !== null && $v !== [])];
        $envelope = defined('MAILPORT_ENVELOPE_SENDER') && MAILPORT_ENVELOPE_SENDER !== '' && MAILPORT_ENVELOPE_SENDER !== null
            ? (string) MAILPORT_ENVELOPE_SENDER : null;
        if ($envelope !== null) {
            $description['envelope_from'] = $envelope;
        }
        $json = wp_json_encode($description, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($json === false) {
            self::remove_files($id);
            return new WP_Error('wp_mail_failed', 'the mail cannot be queued: its text is not valid UTF-8', [
                'hint' => 'pass the subject, message and headers as UTF-8',
            ]);
        }
        $row = ['id' => $id, 'created' => time(), 'description' => $json];
        $formats = ['%s', '%d', '%s'];
        $suppress = $wpdb->suppress_errors(true);
        $ok = $wpdb->insert(self::table(), $row, $formats);
        if ($ok === false && self::ensure_table() === null) {
            $ok = $wpdb->insert(self::table(), $row, $formats);
        }
        $wpdb->suppress_errors($suppress);
        if ($ok === false) {
            self::remove_files($id);
            return new WP_Error('wp_mail_failed', sprintf(
                'the mail cannot be queued in the table %s: %s',
                self::table(),
                $wpdb->last_error !== '' ? $wpdb->last_error : 'the database refused the row',
            ), ['hint' => 'check that the database user may create and write that table']);
        }
        return $id;
    }

    /** The last attempt of an outbox entry's record (its kind, message, hint), or null. */
    public static function last_attempt(string $id): ?array
    {
        global $wpdb;
        if (!self::table_exists()) {
            return null;
        }
        $record = $wpdb->get_var($wpdb->prepare('SELECT `record` FROM `' . self::table() . '` WHERE `id` = %s', $id));
        $record = is_string($record) ? json_decode($record, true) : null;
        $attempts = is_array($record['attempts'] ?? null) ? $record['attempts'] : [];
        $last = end($attempts);
        return is_array($last) ? $last : null;
    }

    /**
     * Record a mail sent (or refused) at once in the same table, finished, so that the Email
     * log shows every mail and not only the queued ones: a row in a final state with the record
     * the library would have written (docs/outbox.md, "The record"), and no message kept. A log
     * that cannot be written never fails the mail.
     *
     * @param list<string> $recipients the envelope's recipients as far as known
     */
    public static function log_direct(string $subject, string $from, array $recipients, ?\Mailport\Receipt $receipt, ?Throwable $error): void
    {
        global $wpdb;
        $id = self::new_id();
        $now = time();
        if ($receipt !== null) {
            $accepted = array_values(array_map('strval', $receipt->accepted));
            $recipient_list = array_map(static fn (string $a): array => ['address' => $a, 'state' => 'sent'], $accepted);
            foreach ($receipt->rejected as $r) {
                $recipient_list[] = ['address' => (string) $r->address, 'state' => 'failed', 'reply' => (string) $r->reply];
            }
            $attempt = [
                'at' => $now,
                'connection' => 0,
                'server' => (string) Mailport_Settings::get('host') . ':' . $receipt->port,
                'outcome' => 'sent',
                'message' => trim($receipt->replyCode . ' ' . $receipt->serverReply),
                'reply_code' => $receipt->replyCode,
            ];
            if (preg_match('/queued as ([A-Za-z0-9._@-]+)/', $receipt->serverReply, $m)) {
                $attempt['queue_id'] = $m[1];
            }
            $state = 'sent';
            $message_id = $receipt->messageId;
            $size = $receipt->size;
        } else {
            $recipient_list = array_map(static fn (string $a): array => ['address' => $a, 'state' => 'failed'], $recipients);
            $ours = $error instanceof \Mailport\Exception\ExceptionInterface;
            $attempt = [
                'at' => $now,
                'connection' => 0,
                'server' => (string) Mailport_Settings::get('host') . ':' . (string) Mailport_Settings::get('port'),
                'outcome' => $ours && $error->isTransient() ? 'transient' : 'permanent',
                'kind' => $ours ? strtolower(preg_replace('/^MAILPORT_ERR_/', '', $error->getName())) : 'plugin',
                // The message without its hint, which has a field of its own.
                'message' => $ours ? $error->getErrorMessage() : ($error !== null ? $error->getMessage() : ''),
            ];
            if ($ours && $error->getHint() !== '') {
                $attempt['hint'] = $error->getHint();
            }
            if ($ours && $error->getReplyCode() > 0) {
                $attempt['reply_code'] = $error->getReplyCode();
            }
            $state = 'failed';
            $message_id = null;
            $size = 0;
        }
        $record = array_filter([
            'id' => $id,
            'state' => $state,
            'created' => $now,
            'due' => $now,
            'message_id' => $message_id,
            'subject' => $subject,
            'envelope_from' => $from,
            'recipients' => $recipient_list,
            'attempts' => [$attempt],
            'delivered_by' => $state === 'sent' ? 0 : null,
            'size' => $size,
            'reason' => $state === 'failed' ? $attempt['message'] : null,
        ], static fn ($v): bool => $v !== null);
        // The entry header the library reads with every row (docs/outbox.md, "The entry header").
        $header = array_filter([
            'format' => 1,
            'id' => $id,
            'created' => $now,
            'envelope_from' => $from,
            'recipients' => array_map(static fn (array $r): string => $r['address'], $recipient_list),
            'message_id' => $message_id,
            'subject' => $subject,
            'size' => $size,
        ], static fn ($v): bool => $v !== null);
        $json = static fn (array $v): string => (string) wp_json_encode($v, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        $row = [
            'id' => $id,
            'state' => $state,
            'created' => $now,
            'header' => $json($header),
            'record' => $json($record),
            'reason' => $state === 'failed' ? $attempt['message'] : null,
            'updated' => $now,
        ];
        $formats = ['%s', '%s', '%d', '%s', '%s', '%s', '%d'];
        $suppress = $wpdb->suppress_errors(true);
        if ($wpdb->insert(self::table(), $row, $formats) === false && self::ensure_table() === null) {
            $wpdb->insert(self::table(), $row, $formats);
        }
        $wpdb->suppress_errors($suppress);
    }

    /**
     * The wp_mail() call as the description's wp_mail object, with the filters applied as
     * WordPress applies them: to the From, Content-Type and charset its own parsing of the headers
     * gives (the library parses the same way when it renders; only what a filter changed is kept).
     */
    public static function call(array $atts): array
    {
        $to = $atts['to'] ?? [];
        $to = is_array($to) ? array_values(array_map('strval', $to)) : [(string) $to];
        $headers = $atts['headers'] ?? [];
        if (is_array($headers)) {
            $headers = array_values(array_map('strval', $headers));
            foreach ($headers as $header) {
                // One element is one header, as in a direct send (and WordPress core): a line
                // break inside would be a second header smuggled in.
                if (preg_match('/[\r\n]/', trim($header))) {
                    $name = strstr($header, ':', true);
                    throw new Mailport_Queue_Error(
                        sprintf('the %s header holds a line break: one element of the headers array is one header', $name === false ? 'a' : trim($name)),
                        'pass each header as its own array element, without CR or LF',
                    );
                }
            }
        } else {
            $headers = (string) $headers;
        }
        $parsed = self::parse_headers($headers);

        $default_from = mailport_setting_string('from_email');
        $default_name = mailport_setting_string('from_name');
        $site = wp_parse_url(network_home_url(), PHP_URL_HOST);
        $site = is_string($site) ? $site : '';
        $charset = (string) get_bloginfo('charset');

        $from_email = $parsed['from_email'] ?? $default_from
            ?? 'wordpress@' . (str_starts_with($site, 'www.') ? substr($site, 4) : $site);
        $from_name = $parsed['from_name'] ?? $default_name ?? 'WordPress';
        $content_type = $parsed['content_type'] ?? 'text/plain';
        $parsed_charset = $parsed['charset'] ?? ($charset !== '' ? $charset : 'UTF-8');

        $filtered = [
            'from_email' => mailport_filter_string('wp_mail_from', apply_filters('wp_mail_from', $from_email)),
            'from_name' => mailport_filter_string('wp_mail_from_name', apply_filters('wp_mail_from_name', $from_name)),
            'content_type' => mailport_filter_string('wp_mail_content_type', apply_filters('wp_mail_content_type', $content_type)),
            'charset' => mailport_filter_string('wp_mail_charset', apply_filters('wp_mail_charset', $parsed_charset)),
        ];
        if (Mailport_Settings::get('force_from')) {
            if ($default_from === null) {
                throw new Mailport_Queue_Error(
                    sprintf('%s is set but no From address is (%s)', Mailport_Settings::source('force_from'), Mailport_Settings::source('from_email')),
                    "enter the From address on Settings > Mailport, or define('MAILPORT_FROM', 'wordpress@your-domain'); in wp-config.php",
                );
            }
            $filtered['from_email'] = $default_from;
            if ($default_name !== null) {
                $filtered['from_name'] = $default_name;
            }
        }
        $unfiltered = [
            'from_email' => $from_email,
            'from_name' => $from_name,
            'content_type' => $content_type,
            'charset' => $parsed_charset,
        ];

        $call = [
            'to' => $to,
            'subject' => (string) ($atts['subject'] ?? ''),
            'message' => (string) ($atts['message'] ?? ''),
            'headers' => $headers === '' ? null : $headers,
            'attachments' => self::attachment_list(mailport_attachments($atts['attachments'] ?? [])),
            'embeds' => self::embed_list($atts['embeds'] ?? []),
            'site_domain' => $site !== '' ? $site : null,
            'default_from_email' => $default_from,
            'default_from_name' => $default_name,
            'default_charset' => $charset !== '' ? $charset : null,
        ];
        foreach ($filtered as $key => $value) {
            $call[$key] = $value === $unfiltered[$key] ? null : $value;
        }
        return $call;
    }

    /**
     * From, Content-Type and charset as wp_mail() reads them from $headers: pluggable.php's rules
     * for From, and the library's (WpMail::parse) for Content-Type parameters. Keys are absent
     * when the headers do not set them. Only the filters see these values: the library parses
     * the call itself when it renders it.
     *
     * @param string|list<string> $headers
     * @return array{from_email?: string, from_name?: string, content_type?: string, charset?: string}
     */
    public static function parse_headers($headers): array
    {
        $lines = is_array($headers) ? $headers : explode("\n", str_replace("\r\n", "\n", $headers));
        $out = [];
        foreach ($lines as $line) {
            if (!str_contains($line, ':')) {
                continue;
            }
            [$name, $content] = explode(':', trim($line), 2);
            $name = strtolower(trim($name));
            $content = trim($content);
            if ($name === 'from') {
                $bracket = strpos($content, '<');
                if ($bracket !== false) {
                    if ($bracket > 0) {
                        $out['from_name'] = trim(str_replace('"', '', substr($content, 0, $bracket)));
                    }
                    $out['from_email'] = trim(str_replace('>', '', substr($content, $bracket + 1)));
                } elseif ($content !== '') {
                    $out['from_email'] = $content;
                }
            } elseif ($name === 'content-type') {
                $pieces = explode(';', $content);
                $media = trim((string) array_shift($pieces));
                if ($media !== '') {
                    $out['content_type'] = $media;
                }
                foreach ($pieces as $param) {
                    if (!str_contains($param, '=')) {
                        continue;
                    }
                    [$key, $value] = explode('=', $param, 2);
                    if (strtolower(trim($key)) === 'charset') {
                        $out['charset'] = trim(trim(trim($value), '"\''));
                    }
                }
            }
        }
        return $out;
    }

    /**
     * Remove the copied files of entries the library no longer needs them for: rendered (it
     * keeps the rendering), finished, or gone. A folder without a row is left an hour, since the
     * row is written after the files are copied. Returns how many folders were removed.
     */
    public static function cleanup(): int
    {
        global $wpdb;
        $base = self::files_base();
        if ($base === null || !is_dir($base)) {
            return 0;
        }
        $removed = 0;
        foreach (scandir($base) ?: [] as $name) {
            if (!preg_match('/^\d{13}-[0-9a-f]{16}$/', $name)) {
                continue;
            }
            $row = $wpdb->get_row($wpdb->prepare(
                'SELECT `state`, `header` IS NOT NULL AS `rendered` FROM `' . self::table() . '` WHERE `id` = %s',
                $name,
            ));
            $done = $row === null
                ? filemtime("$base/$name") < time() - HOUR_IN_SECONDS
                : ($row->rendered || in_array($row->state, ['sent', 'failed', 'cancelled'], true));
            if ($done) {
                self::remove_files($name);
                $removed++;
            }
        }
        return $removed;
    }

    /** An entry id: the time in milliseconds and 64 random bits (docs/outbox.md, "Entry ids"). */
    private static function new_id(): string
    {
        return sprintf('%013d-%s', (int) floor(microtime(true) * 1000), bin2hex(random_bytes(8)));
    }

    /**
     * @param array<int|string, string> $attachments as mailport_attachments() gives them
     * @return list<array{path: string, name: ?string}>
     */
    private static function attachment_list(array $attachments): array
    {
        $list = [];
        foreach ($attachments as $key => $path) {
            $path = (string) $path;
            if (trim($path) === '') {
                continue;
            }
            $list[] = ['path' => $path, 'name' => is_string($key) && $key !== '' ? $key : null];
        }
        return $list;
    }

    /** @return list<array{path: string, content_id: string}> */
    private static function embed_list($embeds): array
    {
        $list = [];
        foreach (is_array($embeds) ? $embeds : [] as $cid => $path) {
            $list[] = ['path' => (string) $path, 'content_id' => (string) $cid];
        }
        return $list;
    }

    /**
     * Copy each file into this entry's folder, under the name it is attached with.
     *
     * @param list<array<string, ?string>> $files
     * @return list<array<string, string>>
     */
    private static function copy_files(string $id, array $files, bool $embeds): array
    {
        if ($files === []) {
            return [];
        }
        $base = self::files_base();
        if ($base === null) {
            throw new Mailport_Queue_Error(
                'the mail has attachments, and the uploads directory is not available to keep them until it is sent',
                'check that wp-content/uploads exists and the web server may write to it',
            );
        }
        self::protect($base);
        $dir = "$base/$id";
        if (!wp_mkdir_p($dir)) {
            throw new Mailport_Queue_Error("cannot create $dir to keep the attachments until the mail is sent", 'check that the web server may write to ' . $base);
        }
        $copied = [];
        foreach ($files as $n => $file) {
            $source = $file['path'];
            if (!is_file($source) || !is_readable($source)) {
                throw new Mailport_Queue_Error(
                    sprintf('the %s %s cannot be read', $embeds ? 'embedded file' : 'attachment', $source),
                    'pass the path of an existing, readable file',
                );
            }
            // A number first keeps two files of the same name apart.
            $target = sprintf('%s/%d-%s', $dir, $n, sanitize_file_name(wp_basename($source)));
            if (!copy($source, $target)) {
                throw new Mailport_Queue_Error("cannot copy $source to $target", 'check the free space and the permissions of ' . $base);
            }
            $entry = ['path' => $target];
            if ($embeds) {
                $entry['content_id'] = $file['content_id'];
            } else {
                // Attached under its own name unless the call named it.
                $entry['name'] = $file['name'] ?? wp_basename($source);
            }
            $copied[] = $entry;
        }
        return $copied;
    }

    private static function files_base(): ?string
    {
        $uploads = wp_upload_dir(null, false);
        if (!empty($uploads['error']) || empty($uploads['basedir'])) {
            return null;
        }
        return rtrim($uploads['basedir'], '/') . '/' . self::FILES;
    }

    /** Keep the web server from serving the folder (Apache; nginx serves no dot-less index). */
    private static function protect(string $base): void
    {
        if (!is_dir($base)) {
            wp_mkdir_p($base);
        }
        if (!file_exists("$base/.htaccess")) {
            @file_put_contents("$base/.htaccess", "Require all denied\nDeny from all\n");
        }
        if (!file_exists("$base/index.php")) {
            @file_put_contents("$base/index.php", "<?php // Silence is golden.\n");
        }
    }

    private static function remove_files(string $id): void
    {
        $base = self::files_base();
        if ($base === null || !preg_match('/^\d{13}-[0-9a-f]{16}$/', $id) || !is_dir("$base/$id")) {
            return;
        }
        foreach (scandir("$base/$id") ?: [] as $name) {
            if ($name !== '.' && $name !== '..') {
                @unlink("$base/$id/$name");
            }
        }
        @rmdir("$base/$id");
    }
}

/** Why a mail cannot be queued, with what to do about it. */
final class Mailport_Queue_Error extends RuntimeException
{
    public string $hint;

    public function __construct(string $message, string $hint)
    {
        parent::__construct($message);
        $this->hint = $hint;
    }
}

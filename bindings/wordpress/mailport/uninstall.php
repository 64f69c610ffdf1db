<?php
/**
 * Uninstall the Mailport SMTP plugin: remove what it stored, and nothing else.
 *
 * - Its options: mailport_settings (the Settings screen; passwords encrypted), what the worker
 *   keeps: mailport_worker_last_run, mailport_connection_health, mailport_last_check,
 *   mailport_check_requested, and mailport_library_check (the verdict on the bundled
 *   libmailport: its checksum and ABI, with its size and times, so requests need not hash it),
 *   and mailport_oauth (the Google / Microsoft 365 sign-in: the refresh token, encrypted).
 * - The outbox table {prefix}mailport_outbox and the attachment copies in
 *   uploads/mailport-outbox/, but only when no mail in it is still waiting to be sent: a site
 *   that uninstalls with mail queued keeps it (the mailport command can still deliver it, or a
 *   reinstalled plugin), since "accepted" means delivered or explained, never dropped unseen.
 *
 * The settings are the MAILPORT_* constants in wp-config.php, which belong to the site owner:
 * remove them by hand if you no longer want them.
 */

defined('WP_UNINSTALL_PLUGIN') || exit;

foreach (['mailport_settings', 'mailport_worker_last_run', 'mailport_connection_health', 'mailport_last_check', 'mailport_check_requested', 'mailport_library_check', 'mailport_oauth'] as $mailport_option) {
    delete_option($mailport_option);
}

global $wpdb;
$mailport_table = $wpdb->prefix . 'mailport_outbox';
if ($wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $mailport_table)) === $mailport_table) {
    $mailport_pending = (int) $wpdb->get_var("SELECT COUNT(*) FROM `$mailport_table` WHERE `pending` = 1");
    if ($mailport_pending === 0) {
        $wpdb->query("DROP TABLE `$mailport_table`");
        $mailport_uploads = wp_upload_dir(null, false);
        $mailport_files = rtrim((string) ($mailport_uploads['basedir'] ?? ''), '/') . '/mailport-outbox';
        if (($mailport_uploads['basedir'] ?? '') !== '' && is_dir($mailport_files)) {
            $mailport_items = new RecursiveIteratorIterator(
                new RecursiveDirectoryIterator($mailport_files, FilesystemIterator::SKIP_DOTS),
                RecursiveIteratorIterator::CHILD_FIRST,
            );
            foreach ($mailport_items as $mailport_item) {
                $mailport_item->isDir() ? @rmdir($mailport_item->getPathname()) : @unlink($mailport_item->getPathname());
            }
            @rmdir($mailport_files);
        }
    }
}

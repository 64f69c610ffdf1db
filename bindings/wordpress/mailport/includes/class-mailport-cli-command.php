<?php
/**
 * WP-CLI commands of the Mailport SMTP plugin (loaded only when WP_CLI is defined).
 */

defined('ABSPATH') || exit;

/**
 * Send a test mail and check the SMTP server configured with the MAILPORT_* constants.
 */
class Mailport_CLI_Command
{
    /**
     * Send a test mail through wp_mail() with mailport.
     *
     * ## OPTIONS
     *
     * <to>
     * : The address to send the test mail to.
     *
     * ## EXAMPLES
     *
     *     wp mailport test me@example.com
     *
     * @param array<int, string> $args
     * @param array<string, string> $assoc_args
     */
    public function test($args, $assoc_args): void
    {
        [$to] = $args;
        $result = mailport_send_test_mail($to);
        if ($result === true) {
            $receipt = mailport_last_receipt();
            if ($receipt !== null) {
                WP_CLI::log(sprintf('Server reply: %d %s', $receipt->replyCode, $receipt->serverReply));
                WP_CLI::log(sprintf(
                    'Port %d, %s',
                    $receipt->port,
                    $receipt->tlsVersion !== null ? "encrypted ({$receipt->tlsVersion}, {$receipt->tlsCipher})" : 'NOT encrypted',
                ));
            }
            WP_CLI::success("Test mail sent to $to.");
            return;
        }
        self::explain($result);
        WP_CLI::error($result->get_error_message());
    }

    /**
     * Check the configured SMTP server without sending anything: which ports work, which one to
     * use and why, and what is wrong with the others.
     *
     * ## OPTIONS
     *
     * [--port=<ports>]
     * : Comma-separated ports to check instead of MAILPORT_PORT (or 587,465,2525,25).
     *
     * [--format=<format>]
     * : text (the summary and findings) or json (the whole report).
     * ---
     * default: text
     * options:
     *   - text
     *   - json
     * ---
     *
     * ## EXAMPLES
     *
     *     wp mailport check
     *     wp mailport check --port=587,465 --format=json
     *
     * @param array<int, string> $args
     * @param array<string, string> $assoc_args
     */
    public function check($args, $assoc_args): void
    {
        $ports = null;
        if (isset($assoc_args['port']) && $assoc_args['port'] !== '') {
            $ports = array_map('intval', explode(',', $assoc_args['port']));
        }
        try {
            $report = mailport_check_connection($ports);
            Mailport_OAuth::check_findings($report);
        } catch (Throwable $e) {
            Mailport_OAuth::failed_with($e);
            WP_CLI::error($e->getMessage());
            return;
        }
        if (($assoc_args['format'] ?? 'text') === 'json') {
            WP_CLI::line($report->json);
        } else {
            WP_CLI::line($report->summary);
            foreach ($report->findings as $finding) {
                WP_CLI::line(sprintf(
                    '- [%s]%s %s%s',
                    $finding->severity ?? 'note',
                    $finding->port !== null ? " port {$finding->port}:" : '',
                    $finding->message,
                    $finding->hint !== '' ? "\n  hint: {$finding->hint}" : '',
                ));
            }
        }
        if ($report->ok) {
            WP_CLI::success($report->recommendation !== null ? "Use {$report->recommendation}." : 'The server works.');
        } else {
            WP_CLI::error('No port works with this configuration.');
        }
    }

    /** Print what a failed wp_mail_failed error knows besides its message. */
    private static function explain(WP_Error $error): void
    {
        $data = $error->get_error_data();
        if (!is_array($data)) {
            return;
        }
        if (!empty($data['mailport_code'])) {
            WP_CLI::log('Error: ' . $data['mailport_code']
                . (!empty($data['reply_code']) ? ' (server reply ' . $data['reply_code'] . ')' : ''));
        }
        if (!empty($data['transcript'])) {
            WP_CLI::log("Transcript (passwords removed):\n" . rtrim($data['transcript']));
        }
    }
}

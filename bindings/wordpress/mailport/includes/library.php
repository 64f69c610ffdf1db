<?php
/**
 * The library bundled in the plugin zip (vendor/mailport/lib/linux-x86_64/libmailport.so.1, made
 * by package.sh): verified against vendor/mailport/lib/SHA256SUMS and for its ABI before the
 * binding may load it, at activation and again whenever the file changes; a library that fails
 * either check is refused, which administrators learn from a dashboard notice and a Site Health
 * test, and every wp_mail() call learns from a wp_mail_failed error naming the same cause.
 *
 * The verdict is kept in the option mailport_library_check with the file's size, mtime, ctime
 * and inode, so a request only stat()s the file: hashing 5 MB and loading the library to read its
 * ABI on every request would cost more than the mail.
 */

defined('ABSPATH') || exit;

const MAILPORT_LIBRARY_CHECK_OPTION = 'mailport_library_check';

/**
 * Whether the library to vet is the binding's bundled copy: not when wp-config.php or the
 * environment names a library (the binding then loads that one, checking only its ABI), nor
 * when the binding has no copy for this platform.
 */
function mailport_bundled_library(): ?string
{
    if ((defined('MAILPORT_LIBRARY') && MAILPORT_LIBRARY !== '') || (string) getenv('MAILPORT_LIBRARY') !== '') {
        return null;
    }
    if (!class_exists('Mailport\\Native') || !method_exists('Mailport\\Native', 'bundledLibrary')) {
        return null;
    }
    $path = \Mailport\Native::bundledLibrary();
    return $path !== null && is_file($path) ? $path : null;
}

/**
 * The SHA-256 lib/SHA256SUMS gives for $library, or why there is none.
 *
 * @return array{0: ?string, 1: string} [hex digest or null, the SHA256SUMS path or the problem]
 */
function mailport_expected_sha256(string $library): array
{
    $package = dirname($library, 3);
    $sums = $package . '/lib/SHA256SUMS';
    $relative = substr($library, strlen($package) + 1);
    $text = is_file($sums) ? @file_get_contents($sums) : false;
    if ($text === false) {
        return [null, sprintf('%s, which holds its checksum, is missing or unreadable', $sums)];
    }
    foreach (preg_split('/\r?\n/', $text) as $line) {
        // sha256sum's format: the digest, two spaces (or " *" in binary mode), the path.
        if (preg_match('/^([0-9a-f]{64}) [ *](.+)$/', trim($line), $m) && $m[2] === $relative) {
            return [$m[1], $sums];
        }
    }
    return [null, sprintf('%s lists no checksum for %s', $sums, $relative)];
}

/** What identifies this version of the file without reading it. */
function mailport_file_stamp(string $path): array
{
    clearstatcache(true, $path);
    $st = @stat($path);
    return $st === false ? [] : [(int) $st['size'], (int) $st['mtime'], (int) $st['ctime'], (int) $st['ino']];
}

/**
 * Verify the bundled library: its SHA-256 against lib/SHA256SUMS, then its ABI. Saves and
 * returns the record: path, stamp, expected, actual, abi, version, problem (null when usable),
 * checked (a Unix time).
 */
function mailport_verify_bundled_library(string $library): array
{
    $record = [
        'path' => $library,
        'stamp' => mailport_file_stamp($library),
        'expected' => null,
        'actual' => null,
        'abi' => null,
        'version' => null,
        'abi_unknown' => null,
        'problem' => null,
        'checked' => time(),
    ];
    [$expected, $source] = mailport_expected_sha256($library);
    $record['expected'] = $expected;
    $actual = @hash_file('sha256', $library);
    $record['actual'] = $actual === false ? null : $actual;
    $reinstall = 'reinstall the plugin from its zip (Plugins > Add New > Upload Plugin, replacing the current one), or define MAILPORT_LIBRARY in wp-config.php as the path of a libmailport.so.1 you built or installed';
    if ($expected === null) {
        $record['problem'] = sprintf('the bundled libmailport (%s) cannot be verified: %s. The plugin does not load a library it cannot verify; %s.', $library, $source, $reinstall);
    } elseif ($record['actual'] === null) {
        $record['problem'] = sprintf('the bundled libmailport (%s) cannot be read by PHP; check its permissions, or %s.', $library, $reinstall);
    } elseif (!hash_equals($expected, $record['actual'])) {
        $record['problem'] = sprintf(
            'the bundled libmailport (%s) does not match its checksum: its SHA-256 is %s, %s expects %s. The file was damaged or replaced (an interrupted upload, a copy from another release, or tampering), so the plugin does not load it; %s.',
            $library,
            $record['actual'],
            $source,
            $expected,
            $reinstall,
        );
    } else {
        try {
            $info = \Mailport\Native::inspectLibrary($library);
            $record['abi'] = $info['abi'];
            $record['version'] = $info['version'];
            if ($info['abi'] !== \Mailport\Native::ABI_VERSION) {
                $record['problem'] = sprintf(
                    'the bundled libmailport (%s, %s) has ABI %d, but the plugin\'s PHP binding was written for ABI %d, so the plugin does not load it. The library and the binding come from different mailport releases; %s.',
                    $library,
                    $info['version'],
                    $info['abi'],
                    \Mailport\Native::ABI_VERSION,
                    $reinstall,
                );
            }
        } catch (Throwable $e) {
            // FFI unusable in this request (ffi.enable=preload under php-fpm, say): the binding
            // checks the ABI itself when it loads the library, and says what to configure.
            $record['abi_unknown'] = $e->getMessage();
        }
    }
    update_option(MAILPORT_LIBRARY_CHECK_OPTION, $record, false);
    return $record;
}

/**
 * Why the bundled library must not be loaded, or null (no bundled copy in use, or it passed).
 * Cheap unless the file changed since it was last verified; $full verifies anyway.
 */
function mailport_library_refusal(bool $full = false): ?string
{
    $library = mailport_bundled_library();
    if ($library === null) {
        return null;
    }
    $record = get_option(MAILPORT_LIBRARY_CHECK_OPTION);
    $fresh = is_array($record) && ($record['path'] ?? null) === $library
        && ($record['stamp'] ?? null) === mailport_file_stamp($library)
        && ($record['expected'] ?? null) === mailport_expected_sha256($library)[0]
        && !($full || ($record['abi'] === null && $record['problem'] === null && mailport_ffi_usable()));
    if (!$fresh) {
        $record = mailport_verify_bundled_library($library);
    }
    return $record['problem'];
}

/** Activation: verify the bundled library in full, so that a bad copy is reported at once. */
function mailport_activate(): void
{
    if (mailport_load_binding() === null) {
        mailport_library_refusal(true);
    }
}

/**
 * The state of the library for administrators: [status, message, library], status being
 * 'good', 'refused' (the bundled copy failed its checks), 'unavailable' (it cannot be loaded)
 * or 'missing' (no binding).
 *
 * @return array{0: string, 1: string, 2: ?string}
 */
function mailport_library_state(bool $full = false): array
{
    $missing = mailport_load_binding();
    if ($missing !== null) {
        return ['missing', $missing, null];
    }
    $refused = mailport_library_refusal($full);
    if ($refused !== null) {
        return ['refused', $refused, mailport_bundled_library()];
    }
    try {
        mailport_configure_library(); // refuses nothing now: the check above passed
        $version = \Mailport\Mailport::version(); // loads libmailport
        return ['good', $version, \Mailport\Native::libraryPath()];
    } catch (Throwable $e) {
        return ['unavailable', $e->getMessage(), null];
    }
}

/**
 * Tell administrators when mail cannot be sent: always when the bundled library was refused,
 * and when an SMTP host is set but the binding or the library cannot be loaded.
 */
function mailport_admin_notice(): void
{
    if (!current_user_can('manage_options')) {
        return;
    }
    [$status, $message] = mailport_library_state();
    if ($status === 'good' || ($status !== 'refused' && !mailport_is_configured())) {
        return;
    }
    if ($status === 'unavailable' && !mailport_ffi_usable()) {
        // This request may not use FFI, so mail is queued for the worker (Site Health says so).
        return;
    }
    $lead = $status === 'refused'
        ? __('the plugin refused its bundled libmailport, so it cannot send mail until this is fixed.', 'mailport')
        : __('An SMTP host is set, but mail cannot be sent: every wp_mail() call fails until this is fixed.', 'mailport');
    printf(
        '<div class="notice notice-error"><p><strong>Mailport SMTP:</strong> %s</p><p>%s</p></div>',
        esc_html($lead),
        nl2br(esc_html($message)),
    );
}
add_action('admin_notices', 'mailport_admin_notice');

/** The Site Health test (Tools > Site Health): the library, verified in full. */
function mailport_site_health_library(): array
{
    [$status, $message, $library] = mailport_library_state(true);
    $result = [
        'label' => __('Mailport SMTP can load libmailport', 'mailport'),
        'status' => 'good',
        'badge' => ['label' => __('Mailport SMTP', 'mailport'), 'color' => 'blue'],
        'description' => '',
        'actions' => '',
        'test' => 'mailport_library',
    ];
    if ($status === 'good') {
        $result['description'] = '<p>' . esc_html(sprintf(
            /* translators: 1: library version, 2: its path */
            __('%1$s, loaded from %2$s, with the ABI the plugin was written for.', 'mailport'),
            $message,
            (string) $library,
        )) . '</p>';
        return $result;
    }
    if ($status === 'unavailable' && !mailport_ffi_usable()) {
        $result['label'] = __('Mailport SMTP loads libmailport in the worker only', 'mailport');
        $result['status'] = 'recommended';
        $result['badge']['color'] = 'orange';
        $result['description'] = '<p>' . esc_html__('PHP does not allow FFI in web requests here, so the library is not loaded by them: wp_mail() queues mail, and "wp mailport outbox run" (from the command line, where FFI is allowed) sends it. Its copy passed the checksum and ABI checks.', 'mailport') . '</p>';
        return $result;
    }
    $result['badge']['color'] = 'red';
    $result['status'] = $status === 'refused' || mailport_is_configured() ? 'critical' : 'recommended';
    $result['label'] = $status === 'refused'
        ? __('Mailport SMTP refused its bundled libmailport', 'mailport')
        : __('Mailport SMTP cannot load libmailport', 'mailport');
    $result['description'] = '<p>' . nl2br(esc_html($message)) . '</p>';
    return $result;
}

add_filter('site_status_tests', static function (array $tests): array {
    $tests['direct']['mailport_library'] = [
        'label' => __('Mailport SMTP library', 'mailport'),
        'test' => 'mailport_site_health_library',
    ];
    return $tests;
});

<?php

/**
 * A sender for the submission benchmark: PHPMailer (Debian's libphp-phpmailer), or mailport
 * through its FFI binding (bindings/php).
 *
 *     php benches/peers/sender.php LIB MODE PORT CA N TEXT [ATTACHMENT]
 *
 * LIB is `phpmailer` or `mailport` (the library is found through MAILPORT_LIBRARY). MODE is `one`,
 * `each`, `persistent` (mailport only), `attach` (ATTACHMENT over implicit TLS; N must be 1) or
 * `render` (mailport only: the message with ATTACHMENT rendered to bytes in memory, nothing sent;
 * N must be 1). See benches/peers/README.md.
 *
 * Prints one line, `<seconds> <cpu_seconds> <resumed> <rss_growth_kib>`, for the span from just
 * before the client is made until after QUIT (`render` adds `<output_bytes>`); exits non-zero
 * with the error on stderr when anything fails. PHPMailer's autoloader is /usr/share/php/libphp-phpmailer/autoload.php (Debian);
 * PHPMAILER_AUTOLOAD names another. SENDER_VERBOSE=1 prints the negotiated TLS version on stderr.
 *
 * PHP's FFI: the CLI's default ffi.enable=preload allows FFI in the CLI, so plain `php` works;
 * `php -d ffi.enable=1` is needed only where php.ini sets ffi.enable=0.
 */

declare(strict_types=1);

use Mailport\{Client, Config, Message, Receipt};
use PHPMailer\PHPMailer\{PHPMailer, SMTP};

const USER = 'bench';
const PASSWORD = 'secret';
const FROM_NAME = 'Bench';
const FROM_ADDRESS = 'bench@example.com';
const TO = 'sink@example.com';
const HELO = 'bench.example';

function fail(string $why): never
{
    fwrite(STDERR, "sender.php: $why\n");
    exit(1);
}

function usage(string $why): never
{
    fail("$why\nusage: sender.php phpmailer|mailport one|each|persistent|attach|render PORT CA N TEXT [ATTACHMENT]");
}

function verbose(): bool
{
    static $on = null;
    return $on ??= !in_array((string) getenv('SENDER_VERBOSE'), ['', '0'], true);
}

function note(string $text): void
{
    fwrite(STDERR, $text . "\n");
}

function cpu(): float
{
    $r = getrusage();
    return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6
        + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
}

/** A `Vm...:  N kB` line of /proc/self/status, in KiB. */
function statusKib(string $field): int
{
    $status = file_get_contents('/proc/self/status');
    if ($status === false || !preg_match('/^' . $field . ':\s+(\d+) kB/m', $status, $m)) {
        fail("no $field in /proc/self/status");
    }
    return (int) $m[1];
}

/** Reset VmHWM to the current RSS, so that the peak at the end is the span's own. */
function resetPeak(): void
{
    // Not resettable here: VmHWM then also covers start-up.
    @file_put_contents('/proc/self/clear_refs', '5');
}

// ---------------------------------------------------------------------------------------------
// PHPMailer, configured as a well-configured WordPress site uses it

/** With SENDER_VERBOSE: an SMTP class that reports the TLS version and cipher of each connection. */
function verboseSmtp(): SMTP
{
    return new class () extends SMTP {
        public function connect($host, $port = null, $timeout = 30, $options = [])
        {
            $ok = parent::connect($host, $port, $timeout, $options);
            if ($ok && str_starts_with($host, 'ssl://')) {
                $this->report();
            }
            return $ok;
        }

        public function startTLS()
        {
            $ok = parent::startTLS();
            if ($ok) {
                $this->report();
            }
            return $ok;
        }

        private function report(): void
        {
            $crypto = stream_get_meta_data($this->smtp_conn)['crypto'] ?? [];
            note(sprintf('phpmailer: %s %s', $crypto['protocol'] ?? '?', $crypto['cipher_name'] ?? '?'));
        }
    };
}

function phpmailer(int $port, string $ca, string $secure, bool $keepAlive, int $timeout): PHPMailer
{
    $mail = new PHPMailer(true);
    if (verbose()) {
        $mail->setSMTPInstance(verboseSmtp());
    }
    $mail->isSMTP();
    $mail->Host = '127.0.0.1';
    $mail->Port = $port;
    $mail->SMTPAuth = true;
    $mail->Username = USER;
    $mail->Password = PASSWORD;
    $mail->SMTPSecure = $secure;
    $mail->SMTPKeepAlive = $keepAlive;
    $mail->SMTPOptions = [
        'ssl' => ['cafile' => $ca, 'verify_peer' => true, 'verify_peer_name' => true],
        'socket' => ['tcp_nodelay' => true],
    ];
    $mail->Hostname = HELO;
    $mail->Helo = HELO;
    $mail->Timeout = $timeout;
    $mail->CharSet = PHPMailer::CHARSET_UTF8;
    $mail->isHTML(false);
    $mail->setFrom(FROM_ADDRESS, FROM_NAME);
    return $mail;
}

/** Fill in one message; PHPMailer generates the Date and the Message-ID when it sends. */
function phpmailerMessage(PHPMailer $mail, int $i, string $text): void
{
    $mail->addAddress(TO);
    $mail->Subject = "message $i";
    $mail->Body = $text;
}

function phpmailerSender(string $mode, int $port, string $ca, int $n, string $text, ?string $attachment): Closure
{
    return match ($mode) {
        // One PHPMailer object and one SMTP session, as PHPMailer's mailing-list example does.
        'one' => static function () use ($port, $ca, $n, $text): int {
            $mail = phpmailer($port, $ca, PHPMailer::ENCRYPTION_STARTTLS, true, 120);
            for ($i = 0; $i < $n; $i++) {
                phpmailerMessage($mail, $i, $text);
                $mail->send();
                $mail->clearAddresses();
            }
            $mail->smtpClose();
            return -1;
        },
        // A new PHPMailer per message: connect, STARTTLS, AUTH, send, QUIT. PHP's streams cannot
        // tell whether TLS was resumed.
        'each' => static function () use ($port, $ca, $n, $text): int {
            for ($i = 0; $i < $n; $i++) {
                $mail = phpmailer($port, $ca, PHPMailer::ENCRYPTION_STARTTLS, false, 120);
                phpmailerMessage($mail, $i, $text);
                $mail->send();
            }
            return -1;
        },
        'attach' => static function () use ($port, $ca, $text, $attachment): int {
            $mail = phpmailer($port, $ca, PHPMailer::ENCRYPTION_SMTPS, false, 600);
            phpmailerMessage($mail, 0, $text);
            $mail->addAttachment($attachment);
            $mail->send();
            return -1;
        },
        default => usage("unknown mode $mode for phpmailer"),
    };
}

// ---------------------------------------------------------------------------------------------
// mailport through the FFI binding

function mailportConfig(int $port, string $ca, string $security, bool $persistent = false): Config
{
    return new Config(
        host: '127.0.0.1',
        port: $port,
        security: $security,
        username: USER,
        password: PASSWORD,
        heloName: HELO,
        caFile: $ca,
        webpkiRoots: false,
        systemRoots: false,
        persistent: $persistent ?: null,
    );
}

function mailportMessage(int $i, string $text): Message
{
    return (new Message())
        ->setFrom(FROM_NAME . ' <' . FROM_ADDRESS . '>')
        ->addTo(TO)
        ->setSubject("message $i")
        ->setText($text);
}

function mailportSent(Receipt $receipt): Receipt
{
    if (verbose()) {
        note(sprintf('mailport: %s %s resumed=%s', $receipt->tlsVersion, $receipt->tlsCipher, $receipt->tlsResumed ? 'yes' : 'no'));
    }
    return $receipt;
}

function mailportSender(string $mode, int $port, string $ca, int $n, string $text, ?string $attachment): Closure
{
    $each = static function (bool $persistent) use ($port, $ca, $n, $text): int {
        $config = mailportConfig($port, $ca, 'starttls', $persistent);
        $resumed = 0;
        for ($i = 0; $i < $n; $i++) {
            $client = new Client($config);
            $resumed += (int) mailportSent($client->send(mailportMessage($i, $text)))->tlsResumed;
            $client->close(); // QUIT, or with persistent mode back to the process-wide pool
        }
        $config->close();
        // Persistent clients take the pooled session back: the receipts describe that session's
        // first handshake, not a handshake per message.
        return $persistent ? -1 : $resumed;
    };
    return match ($mode) {
        'one' => static function () use ($port, $ca, $n, $text): int {
            $config = mailportConfig($port, $ca, 'starttls');
            $client = new Client($config);
            for ($i = 0; $i < $n; $i++) {
                mailportSent($client->send(mailportMessage($i, $text)));
            }
            $client->close();
            $config->close();
            return -1;
        },
        'each' => static fn (): int => $each(false),
        'persistent' => static fn (): int => $each(true),
        'attach' => static function () use ($port, $ca, $text, $attachment): int {
            $config = mailportConfig($port, $ca, 'tls');
            $client = new Client($config);
            mailportSent($client->send(mailportMessage(0, $text)->attachFile($attachment)));
            $client->close();
            $config->close();
            return -1;
        },
        // [resumed, output bytes]: the output's size is printed as a fifth field.
        'render' => static function () use ($text, $attachment): array {
            $bytes = mailportMessage(0, $text)->attachFile($attachment)->render();
            return [-1, strlen($bytes)];
        },
        default => usage("unknown mode $mode for mailport"),
    };
}

// ---------------------------------------------------------------------------------------------

function main(array $argv): void
{
    if (count($argv) < 7) {
        usage('too few arguments');
    }
    [, $lib, $mode, $port, $ca, $n, $text] = $argv;
    $attachment = $argv[7] ?? null;
    if (!ctype_digit($port) || !ctype_digit($n)) {
        usage('PORT and N must be numbers');
    }
    [$port, $n] = [(int) $port, (int) $n];
    if (($mode === 'attach' || $mode === 'render') && ($attachment === null || $n !== 1)) {
        usage("$mode needs ATTACHMENT and N = 1");
    }

    // "Imports": load and compile the library's classes (and, for mailport, the native library)
    // before the measured span, as Python's imports are.
    if ($lib === 'phpmailer') {
        require getenv('PHPMAILER_AUTOLOAD') ?: '/usr/share/php/libphp-phpmailer/autoload.php';
        foreach ([PHPMailer::class, SMTP::class, \PHPMailer\PHPMailer\Exception::class] as $class) {
            class_exists($class) || fail("cannot load $class");
        }
        $run = phpmailerSender($mode, $port, $ca, $n, $text, $attachment);
    } elseif ($lib === 'mailport') {
        $binding = dirname(__DIR__, 2) . '/bindings/php';
        require $binding . '/autoload.php';
        foreach (glob($binding . '/src/{,Exception/}*.php', GLOB_BRACE) as $file) {
            $class = 'Mailport\\' . str_replace('/', '\\', substr($file, strlen($binding . '/src/'), -4));
            class_exists($class) || interface_exists($class) || trait_exists($class) || enum_exists($class) || fail("cannot load $class");
        }
        \Mailport\Mailport::version(); // loads libmailport through FFI
        $run = mailportSender($mode, $port, $ca, $n, $text, $attachment);
    } else {
        usage("unknown library $lib");
    }

    resetPeak();
    $rss0 = statusKib('VmRSS');
    $cpu0 = cpu();
    $start = hrtime(true);
    $resumed = $run();
    $elapsed = (hrtime(true) - $start) / 1e9;
    $used = cpu() - $cpu0;
    [$resumed, $output] = is_array($resumed) ? $resumed : [$resumed, null];
    printf("%.9f %.6f %d %d", $elapsed, $used, $resumed, statusKib('VmHWM') - $rss0);
    echo $output === null ? "\n" : " $output\n";
}

try {
    main($argv);
} catch (Throwable $e) {
    fail(sprintf('%s %s: %s: %s', $argv[1] ?? '', $argv[2] ?? '', get_class($e), $e->getMessage()));
}

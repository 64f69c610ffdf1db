<?php

/**
 * Which port should I use? Check a server's ports 587, 465, 2525 and 25 at once and print the
 * report: one line per port, the problems found, and the recommendation.
 *
 *     php examples/probe.php smtp.example.com            # or a URL: smtps://user:pass@host
 *     php examples/probe.php smtp.example.com --json     # the JSON document (docs/report-schema.md)
 *
 * MAILPORT_CA_FILE trusts a private CA. Exit status: 0 when some port works, 1 otherwise.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use Mailport\Config;
use Mailport\Mailport;

$target = $argv[1] ?? null;
if ($target === null) {
    fwrite(STDERR, "usage: php probe.php HOST|URL [--json] [--ports=587,465]\n");
    exit(2);
}
$config = str_contains($target, '://') ? Config::fromUrl($target) : new Config(host: $target);
if (($ca = getenv('MAILPORT_CA_FILE')) !== false && $ca !== '') {
    $config->addCaFile($ca);
}
$ports = null;
foreach ($argv as $arg) {
    if (str_starts_with($arg, '--ports=')) {
        $ports = array_map('intval', explode(',', substr($arg, 8)));
    }
}

$report = Mailport::probe($config, ports: $ports, deadlineMs: 15000);
if (in_array('--json', $argv, true)) {
    echo $report->json, "\n";
} else {
    echo $report->summary;
    foreach ($report->findings as $finding) {
        printf("- [%s] %s%s\n", $finding->code, $finding->message, $finding->hint === '' ? '' : "\n  hint: $finding->hint");
    }
    if ($report->ok) {
        printf("use port %d with %s\n", $report->recommendedPort, $report->recommendedSecurity?->value);
    }
}
exit($report->ok ? 0 : 1);

#!/usr/bin/env php
<?php

/**
 * Write the header PHP's ffi.preload setting takes for mailport: FFI_SCOPE "MAILPORT" and
 * FFI_LIB <absolute path of libmailport>, followed by include/mailport_ffi.h.
 *
 *     php bin/mailport-ffi-header.php /etc/php/mailport-ffi.h [--library=/usr/lib/libmailport.so.1]
 *     ; php.ini:  ffi.preload=/etc/php/mailport-ffi.h
 *
 * Needed when the server preloads as another user (opcache.preload_user, as php-fpm started as
 * root does): FFI::load() does not work there, ffi.preload does. The library is found as the
 * binding finds it (MAILPORT_LIBRARY, the copy bundled in lib/<platform>/, the checkout's
 * target/, the system's) unless --library names it. Without an output file the header goes to
 * standard output.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

$output = null;
$library = null;
foreach (array_slice($argv, 1) as $arg) {
    if (str_starts_with($arg, '--library=')) {
        $library = substr($arg, 10);
    } elseif ($arg === '-h' || $arg === '--help') {
        fwrite(STDOUT, "usage: php mailport-ffi-header.php [OUTPUT] [--library=PATH]\n");
        exit(0);
    } elseif ($output === null) {
        $output = $arg;
    } else {
        fwrite(STDERR, "unexpected argument: $arg\n");
        exit(2);
    }
}

try {
    $header = Mailport\Native::scopeHeader($library);
} catch (Mailport\Exception\ExceptionInterface $e) {
    fwrite(STDERR, $e->getMessage() . "\n");
    exit(1);
}
if ($output === null) {
    fwrite(STDOUT, $header);
} elseif (file_put_contents($output, $header) === false) {
    fwrite(STDERR, "cannot write $output\n");
    exit(1);
} else {
    preg_match('/^#define FFI_LIB "(.*)"$/m', $header, $m);
    fwrite(STDERR, "wrote $output (FFI_LIB {$m[1]}); set ffi.preload=$output in php.ini\n");
}

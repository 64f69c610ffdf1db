<?php

/**
 * Preload script for php-fpm, Apache (mod_php) and other servers that keep the default
 * ffi.enable=preload, under which only preloaded code may use FFI:
 *
 *     opcache.enable=1
 *     opcache.preload=/path/to/bindings/php/preload.php
 *     ; when the server starts as root (php-fpm's master usually does), also:
 *     ;   opcache.preload_user=www-data
 *     ;   ffi.preload=/etc/php/mailport-ffi.h   (written by bin/mailport-ffi-header.php)
 *
 * It declares every Mailport class, so they are preloaded (Mailport\Native makes every FFI
 * call), and registers the FFI scope "MAILPORT" with FFI::load() unless ffi.preload already
 * did; requests then reach the library through FFI::scope('MAILPORT'). The library is chosen
 * here, once, at server start (MAILPORT_LIBRARY, the copy bundled in lib/<platform>/, the
 * checkout's target/, the system's). If something is wrong, it throws with what to change, and
 * the server does not start.
 *
 * To combine with your own preload script, require this file from it.
 */

declare(strict_types=1);

require __DIR__ . '/autoload.php';

(static function (): void {
    $src = __DIR__ . '/src/';
    $files = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($src, FilesystemIterator::SKIP_DOTS));
    foreach ($files as $file) {
        if ($file->getExtension() !== 'php') {
            continue;
        }
        $name = 'Mailport\\' . str_replace('/', '\\', substr($file->getPathname(), strlen($src), -4));
        if (!class_exists($name) && !interface_exists($name) && !trait_exists($name) && !enum_exists($name)) {
            throw new LogicException("preload: $file does not declare $name");
        }
    }
})();

Mailport\Native::preload();

<?php

declare(strict_types=1);

// PHPUnit bootstrap: the binding's own autoloader (no Composer needed), the test helpers, and
// the library that `cargo build -p mailport` produced, unless MAILPORT_LIBRARY names another.

require dirname(__DIR__) . '/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Mailport\\Tests\\', 15) === 0) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, 15)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

if (!extension_loaded('ffi')) {
    fwrite(STDERR, "The FFI extension is not loaded (php -m | grep FFI); the mailport PHP tests need it.\n");
    exit(1);
}

$repo = dirname(__DIR__, 3);
if (getenv('MAILPORT_LIBRARY') === false) {
    $debug = $repo . '/target/debug/libmailport.so';
    if (!is_file($debug)) {
        fwrite(STDERR, "$debug is missing: run `cargo build -p mailport` first, or set MAILPORT_LIBRARY.\n");
        exit(1);
    }
    putenv("MAILPORT_LIBRARY=$debug");
}

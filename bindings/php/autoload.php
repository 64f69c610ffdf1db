<?php

/**
 * PSR-4 autoloader for Mailport\ → src/, for use without Composer:
 *
 *     require '/path/to/bindings/php/autoload.php';
 *
 * With Composer, vendor/autoload.php does the same (composer.json maps the same namespace).
 */

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Mailport\\', 9) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 9)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});

<?php
/**
 * Loads WordPress for the end-to-end test (and the WordPress benchmark) without Debian's
 * /etc/wordpress configuration: this file plays the part of wp-config.php. Everything it needs
 * comes from the environment, set by tests/wpenv.py (for tests/e2e.py and
 * benches/wordpress/serve.py):
 *
 *   MAILPORT_E2E_DIR        the temporary directory (wp-content lives in <dir>/wp-content, with
 *                           plugins/mailport a symlink to bindings/wordpress/mailport)
 *   MAILPORT_E2E_DB_SOCKET  the throwaway MariaDB's unix socket
 *   MAILPORT_E2E_DB_NAME, MAILPORT_E2E_DB_USER, MAILPORT_E2E_DB_PASSWORD
 *   MAILPORT_E2E_CONSTANTS  a JSON object of constants to define before wp-settings.php, the
 *                           way a site owner writes them into wp-config.php (MAILPORT_HOST, ...)
 *   MAILPORT_E2E_PLUGIN_DIR another WP_PLUGIN_DIR (default <dir>/wp-content/plugins)
 *   MAILPORT_E2E_INSTALLING "1" while WordPress is not installed yet (defines WP_INSTALLING)
 *   ABSPATH is /usr/share/wordpress/ (Debian's wordpress package) unless MAILPORT_E2E_ABSPATH
 *   says otherwise.
 *
 * A script that requires this file in a web request (benches/wordpress/mailport-bench.php) may
 * set $mailport_wp_constants (name => value) first: they are defined along with
 * MAILPORT_E2E_CONSTANTS, before the defaults below, and may replace WP_HOME, WP_SITEURL,
 * WP_CONTENT_URL (tests/web.py sets these three) and WP_DEBUG*. Under the CLI, $_SERVER is
 * filled in as a web server would; in a web request the server's values stay.
 */

declare(strict_types=1);

(static function (array $extra): void {
    $need = static function (string $name): string {
        $value = getenv($name);
        if ($value === false || $value === '') {
            $message = "wp-bootstrap.php: environment variable $name is not set\n";
            if (defined('STDERR')) {
                fwrite(STDERR, $message);
            } else {
                // A web request (the built-in server defines no STDERR).
                error_log($message);
                http_response_code(500);
                echo $message;
            }
            exit(2);
        }
        return $value;
    };

    $dir = $need('MAILPORT_E2E_DIR');

    // The caller's constants first (the way a site owner writes them into wp-config.php), so that
    // the defaults below leave the ones they set alone.
    $constants = getenv('MAILPORT_E2E_CONSTANTS');
    if ($constants !== false && $constants !== '') {
        $extra += json_decode($constants, true, 8, JSON_THROW_ON_ERROR);
    }
    foreach ($extra as $name => $value) {
        define($name, $value);
    }
    $default = static function (string $name, $value): void {
        if (!defined($name)) {
            define($name, $value);
        }
    };

    define('DB_NAME', $need('MAILPORT_E2E_DB_NAME'));
    define('DB_USER', $need('MAILPORT_E2E_DB_USER'));
    define('DB_PASSWORD', $need('MAILPORT_E2E_DB_PASSWORD'));
    // "localhost:/path" makes mysqli connect through the unix socket.
    define('DB_HOST', 'localhost:' . $need('MAILPORT_E2E_DB_SOCKET'));
    define('DB_CHARSET', 'utf8mb4');
    define('DB_COLLATE', '');

    foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT',
              'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $key) {
        define($key, 'mailport-e2e-' . strtolower($key));
    }

    $abspath = getenv('MAILPORT_E2E_ABSPATH') ?: '/usr/share/wordpress/';
    // A web request through a tree's own wp-config.php (tests/web.py) has it from wp-load.php.
    $default('ABSPATH', rtrim($abspath, '/') . '/');
    define('WP_CONTENT_DIR', $dir . '/wp-content');
    $default('WP_CONTENT_URL', 'http://localhost/wp-content');
    // MAILPORT_E2E_PLUGIN_DIR: another plugins directory (the packaged copy made by package.sh).
    define('WP_PLUGIN_DIR', getenv('MAILPORT_E2E_PLUGIN_DIR') ?: WP_CONTENT_DIR . '/plugins');
    define('WP_PLUGIN_URL', WP_CONTENT_URL . '/plugins');
    $default('WP_HOME', 'http://localhost');
    $default('WP_SITEURL', 'http://localhost');

    // No network, no background work, no noise.
    define('DISABLE_WP_CRON', true);
    define('AUTOMATIC_UPDATER_DISABLED', true);
    define('WP_AUTO_UPDATE_CORE', false);
    define('WP_HTTP_BLOCK_EXTERNAL', true);
    // Every error, warning, notice and deprecation goes to <dir>/php-errors.log, which e2e.py
    // checks for any coming from the plugin or the binding.
    $default('WP_DEBUG', true);
    $default('WP_DEBUG_DISPLAY', false);
    $default('WP_DEBUG_LOG', $dir . '/php-errors.log');

    if (getenv('MAILPORT_E2E_INSTALLING') === '1') {
        define('WP_INSTALLING', true);
    }

    if (PHP_SAPI !== 'cli') {
        return;
    }
    // What a web server would have set.
    $_SERVER['HTTP_HOST'] = 'localhost';
    $_SERVER['SERVER_NAME'] = 'localhost';
    $_SERVER['SERVER_PORT'] = '80';
    $_SERVER['REQUEST_URI'] = '/';
    $_SERVER['REQUEST_METHOD'] = 'GET';
    $_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
    $_SERVER['REMOTE_ADDR'] = '127.0.0.1';
    $_SERVER['PHP_SELF'] = '/index.php';
    $_SERVER['SCRIPT_NAME'] = '/index.php';
})(isset($mailport_wp_constants) && is_array($mailport_wp_constants) ? $mailport_wp_constants : []);

$table_prefix = 'wp_';

require ABSPATH . 'wp-settings.php';

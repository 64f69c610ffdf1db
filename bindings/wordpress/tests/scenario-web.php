<?php
/**
 * CLI steps of the web end-to-end test (tests/e2e_web.py) that are not requests a visitor makes.
 * Usage: php scenario-web.php STEP [JSON-ARGS]; prints one line "RESULT <json>", as
 * tests/scenario.php does, with WordPress loaded through wp-bootstrap.php.
 *
 *   add_user {login, password, email, role}  a user with that role (made again if it exists)
 *   option {name}                            an option's stored value
 *   setting {key}                            a setting as the plugin reads it (secrets decrypted)
 *   oauth_refresh_token {}                   the stored OAuth refresh token, decrypted
 */

declare(strict_types=1);

$step = $argv[1] ?? '';
$args = isset($argv[2]) ? json_decode($argv[2], true, 16, JSON_THROW_ON_ERROR) : [];

require __DIR__ . '/wp-bootstrap.php';

function mailport_e2e_web_result(array $result): void
{
    echo 'RESULT ', json_encode($result, JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR), "\n";
}

switch ($step) {
    case 'option':
        // An option as stored (the screens' tests check what reached the database).
        mailport_e2e_web_result(['value' => get_option($args['name'], null)]);
        break;

    case 'setting':
        // A setting as the plugin reads it (a saved password decrypted).
        mailport_e2e_web_result(['value' => Mailport_Settings::get($args['key'])]);
        break;

    case 'oauth_refresh_token':
        // Decrypted here only, to compare with what the OAuth server issued.
        $stored = Mailport_OAuth::stored();
        mailport_e2e_web_result(['value' => isset($stored['refresh_token']) ? Mailport_Settings::decrypt((string) $stored['refresh_token']) : null]);
        break;

    case 'add_user':
        require_once ABSPATH . 'wp-admin/includes/user.php';
        $existing = get_user_by('login', $args['login']);
        if ($existing) {
            wp_delete_user($existing->ID);
        }
        $id = wp_insert_user([
            'user_login' => $args['login'],
            'user_pass' => $args['password'],
            'user_email' => $args['email'],
            'role' => $args['role'],
        ]);
        if (is_wp_error($id)) {
            mailport_e2e_web_result(['ok' => false, 'error' => $id->get_error_message()]);
            exit(1);
        }
        $user = get_userdata($id);
        mailport_e2e_web_result([
            'ok' => true,
            'id' => $id,
            'roles' => $user->roles,
            'manage_options' => user_can($id, 'manage_options'),
        ]);
        break;

    default:
        fwrite(STDERR, "scenario-web.php: unknown step '$step'\n");
        exit(2);
}

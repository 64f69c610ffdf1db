<?php
/**
 * The OAuth steps of the end-to-end test (tests/e2e_oauth.py, run_oauth_delivery), included by
 * scenario.php once WordPress is loaded: a Google connection as the consent flow leaves it, its
 * age moved back, and what the plugin then shows (the stored connection, the admin notice, the
 * Site Health test, the Email log's hint).
 *
 *   oauth_connect {provider, client_id, account, refresh_token}   Mailport_OAuth::connect()
 *   oauth_age {days}           the connection last worked (and was made) that many days ago
 *   oauth_state {}             stored (refresh token decrypted apart), notice, health, log
 *   oauth_urls {}              the provider's endpoints, scope and name as the constants make them
 */

declare(strict_types=1);

/** The admin screens' classes, as wp-admin loads them (a CLI request is not is_admin()). */
function mailport_e2e_load_admin(): void
{
    if (!class_exists('Mailport_Admin')) {
        require_once WP_PLUGIN_DIR . '/mailport/includes/admin/class-mailport-admin.php';
        Mailport_Admin::init();
    }
}

switch ($step) {
    case 'oauth_connect':
        Mailport_OAuth::connect($args['provider'], $args['client_id'], $args['account'], $args['refresh_token'], 'https://mail.google.com/');
        mailport_e2e_result(['stored' => Mailport_OAuth::stored()]);
        break;

    case 'oauth_age':
        $stored = Mailport_OAuth::stored();
        $then = time() - (int) $args['days'] * DAY_IN_SECONDS;
        $stored['connected'] = $then;
        $stored['last_refresh'] = $then;
        unset($stored['last_check']);
        update_option(Mailport_OAuth::OPTION, $stored, false);
        mailport_e2e_result(['stored' => Mailport_OAuth::stored()]);
        break;

    case 'oauth_state':
        require_once ABSPATH . 'wp-admin/includes/class-wp-site-health.php';
        mailport_e2e_load_admin();
        wp_set_current_user(1);
        ob_start();
        do_action('admin_notices');
        $notices = (string) ob_get_clean();
        $tests = WP_Site_Health::get_tests();
        $test = $tests['direct']['mailport_oauth'] ?? null;
        $_GET = ['page' => 'mailport', 'tab' => 'log'];
        ob_start();
        Mailport_Admin_Log::render();
        $log = (string) ob_get_clean();
        $stored = Mailport_OAuth::stored();
        mailport_e2e_result([
            'stored' => $stored,
            // Decrypted here only, to compare with what the OAuth server issued.
            'refresh_token' => isset($stored['refresh_token']) ? Mailport_Settings::decrypt((string) $stored['refresh_token']) : null,
            'notices' => $notices,
            'health' => $test !== null ? call_user_func($test['test']) : null,
            'log' => $log,
        ]);
        break;

    case 'oauth_urls':
        $provider = Mailport_OAuth::provider();
        mailport_e2e_result([
            'provider' => $provider,
            'label' => Mailport_OAuth::label(),
            'authorize' => $provider !== null ? Mailport_OAuth::authorize_url($provider) : null,
            'token' => $provider !== null ? Mailport_OAuth::token_url($provider) : null,
            'scope' => $provider !== null ? Mailport_OAuth::PROVIDERS[$provider]['scope'] : null,
            'redirect_uri' => Mailport_OAuth::redirect_uri(),
        ]);
        break;

    default:
        fwrite(STDERR, "scenario-oauth.php: unknown step '$step'\n");
        exit(2);
}

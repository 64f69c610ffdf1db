<?php

/**
 * What a WordPress plugin does to route wp_mail() through mailport: the call's arguments with
 * WordPress's rules, the wp_mail_from / _from_name / _content_type / _charset filters, then send.
 * Outside WordPress, apply_filters() is simulated.
 *
 *     MAILPORT_URL=smtp://localhost:2525 MAIL_TO='"Doe, John" <john@example.org>' php examples/wp_mail.php
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use Mailport\Client;
use Mailport\Config;
use Mailport\Exception\ExceptionInterface;
use Mailport\WpMail;

$applyFilters = function_exists('apply_filters')
    ? static fn (string $filter, string $value): string => apply_filters($filter, $value)
    : static fn (string $filter, string $value): string => $filter === 'wp_mail_from_name' ? 'My Shop' : $value;

try {
    $wp = new WpMail(
        to: getenv('MAIL_TO') ?: '"Doe, John" <john@example.org>',
        subject: 'Your order #42',
        message: '<p>Thank you for your order.</p>',
        headers: "Content-Type: text/html; charset=UTF-8\nReply-To: support@shop.example\nX-Order: 42\n",
    );
    $wp->setSiteDomain('www.shop.example');          // network_home_url()'s host
    $wp->applyFilters($applyFilters);                 // wp_mail_from, wp_mail_from_name, ...
    $message = $wp->build();

    $config = Config::fromUrl(getenv('MAILPORT_URL') ?: 'smtp://localhost:587');
    if (($ca = getenv('MAILPORT_CA_FILE')) !== false && $ca !== '') {
        $config->addCaFile($ca);
    }
    $receipt = (new Client($config))->send($message);
    echo "sent $receipt->messageId: $receipt->replyCode $receipt->serverReply\n";
} catch (ExceptionInterface $e) {
    // WordPress would fire wp_mail_failed with a WP_Error carrying this message.
    fwrite(STDERR, $e->getMessage() . "\n");
    foreach ($e->getInvalidAddresses() as $bad) {
        fwrite(STDERR, "  $bad->field: $bad->input: $bad->reason\n");
    }
    exit(1);
}

<?php

/**
 * Send one message, with optional attachments, and show what the server said.
 *
 *     MAILPORT_URL='smtp://me%40example.com:app-password@smtp.example.com' \
 *     MAIL_FROM='Me <me@example.com>' MAIL_TO='you@example.org' \
 *     php examples/send.php [FILE...]
 *
 * MAILPORT_URL: smtp://host (587, STARTTLS), smtps://host (465), smtp://host:auto (try
 * 587, 465, 2525), user:password@ percent-encoded. MAILPORT_CA_FILE: a private CA to trust.
 * Exit status: 0 sent, 1 refused or failed (the error, its hint and the transcript are shown).
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php'; // or vendor/autoload.php with Composer

use Mailport\Client;
use Mailport\Config;
use Mailport\Exception\ExceptionInterface;
use Mailport\Message;

$url = getenv('MAILPORT_URL') ?: 'smtp://localhost:587';
$from = getenv('MAIL_FROM') ?: 'Mailport example <sender@example.com>';
$to = getenv('MAIL_TO') ?: 'recipient@example.org';

try {
    $config = Config::fromUrl($url);
    if (($ca = getenv('MAILPORT_CA_FILE')) !== false && $ca !== '') {
        $config->addCaFile($ca);
    }
    $client = new Client($config);

    $message = (new Message())
        ->setFrom($from)
        ->addTo($to)
        ->setSubject('Hello from mailport')
        ->setText("This message was sent by mailport's PHP binding.\n")
        ->setHtml('<p>This message was sent by <b>mailport</b>\'s PHP binding.</p>');
    foreach (array_slice($argv, 1) as $file) {
        $message->attachFile($file);
    }

    $receipt = $client->send($message);
    printf(
        "sent %s to %s through port %d (%s%s): %d %s\n",
        $receipt->messageId,
        implode(', ', $receipt->accepted),
        $receipt->port,
        $receipt->security->value,
        $receipt->tlsVersion === null ? '' : ", $receipt->tlsVersion",
        $receipt->replyCode,
        $receipt->serverReply,
    );
} catch (ExceptionInterface $e) {
    fprintf(STDERR, "%s (%s)\n%s\n", $e->getMessage(), $e->getName(), $e->isTransient() ? 'retrying later may work' : '');
    foreach ($e->getRejected() as $r) {
        fprintf(STDERR, "  refused %s: %d %s\n", $r->address, $r->replyCode, $r->reply);
    }
    if ($e->getTranscript() !== '') {
        fwrite(STDERR, "transcript:\n" . $e->getTranscript());
    }
    exit(1);
}

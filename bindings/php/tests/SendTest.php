<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Config;
use Mailport\Exception\AuthenticationException;
use Mailport\Exception\ExceptionInterface;
use Mailport\Exception\MailportException;
use Mailport\Message;
use Mailport\Security;
use Mailport\Tests\Support\MailportTestCase;

/** Sends through real aiosmtpd servers: plaintext, STARTTLS, implicit TLS, AUTH, MIME content. */
final class SendTest extends MailportTestCase
{
    private function message(string $tag): Message
    {
        return (new Message())
            ->setFrom(self::FROM)
            ->addTo(self::TO)
            ->setSubject("test $tag")
            ->setText("Hello from the PHP binding ($tag).\n");
    }

    public function testPlaintextSendDeliversTheMessageAndEnvelope(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $client = new Client($this->configFor($server, 'none'));
        $receipt = $client->send($this->message('plain')->addCc('carol@example.org')->addBcc('dave@example.org'));

        $this->assertSame(250, $receipt->replyCode);
        $this->assertSame(['bob@example.org', 'carol@example.org', 'dave@example.org'], $receipt->accepted);
        $this->assertSame([], $receipt->rejected);
        $this->assertSame($server->port, $receipt->port);
        $this->assertSame(Security::NONE, $receipt->security);
        $this->assertNull($receipt->tlsVersion);
        $this->assertNull($receipt->tlsCipher);
        $this->assertMatchesRegularExpression('/^<[0-9a-f]+@example\.test>$/', (string) $receipt->messageId);
        $this->assertSame($server->port, $client->port());

        $got = $server->onlyMessage();
        $this->assertSame('alice@example.test', $got['mail_from']);
        $this->assertSame(['bob@example.org', 'carol@example.org', 'dave@example.org'], $got['rcpt_tos']);
        $this->assertFalse($got['tls']);
        $this->assertSame(strlen($got['data']), $receipt->size);
        $parsed = $this->inspect($got['data']);
        $this->assertSame(['test plain'], $this->headers($parsed, 'Subject'));
        $this->assertSame([$receipt->messageId], $this->headers($parsed, 'Message-ID'));
        $this->assertSame([], $this->headers($parsed, 'Bcc'), 'Bcc never appears in a header');
        $this->assertSame("Hello from the PHP binding (plain).\r\n", $parsed['structure']['text'], 'LF became CRLF');
        $this->assertSame(0, $parsed['lines']['bare_lf']);
    }

    public function testStarttlsSendIsEncrypted(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        $client = new Client($this->configFor($server, 'starttls'));
        $receipt = $client->send($this->message('starttls'));

        $this->assertSame(Security::STARTTLS, $receipt->security);
        $this->assertMatchesRegularExpression('/^TLSv1\.[23]$/', (string) $receipt->tlsVersion);
        $this->assertNotSame('', (string) $receipt->tlsCipher);
        $got = $server->onlyMessage();
        $this->assertTrue($got['tls']);
        $this->assertContains('1 STARTTLS', $server->events());
        $this->assertStringContainsString('C: STARTTLS', $client->transcript());
    }

    public function testPersistentClientsShareOneConnection(): void
    {
        // Like the requests of one php-fpm worker: a new Client each time, one connection.
        $server = $this->server(['--mode', 'starttls']);
        $config = $this->configFor($server, 'starttls')->setPersistent(true, 30000);
        for ($i = 0; $i < 3; $i++) {
            $client = new Client($config);
            $client->send($this->message("persistent $i"));
            $client->close();
        }
        $this->assertCount(3, $server->messages());
        $connects = array_filter($server->events(), static fn (string $e): bool => str_ends_with($e, ' CONNECT'));
        $this->assertCount(1, $connects);
    }

    public function testImplicitTlsSend(): void
    {
        $server = $this->server(['--mode', 'tls']);
        $client = new Client($this->configFor($server, 'tls'));
        $receipt = $client->send($this->message('tls'));

        $this->assertSame(Security::TLS, $receipt->security);
        $this->assertNotNull($receipt->tlsVersion);
        $this->assertTrue($server->onlyMessage()['tls']);
    }

    public function testConfigFromUrl(): void
    {
        $server = $this->server(['--mode', 'tls', '--auth', self::USER . ':' . self::PASSWORD]);
        $url = sprintf('smtps://%s:%s@%s:%d', rawurlencode(self::USER), rawurlencode(self::PASSWORD), $server->host, $server->port);
        $client = Client::fromUrl($url, caFile: $server->ca, commandTimeoutMs: 5000);
        $receipt = $client->send($this->message('url'));

        $this->assertSame(Security::TLS, $receipt->security);
        $this->assertSame(self::USER, $server->onlyMessage()['auth_user']);
    }

    public function testAUrlWithTheUserOnlyAndThePasswordApart(): void
    {
        $server = $this->server(['--mode', 'tls', '--auth', self::USER . ':' . self::PASSWORD]);
        $url = sprintf('smtps://%s@%s:%d', rawurlencode(self::USER), $server->host, $server->port);
        $client = Client::fromUrl($url, password: self::PASSWORD, caFile: $server->ca);
        $client->send($this->message('url user'));

        $this->assertSame(self::USER, $server->onlyMessage()['auth_user']);
    }

    public function testAuthOverStarttlsNeverShowsThePassword(): void
    {
        $server = $this->server(['--mode', 'starttls', '--auth', self::USER . ':' . self::PASSWORD]);
        $client = new Client($this->configFor($server, 'starttls', username: self::USER, password: self::PASSWORD));
        $client->send($this->message('auth'));

        $this->assertSame(self::USER, $server->onlyMessage()['auth_user']);
        $this->assertContains('1 AUTH PLAIN', $server->events());
        $transcript = $client->transcript();
        $this->assertStringContainsString('C: AUTH PLAIN <redacted>', $transcript);
        $this->assertSecretAbsent($transcript, self::PASSWORD);
    }

    public function testWrongPasswordIsAnAuthenticationExceptionWith535AndNoSecret(): void
    {
        $server = $this->server(['--mode', 'starttls', '--auth', self::USER . ':' . self::PASSWORD]);
        $wrong = 'Wr0ng-pass-5521';
        $client = new Client($this->configFor($server, 'starttls', username: self::USER, password: $wrong));
        try {
            $client->send($this->message('auth-fail'));
            $this->fail('the send should have failed');
        } catch (AuthenticationException $e) {
            $this->assertInstanceOf(MailportException::class, $e);
            $this->assertInstanceOf(\RuntimeException::class, $e);
            $this->assertSame(61, $e->getCode());
            $this->assertSame('MAILPORT_ERR_AUTH_FAILED', $e->getName());
            $this->assertSame(535, $e->getReplyCode());
            $this->assertMatchesRegularExpression('/^5\.7\.\d+$/', $e->getEnhancedStatus());
            $this->assertNotSame('', $e->getServerReply());
            $this->assertNotSame('', $e->getHint());
            $this->assertStringContainsString($e->getHint(), $e->getMessage());
            $this->assertStringStartsWith($e->getErrorMessage(), $e->getMessage());
            $this->assertFalse($e->isTransient());
            $this->assertStringContainsString('C: AUTH PLAIN <redacted>', $e->getTranscript());
            $this->assertStringContainsString('S: 535', $e->getTranscript());
            $this->assertSecretAbsent($e->getTranscript(), $wrong);
            $this->assertSecretAbsent($e->getMessage(), $wrong);
            $this->assertSecretAbsent($client->transcript(), $wrong);
            $this->assertSecretAbsent(print_r($e->getInfo(), true), $wrong);
        }
        $this->assertSame([], $server->messages());
    }

    private function assertSecretAbsent(string $text, string $password): void
    {
        $forms = [
            $password,
            base64_encode($password),
            base64_encode("\0" . self::USER . "\0" . $password),
            base64_encode(self::USER . "\0" . self::USER . "\0" . $password),
        ];
        foreach ($forms as $form) {
            $this->assertStringNotContainsString($form, $text);
        }
    }

    public function testAttachmentsArriveIntact(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $dir = $this->tempDir();
        $file = "$dir/report q3.pdf";
        $bytes = random_bytes(300_000);
        file_put_contents($file, $bytes);
        $inMemory = "col1,col2\n1,2\n" . random_bytes(1000);

        $message = $this->message('attach')
            ->setHtml('<p>See <b>attached</b> <img src="cid:logo"></p>')
            ->attachFile($file)
            ->attachBytes('data.csv', $inMemory, 'text/csv')
            ->attachFile($file, 'renamed.bin', 'application/octet-stream')
            ->embedBytes('logo', 'logo.png', "\x89PNG\r\n\x1a\n" . random_bytes(64), 'image/png');
        (new Client($this->configFor($server, 'none')))->send($message);

        $parsed = $this->inspect($server->onlyMessage()['data']);
        $this->assertSame('multipart/mixed', $parsed['structure']['type']);
        $attachments = array_values(array_filter($this->leaves($parsed['structure']), static fn (array $l): bool => $l['disposition'] === 'attachment'));
        $this->assertCount(3, $attachments);
        [$pdf, $csv, $renamed] = $attachments;
        $this->assertSame('report q3.pdf', $pdf['filename']);
        $this->assertSame('application/pdf', $pdf['type']);
        $this->assertSame('base64', $pdf['cte']);
        $this->assertSame(hash('sha256', $bytes), $pdf['sha256']);
        $this->assertSame('data.csv', $csv['filename']);
        $this->assertSame(hash('sha256', $inMemory), $csv['sha256']);
        $this->assertSame('renamed.bin', $renamed['filename']);
        $this->assertSame(hash('sha256', $bytes), $renamed['sha256']);
        $inline = array_values(array_filter($this->leaves($parsed['structure']), static fn (array $l): bool => $l['cid'] !== null));
        $this->assertCount(1, $inline);
        $this->assertSame('<logo>', $inline[0]['cid']);
        $this->assertSame([], array_filter($parsed['defects']));
        $this->assertLessThanOrEqual(998, $parsed['lines']['max']);
    }

    public function testUnicodeSubjectNamesAndBodies(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $subject = 'Grüße aus Köln — 日本語のテスト ✓ ' . str_repeat('lang ', 12);
        $text = "Straße, café, naïve — Ελληνικά, русский, 中文.\nZweite Zeile ✓\n";
        $message = (new Message())
            ->setFromParts('Zoë Ärger, Büro', 'zoe@example.test')
            ->addTo('"Jürgen Groß" <juergen@example.org>')
            ->addTo('jose@bücher.example')
            ->setSubject($subject)
            ->setText($text)
            ->setHtml('<p>Grüße ✓</p>');
        $receipt = (new Client($this->configFor($server, 'none')))->send($message);

        $got = $server->onlyMessage();
        $this->assertSame(['juergen@example.org', 'jose@xn--bcher-kva.example'], $got['rcpt_tos'], 'IDN domains go as punycode');
        $parsed = $this->inspect($got['data']);
        $this->assertSame([$subject], $this->headers($parsed, 'Subject'));
        $this->assertSame([['name' => 'Zoë Ärger, Büro', 'addr' => 'zoe@example.test']], $parsed['addresses']['from']);
        $this->assertSame('Jürgen Groß', $parsed['addresses']['to'][0]['name']);
        $this->assertSame('multipart/alternative', $parsed['structure']['type']);
        [$plain, $html] = $parsed['structure']['parts'];
        $this->assertSame(str_replace("\n", "\r\n", $text), $plain['text']);
        $this->assertSame('<p>Grüße ✓</p>', rtrim($html['text']));
        $this->assertFalse($parsed['lines']['eight_bit'], 'the message is 7-bit on the wire');
        $this->assertNotContains('SMTPUTF8', $got['mail_options']);
        $this->assertGreaterThan(0, $receipt->size);
    }

    public function testNonAsciiLocalPartUsesSmtputf8WhenOffered(): void
    {
        $server = $this->server(['--mode', 'plain']);
        (new Client($this->configFor($server, 'none')))->send($this->message('utf8')->addTo('josé@bücher.example'));

        $got = $server->onlyMessage();
        $this->assertContains('SMTPUTF8', $got['mail_options']);
        $this->assertSame(['bob@example.org', 'josé@bücher.example'], $got['rcpt_tos']);
    }

    public function testOneClientSendsSeveralMessagesOnOneSession(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        $client = new Client($this->configFor($server, 'starttls'));
        $message = $this->message('reuse');
        $first = $client->send($message);
        $second = $client->send($message);
        $client->noop();
        $client->reset();

        $this->assertNotSame($first->messageId, $second->messageId, 'a new Message-ID per send');
        $messages = $server->messages();
        $this->assertCount(2, $messages);
        $this->assertSame($messages[0]['conn'], $messages[1]['conn'], 'the session was reused');
        $this->assertStringContainsString('C: NOOP', $client->transcript());
        $this->assertStringContainsString('C: RSET', $client->transcript());

        $client->quit();
        $client->send($message);
        $this->assertNotSame($messages[0]['conn'], $server->messages()[2]['conn'], 'quit() closed the session; send reconnected');
    }

    public function testSendRawUsesTheGivenEnvelope(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $client = new Client($this->configFor($server, 'none'));
        $data = "From: a@example.test\r\nTo: b@example.org\r\nSubject: raw\r\n\r\n.leading dot\r\nbody\r\n";
        $receipt = $client->sendRaw('bounce@example.test', ['b@example.org', 'hidden@example.org'], $data);

        $this->assertNull($receipt->messageId);
        $this->assertSame(['b@example.org', 'hidden@example.org'], $receipt->accepted);
        $got = $server->onlyMessage();
        $this->assertSame('bounce@example.test', $got['mail_from']);
        $this->assertSame(['b@example.org', 'hidden@example.org'], $got['rcpt_tos']);
        $this->assertSame($data, $got['data']);
    }

    public function testPartialRecipientsAreListedOnTheReceipt(): void
    {
        $server = $this->server(['--mode', 'plain', '--reject-rcpt', 'nobody']);
        $client = new Client($this->configFor($server, 'none', allowPartialRecipients: true));
        $receipt = $client->send($this->message('partial')->addTo('nobody@example.org'));

        $this->assertSame(['bob@example.org'], $receipt->accepted);
        $this->assertCount(1, $receipt->rejected);
        $this->assertSame('nobody@example.org', $receipt->rejected[0]->address);
        $this->assertSame(550, $receipt->rejected[0]->replyCode);
        $this->assertSame(['bob@example.org'], $server->onlyMessage()['rcpt_tos']);
    }

    public function testRenderAndCopy(): void
    {
        $message = $this->message('render')->setDate(new \DateTimeImmutable('2026-01-02T03:04:05Z'))->setMessageId('<fixed@example.test>');
        $copy = $message->copy()->setSubject('the copy')->addHeader('X-Variant', 'B');

        $original = $message->render();
        $this->assertStringContainsString("Subject: test render\r\n", $original);
        $this->assertStringContainsString("Message-ID: <fixed@example.test>\r\n", $original);
        $this->assertStringNotContainsString('X-Variant', $original);
        $this->assertStringContainsString("Subject: the copy\r\n", $copy->render());
        $this->assertStringContainsString("X-Variant: B\r\n", $copy->render());
        $this->assertSame(1, $copy->removeHeader('x-variant'));
        $this->assertStringNotContainsString('X-Variant', $copy->render());
        $this->assertSame($original, $message->render(), 'rendering with a fixed Date and Message-ID is stable');
    }

    public function testExceptionsShareOneInterface(): void
    {
        $server = $this->server(['--mode', 'plain']);
        try {
            (new Client($this->configFor($server, 'none')))->send((new Message())->setFrom(self::FROM));
            $this->fail('a message without recipients must not be sent');
        } catch (ExceptionInterface $e) {
            $this->assertInstanceOf(\InvalidArgumentException::class, $e);
            $this->assertSame(2, $e->getCode());
        }
        $this->assertInstanceOf(Config::class, $this->configFor($server, 'none'));
    }
}

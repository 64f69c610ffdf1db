<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Exception\AttachmentException;
use Mailport\Exception\InvalidAddressException;
use Mailport\Exception\InvalidArgumentException;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\WpMail;
use Mailport\WpValue;

/** wp_mail() arguments with WordPress's rules, and the values its filters change. */
final class WpMailTest extends MailportTestCase
{
    public function testQuotedCommaNameAndHeaderStringAreSentAsWordPressMeantThem(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $dir = $this->tempDir();
        file_put_contents("$dir/invoice.pdf", $pdf = random_bytes(5000));
        file_put_contents("$dir/logo.png", $png = "\x89PNG\r\n\x1a\n" . random_bytes(100));
        $headers = "From: Site Admin <admin@example.test>\r\n"
            . "Cc: carol@example.org, \"Roe, Richard\" <richard@example.org>\r\n"
            . "Bcc: hidden@example.org\n"
            . "Reply-To: support@example.test\n"
            . "X-Tag: 1\n"
            . "x-tag: 2\n"
            . "MIME-Version: 1.0\n"
            . "Content-Type: text/html; charset=UTF-8\n";
        $wp = new WpMail(
            to: '"Doe, John" <john@example.org>, jane@example.org',
            subject: 'Your order',
            message: '<p>Thanks! <img src="cid:logo"></p>',
            headers: $headers,
            attachments: ['Invoice 42.pdf' => "$dir/invoice.pdf"],
            embeds: ['logo' => "$dir/logo.png"],
        );
        $this->assertSame('admin@example.test', $wp->parsedValue(WpValue::FROM_EMAIL));
        $this->assertSame('Site Admin', $wp->parsedValue(WpValue::FROM_NAME));
        $this->assertSame('text/html', $wp->parsedValue(WpValue::CONTENT_TYPE));
        $this->assertSame('UTF-8', $wp->parsedValue(WpValue::CHARSET));

        (new Client($this->configFor($server, 'none')))->send($wp->build());

        $got = $server->onlyMessage();
        $this->assertSame('admin@example.test', $got['mail_from']);
        $this->assertEqualsCanonicalizing(
            ['john@example.org', 'jane@example.org', 'carol@example.org', 'richard@example.org', 'hidden@example.org'],
            $got['rcpt_tos'],
        );
        $parsed = $this->inspect($got['data']);
        $this->assertSame([['name' => 'Doe, John', 'addr' => 'john@example.org'], ['name' => '', 'addr' => 'jane@example.org']], $parsed['addresses']['to']);
        $this->assertSame('Roe, Richard', $parsed['addresses']['cc'][1]['name']);
        $this->assertSame(['2'], $this->headers($parsed, 'X-Tag'), 'header names compare case-insensitively; the last wins');
        $this->assertSame([], $this->headers($parsed, 'Bcc'));
        $this->assertSame([], $this->headers($parsed, 'X-Mailer'));
        $this->assertSame(['support@example.test'], $this->headers($parsed, 'Reply-To'));
        $leaves = $this->leaves($parsed['structure']);
        $html = array_values(array_filter($leaves, static fn ($l) => $l['type'] === 'text/html'));
        $this->assertCount(1, $html);
        $this->assertStringContainsString('cid:logo', $html[0]['text']);
        $byName = array_column($leaves, null, 'filename');
        $this->assertSame(hash('sha256', $pdf), $byName['Invoice 42.pdf']['sha256']);
        $this->assertSame(hash('sha256', $png), $byName['logo.png']['sha256']);
        $this->assertSame('<logo>', $byName['logo.png']['cid']);
    }

    public function testDefaultsFiltersAndOverrides(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $wp = (new WpMail(['a@example.org', 'b@example.org'], 'Hi', "Plain body\n", ['X-One: 1', 'X-Two: 2']))
            ->setSiteDomain('www.example.test');
        $this->assertSame([
            'wp_mail_from' => 'wordpress@example.test',
            'wp_mail_from_name' => 'WordPress',
            'wp_mail_content_type' => 'text/plain',
            'wp_mail_charset' => 'UTF-8',
        ], $wp->parsedValues());

        $seen = [];
        $wp->applyFilters(static function (string $filter, string $value) use (&$seen): string {
            $seen[] = $filter;
            return $filter === 'wp_mail_from_name' ? 'Example Shop' : $value;
        });
        $this->assertSame(['wp_mail_from', 'wp_mail_from_name', 'wp_mail_content_type', 'wp_mail_charset'], $seen);
        $this->assertSame('WordPress', $wp->parsedValue(WpValue::FROM_NAME), 'overrides do not change the parsed value');
        $wp->override(WpValue::FROM_EMAIL, 'shop@example.test');

        (new Client($this->configFor($server, 'none')))->send($wp->build());
        $got = $server->onlyMessage();
        $this->assertSame('shop@example.test', $got['mail_from']);
        $this->assertSame(['a@example.org', 'b@example.org'], $got['rcpt_tos']);
        $parsed = $this->inspect($got['data']);
        $this->assertSame([['name' => 'Example Shop', 'addr' => 'shop@example.test']], $parsed['addresses']['from']);
        $this->assertSame(['1'], $this->headers($parsed, 'X-One'));
        $this->assertSame(['2'], $this->headers($parsed, 'X-Two'));
        $this->assertSame('text/plain', $parsed['structure']['type']);

        $wp->override(WpValue::FROM_EMAIL, null);
        $this->assertStringContainsString('From: Example Shop <wordpress@example.test>', $wp->build()->render());
    }

    public function testEveryInvalidAddressOfTheCallIsListed(): void
    {
        $wp = new WpMail('good@example.org, broken', 'x', 'y', "Cc: also-broken\nFrom: Nobody <nobody@>\n");
        try {
            $wp->build();
            $this->fail('three addresses are invalid');
        } catch (InvalidAddressException $e) {
            $fields = array_map(static fn ($a) => $a->field . ':' . $a->input, $e->getInvalidAddresses());
            sort($fields);
            $this->assertSame(['Cc:also-broken', 'From:Nobody <nobody@>', 'To:broken'], $fields);
        }
    }

    public function testMissingAttachmentFailsTheBuild(): void
    {
        $wp = new WpMail('a@example.org', 'x', 'y', '', ['/nonexistent/mailport-test.pdf']);
        $this->expectException(AttachmentException::class);
        $this->expectExceptionMessage('/nonexistent/mailport-test.pdf');
        $wp->build();
    }

    /**
     * A contact-form plugin puts the visitor's name into one element of the headers array; a
     * line break in it must not add Bcc recipients (issue 12.1). WordPress core never splits an
     * array element; mailport refuses it with an error naming the header.
     */
    public function testAHeadersArrayElementWithALineBreakAddsNoRecipient(): void
    {
        $server = $this->server(['--mode', 'plain']);
        foreach (["\n", "\r\n", "\r"] as $break) {
            $name = "Visitor <v@x.example>{$break}Bcc: victim1@evil.example, victim2@evil.example{$break}X-Note: ";
            $headers = ['From: Site <site@example.org>', "Reply-To: $name <visitor@example.org>"];
            try {
                new WpMail('owner@example.org', 'Contact form', 'Hello', $headers);
                $this->fail('the injected element was accepted: ' . json_encode($break));
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('"Reply-To"', $e->getMessage());
                $this->assertStringContainsString('line break', $e->getMessage());
                $this->assertStringNotContainsString('evil', $e->getMessage());
            }
        }

        // Step by step: the refused element leaves nothing behind; a trailing CRLF is trimmed.
        $wp = new WpMail('owner@example.org', 'Contact form', 'Hello', ["From: Site <site@example.org>\r\n"]);
        try {
            $wp->addHeader("Reply-To: Visitor\nBcc: victim@evil.example <visitor@example.org>");
            $this->fail('the injected header was accepted');
        } catch (InvalidArgumentException) {
        }
        $wp->addHeaders(["X-Form: contact\r\n"]);
        (new Client($this->configFor($server, 'none')))->send($wp->build());
        $got = $server->onlyMessage();
        $this->assertSame(['owner@example.org'], $got['rcpt_tos']);
        $this->assertSame('site@example.org', $got['mail_from']);
        $this->assertStringNotContainsString('evil.example', $got['data']);
        $this->assertStringContainsString("\r\nX-Form: contact\r\n", $got['data']);
    }

    public function testTheHeaderStringIsStillSplitIntoLines(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $wp = new WpMail('owner@example.org', 's', 'b', "Reply-To: v@x.example\nBcc: hidden@example.org");
        (new Client($this->configFor($server, 'none')))->send($wp->build());
        $this->assertSame(['owner@example.org', 'hidden@example.org'], $server->onlyMessage()['rcpt_tos']);
    }
}

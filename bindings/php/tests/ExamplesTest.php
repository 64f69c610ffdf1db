<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\Paths;

/** The scripts in examples/ run as documented. */
final class ExamplesTest extends MailportTestCase
{
    private function example(string $name, array $args, array $env): array
    {
        return $this->runProcess([PHP_BINARY, Paths::package() . "/examples/$name", ...$args], $env);
    }

    public function testSendWithAnAttachment(): void
    {
        $server = $this->server(['--mode', 'starttls', '--auth', self::USER . ':' . self::PASSWORD]);
        $file = $this->tempDir() . '/notes.txt';
        file_put_contents($file, "notes\n");
        [$rc, $out, $err] = $this->example('send.php', [$file], [
            'MAILPORT_URL' => sprintf('smtp+starttls://%s:%s@%s:%d', rawurlencode(self::USER), self::PASSWORD, $server->host, $server->port),
            'MAILPORT_CA_FILE' => $server->ca,
            'MAIL_FROM' => self::FROM,
            'MAIL_TO' => self::TO,
        ]);
        $this->assertSame(0, $rc, $out . $err);
        $this->assertMatchesRegularExpression("/^sent <[^>]+> to bob@example.org through port {$server->port} \\(starttls, TLSv1\\.[23]\\): 250 /", $out);
        $attachments = array_filter($this->leaves($this->inspect($server->onlyMessage()['data'])['structure']), static fn ($l) => $l['filename'] === 'notes.txt');
        $this->assertCount(1, $attachments);
    }

    public function testSendFailureShowsTheHintAndTranscript(): void
    {
        $port = Paths::refusedPort();
        [$rc, $out, $err] = $this->example('send.php', [], ['MAILPORT_URL' => "smtp+plain://127.0.0.1:$port"]);
        $this->assertSame(1, $rc);
        $this->assertStringContainsString('(MAILPORT_ERR_CONNECT_REFUSED)', $err);
        $this->assertStringContainsString('hint: ', $err);
        $this->assertStringContainsString("transcript:\n* connecting to 127.0.0.1:$port", $err);
    }

    public function testProbe(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        [$rc, $out, $err] = $this->example('probe.php', [$server->host, "--ports={$server->port}"], ['MAILPORT_CA_FILE' => $server->ca]);
        $this->assertSame(0, $rc, $out . $err);
        $this->assertStringContainsString("use port {$server->port} with starttls", $out);
        [$rc, $out] = $this->example('probe.php', [$server->host, "--ports={$server->port}", '--json'], ['MAILPORT_CA_FILE' => $server->ca]);
        $this->assertSame(1, json_decode($out, true)['schema']);
    }

    public function testWpMail(): void
    {
        $server = $this->server(['--mode', 'plain']);
        [$rc, $out, $err] = $this->example('wp_mail.php', [], ['MAILPORT_URL' => "smtp+plain://{$server->host}:{$server->port}"]);
        $this->assertSame(0, $rc, $out . $err);
        $parsed = $this->inspect($server->onlyMessage()['data']);
        $this->assertSame([['name' => 'My Shop', 'addr' => 'wordpress@shop.example']], $parsed['addresses']['from']);
        $this->assertSame('Doe, John', $parsed['addresses']['to'][0]['name']);
        $this->assertSame('text/html', $parsed['structure']['type']);

        [$rc, , $err] = $this->example('wp_mail.php', [], ['MAILPORT_URL' => "smtp+plain://{$server->host}:{$server->port}", 'MAIL_TO' => 'a@example.org, broken']);
        $this->assertSame(1, $rc);
        $this->assertStringContainsString('  To: broken: ', $err);
    }
}

<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Config;
use Mailport\Exception\InvalidArgumentException;
use Mailport\Mailport;
use Mailport\Security;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\Paths;

/** The connection check: a failed port is data in the report, never an exception. */
final class ProbeTest extends MailportTestCase
{
    public function testAWorkingStarttlsPortIsRecommended(): void
    {
        $server = $this->server(['--mode', 'starttls', '--auth', self::USER . ':' . self::PASSWORD]);
        $config = new Config(host: $server->host, caFile: $server->ca, username: self::USER, password: self::PASSWORD);
        $refused = Paths::refusedPort();
        $report = Mailport::probe($config, ports: [$refused, $server->port], deadlineMs: 10000, greetingWaitMs: 1000);

        $this->assertTrue($report->ok, $report->summary);
        $this->assertSame($server->port, $report->recommendedPort);
        $this->assertSame(Security::STARTTLS, $report->recommendedSecurity);
        $this->assertSame("port={$server->port} security=starttls", $report->recommendation);
        $this->assertNotNull($report->recommendationReason);
        $this->assertStringContainsString((string) $server->port, $report->summary);
        $this->assertSame($report->summary, (string) $report);
        $this->assertSame(1, $report->data['schema']);
        $this->assertSame([$refused, $server->port], array_column($report->data['ports'], 'port'));
        $this->assertSame('works', $report->data['ports'][1]['verdict']);
        $this->assertSame('ok', $report->data['ports'][1]['attempts'][0]['auth']['outcome']);
        $refusals = $report->findingsWithCode('port_refused');
        $this->assertCount(1, $refusals);
        $this->assertSame($refused, $refusals[0]->port);
        $this->assertSame('error', $refusals[0]->severity);
        $this->assertNotSame('', $refusals[0]->message);
        $this->assertStringNotContainsString(self::PASSWORD, $report->json);
        $this->assertSame([], $server->messages(), 'a check sends nothing');
    }

    public function testOnlyARefusedPortGivesANegativeReportNotAnException(): void
    {
        $refused = Paths::refusedPort();
        $report = Mailport::probe("smtp://127.0.0.1:$refused", ports: [$refused], deadlineMs: 5000);

        $this->assertFalse($report->ok);
        $this->assertNull($report->recommendation);
        $this->assertNull($report->recommendedPort);
        $this->assertNull($report->recommendedSecurity);
        $this->assertNull($report->data['recommendation']);
        $this->assertSame('unreachable', $report->data['ports'][0]['verdict']);
        $this->assertSame(['port_refused'], array_map(static fn ($f) => $f->code, $report->findings));
        $this->assertNotSame('', $report->findings[0]->hint);
    }

    public function testClientProbeChecksItsConfigsServer(): void
    {
        $server = $this->server(['--mode', 'tls']);
        $client = new Client($this->configFor($server, 'tls'));
        $report = $client->probe(ports: [$server->port], deadlineMs: 10000, greetingWaitMs: 500, skipAuth: true);

        $this->assertTrue($report->ok, $report->summary);
        $this->assertSame(Security::TLS, $report->recommendedSecurity);
    }

    public function testMisuseIsAnException(): void
    {
        try {
            Mailport::probe(new Config(), ports: [587]);
            $this->fail('a config without host');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('host', $e->getMessage());
        }
        $this->expectException(InvalidArgumentException::class);
        Mailport::probe(new Config(host: 'localhost'), ports: [587, 587]);
    }
}

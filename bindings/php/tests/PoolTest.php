<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Exception\RecipientsRejectedException;
use Mailport\Tests\Support\MailportTestCase;

/** Persistent mode: a pooled session sends with the settings of the client that took it. */
final class PoolTest extends MailportTestCase
{
    private const SENDER = 'alice@example.test';
    private const REFUSED = 'nobody@example.org';

    public function testAPooledSessionSendsWithTheSettingsOfTheClientThatTookIt(): void
    {
        // Two requests of one php-fpm worker: A allows partial delivery and logs bodies, B not.
        $server = $this->server(['--mode', 'starttls', '--reject-rcpt', 'nobody']);
        $lenient = $this->configFor($server, 'starttls', allowPartialRecipients: true, transcriptBodies: true)
            ->setPersistent(true, 30000);
        $a = new Client($lenient);
        $receipt = $a->sendRaw(self::SENDER, [self::TO, self::REFUSED], "Subject: a\r\n\r\nbody of A\r\n");
        $this->assertCount(1, $receipt->rejected);
        $this->assertStringContainsString('body of A', $a->transcript());
        $a->close();

        $b = new Client($this->configFor($server, 'starttls')->setPersistent(true, 30000));
        try {
            $b->sendRaw(self::SENDER, [self::TO, self::REFUSED], "Subject: b\r\n\r\nbody of B\r\n");
            $this->fail('B allows no partial delivery: its message must go nowhere');
        } catch (RecipientsRejectedException) {
        }
        $b->sendRaw(self::SENDER, [self::TO], "Subject: c\r\n\r\nsecond body of B\r\n");
        $transcript = $b->transcript();
        $b->close();

        $this->assertStringContainsString('reusing a pooled connection', $transcript);
        $this->assertStringNotContainsString('body of B', $transcript);
        $this->assertStringContainsString('<message: ', $transcript);
        $this->assertSame([[self::TO], [self::TO]], array_map(static fn (array $m): array => $m['rcpt_tos'], $server->messages()));
        $connects = array_filter($server->events(), static fn (string $e): bool => str_ends_with($e, ' CONNECT'));
        $this->assertCount(1, $connects);
    }
}

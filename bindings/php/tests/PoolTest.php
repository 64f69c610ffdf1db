<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Exception\InvalidArgumentException;
use Mailport\Exception\RecipientsRejectedException;
use Mailport\Mailport;
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

    public function testDrainPoolQuitsEveryIdleSessionForWorkerShutdown(): void
    {
        $server = $this->server(['--mode', 'starttls']);
        Mailport::drainPool(); // what earlier tests left in this process's pool
        // Two clients open at once: two connections, both pooled when the clients close.
        $config = $this->configFor($server, 'starttls')->setPersistent(true, 30000);
        $a = new Client($config);
        $b = new Client($config);
        $a->sendRaw(self::SENDER, [self::TO], "Subject: a\r\n\r\nbody\r\n");
        $b->sendRaw(self::SENDER, [self::TO], "Subject: b\r\n\r\nbody\r\n");
        $a->close();
        $b->close();
        $quits = static fn (): array => array_values(array_filter(
            $server->events(),
            static fn (string $e): bool => str_ends_with($e, ' QUIT'),
        ));
        $this->assertSame([], $quits(), 'closing a persistent client hands its session to the pool');

        $this->assertSame(2, Mailport::drainPool(5000));
        $this->assertSame(['1 QUIT', '2 QUIT'], $quits());
        $this->assertSame(0, Mailport::drainPool(), 'the pool is empty');

        // The pool stays usable: the next persistent client connects anew.
        $c = new Client($config);
        $c->sendRaw(self::SENDER, [self::TO], "Subject: c\r\n\r\nbody\r\n");
        $this->assertStringNotContainsString('reusing a pooled connection', $c->transcript());
        $c->close();
        $this->assertSame(1, Mailport::drainPool(0), 'a zero budget still closes (without waiting)');
    }

    public function testDrainPoolRefusesANegativeTimeout(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('timeoutMs must be between 0 and 4294967295, got -1');
        Mailport::drainPool(-1);
    }
}

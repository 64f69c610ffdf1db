<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Config;
use Mailport\ErrorCode;
use Mailport\Exception\ExceptionInterface;
use Mailport\Exception\HandleException;
use Mailport\Handle;
use Mailport\Message;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\WpMail;

/** Handles own C objects: close() is idempotent, use after close and clone throw. */
final class LifecycleTest extends MailportTestCase
{
    /** @return array<string, array{0: callable(): Handle, 1: callable(Handle): mixed}> */
    public static function handles(): array
    {
        return [
            'Config' => [static fn () => new Config(host: 'localhost'), static fn (Config $c) => $c->setPort(2525)],
            'Message' => [static fn () => new Message(), static fn (Message $m) => $m->setSubject('x')],
            'WpMail' => [static fn () => new WpMail('a@example.org'), static fn (WpMail $w) => $w->setSubject('x')],
            'Client' => [static fn () => new Client(new Config(host: 'localhost')), static fn (Client $c) => $c->port()],
        ];
    }

    /** @dataProvider handles */
    public function testCloseIsIdempotentAndUseAfterCloseThrows(callable $make, callable $use): void
    {
        $handle = $make();
        $use($handle);
        $this->assertFalse($handle->isClosed());
        $handle->close();
        $this->assertTrue($handle->isClosed());
        $handle->close();
        $this->assertTrue($handle->isClosed());
        try {
            $use($handle);
            $this->fail('use after close must throw');
        } catch (HandleException $e) {
            $this->assertInstanceOf(\LogicException::class, $e);
            $this->assertInstanceOf(ExceptionInterface::class, $e);
            $this->assertSame(ErrorCode::INVALID_STATE, $e->getCode());
            $this->assertStringContainsString('is closed', $e->getMessage());
            $this->assertStringContainsString(get_class($handle), $e->getMessage());
        }
    }

    /** @dataProvider handles */
    public function testCloneIsForbidden(callable $make, callable $use): void
    {
        $handle = $make();
        try {
            $copy = clone $handle;
            $this->fail('clone must throw');
        } catch (HandleException $e) {
            $this->assertStringContainsString('cannot be cloned', $e->getMessage());
        }
        $use($handle);
        $this->assertFalse($handle->isClosed(), 'the original is untouched');
    }

    /** @dataProvider handles */
    public function testSerializeIsForbidden(callable $make, callable $use): void
    {
        $this->expectException(HandleException::class);
        serialize($make());
    }

    public function testDestructorsFreeWithoutClose(): void
    {
        // Many short-lived handles, never closed explicitly: the destructors free them (valgrind
        // runs of the C tests cover the C side; here it must simply not crash or leak into PHP).
        $before = memory_get_usage();
        for ($i = 0; $i < 300; $i++) {
            $m = (new Message())->setFrom(self::FROM)->addTo(self::TO)->attachBytes('a.bin', str_repeat('x', 1000));
            $copy = $m->copy();
            $c = new Client(new Config(host: 'localhost'));
        }
        unset($m, $copy, $c);
        gc_collect_cycles();
        $this->assertLessThan(512 * 1024, memory_get_usage() - $before);
    }

    public function testAClientKeepsItsOwnCopyOfTheConfig(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $config = $this->configFor($server, 'none');
        $client = new Client($config);
        $config->setPort(1);
        $config->close();
        $receipt = $client->send((new Message())->setFrom(self::FROM)->addTo(self::TO)->setText('x'));
        $this->assertSame($server->port, $receipt->port);
    }

    public function testAClosedMessageOrConfigCannotBeUsedByOthers(): void
    {
        $message = new Message();
        $message->close();
        $client = new Client(new Config(host: 'localhost'));
        $this->expectException(HandleException::class);
        $client->send($message);
    }

    public function testClosingAClientSaysQuit(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $client = new Client($this->configFor($server, 'none'));
        $client->noop();
        $client->close();
        $client->close();
        $deadline = microtime(true) + 5;
        while (!in_array('1 QUIT', $server->events(), true) && microtime(true) < $deadline) {
            usleep(20_000);
        }
        $this->assertContains('1 QUIT', $server->events());
        $this->expectException(HandleException::class);
        $client->transcript();
    }
}

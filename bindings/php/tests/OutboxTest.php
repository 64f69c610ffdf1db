<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Config;
use Mailport\Exception\ExceptionInterface;
use Mailport\Exception\HandleException;
use Mailport\Exception\InvalidArgumentException;
use Mailport\Exception\MailportException;
use Mailport\Client;
use Mailport\Message;
use Mailport\Outbox;
use Mailport\OutboxEvent;
use Mailport\OutboxEventKind;
use Mailport\OutboxState;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\Paths;

/**
 * Mailport\Outbox against real aiosmtpd servers: enqueue, run, records, deferral, retry and
 * cancel, a backup connection and its alert, the onEvent callable and the events of a summary,
 * the ambiguous send, pruning, and misuse.
 */
final class OutboxTest extends MailportTestCase
{
    private function order(string $subject = 'order 1', string $to = 'ann@example.org'): Message
    {
        return (new Message())->setFrom('Shop <shop@example.com>')->addTo($to)
            ->setSubject($subject)->setText("$subject\n");
    }

    private function spool(): string
    {
        return $this->tempDir() . '/spool';
    }

    public function testAnEnqueuedMessageIsDeliveredAndItsRecordTellsHow(): void
    {
        $server = $this->server(['--mode', 'plain', '--queue-id']);
        $events = [];
        $outbox = Outbox::open(
            $this->spool(),
            [$this->configFor($server, 'none')],
            onEvent: static function (OutboxEvent $e) use (&$events): void {
                $events[] = $e;
            },
            keepTranscripts: true,
        );
        $id = $outbox->enqueue($this->order());
        $this->assertMatchesRegularExpression('/^\d{13}-[0-9a-f]{16}$/', $id);
        $queued = $outbox->get($id);
        $this->assertSame(OutboxState::QUEUED, $queued->state);
        $this->assertStringStartsWith('<', (string) $queued->messageId);
        $this->assertSame('shop@example.com', $queued->envelopeFrom);
        $this->assertSame(['ann@example.org'], $queued->pending());
        $this->assertSame([], $queued->attempts);
        $this->assertNull($queued->deliveredBy);

        $summary = $outbox->run();
        $this->assertSame([1, 0, 0, 0, 0], [$summary->sent, $summary->deferred, $summary->failed, $summary->held, $summary->viaBackup]);
        $record = $outbox->get($id);
        $outbox->close();

        $got = $server->onlyMessage();
        $this->assertSame(['ann@example.org'], $got['rcpt_tos']);
        $this->assertStringContainsString("Message-ID: {$queued->messageId}\r\n", $got['data'], 'fixed at enqueue');
        $this->assertSame(OutboxState::SENT, $record->state);
        $this->assertSame(0, $record->deliveredBy);
        $this->assertFalse($record->maybeDelivered);
        $this->assertSame('sent', $record->recipients[0]->state);
        $this->assertStringStartsWith('250', (string) $record->recipients[0]->reply);
        $this->assertCount(1, $record->attempts);
        $attempt = $record->attempts[0];
        $this->assertSame(['sent', 250, null], [$attempt->outcome, $attempt->replyCode, $attempt->kind]);
        $this->assertSame($got['queue_id'], $attempt->queueId);
        $this->assertSame("127.0.0.1:{$server->port}", $attempt->server);
        $this->assertStringContainsString('RCPT TO:<ann@example.org>', (string) $attempt->transcript);
        $this->assertSame('sent', $record->data['state']);
        $this->assertStringContainsString('"state":"sent"', $record->json);

        // The callable heard the enqueue and the delivery; the summary has the run's events.
        $this->assertSame(
            ["$id: new -> queued", "$id: queued -> sent"],
            array_map(static fn (OutboxEvent $e): string => explode(': 250', (string) $e)[0], $events),
        );
        $this->assertSame(OutboxEventKind::STATE_CHANGED, $summary->events[0]->kind);
        $this->assertSame([OutboxState::QUEUED, OutboxState::SENT], [$summary->events[0]->from, $summary->events[0]->to]);
        $this->assertStringStartsWith('250', (string) $summary->events[0]->message);
        $this->assertStringContainsString('"events":[', $summary->json);
    }

    public function testADeferredEntryCanBeRetriedAndCancelled(): void
    {
        $server = $this->server(['--mode', 'plain', '--tempfail-rcpt', 'busy']);
        $events = [];
        $outbox = new Outbox(
            $this->spool(),
            ["smtp+plain://127.0.0.1:{$server->port}"],
            static function (OutboxEvent $e) use (&$events): void {
                $events[] = [$e->from, $e->to];
            },
            minBackoffMs: 60000,
            maxBackoffMs: 120000,
        );
        $id = $outbox->enqueueRaw('shop@example.com', 'busy@example.org', "From: shop@example.com\r\nSubject: later\r\n\r\nlater\r\n");
        $this->assertSame(1, $outbox->run(10, 30000)->deferred);
        $record = $outbox->get($id);
        $this->assertSame(OutboxState::DEFERRED, $record->state);
        $this->assertSame(1, $record->retries);
        $this->assertNull($record->messageId);
        $wait = $record->due - $record->attempts[0]->at;
        $this->assertTrue($wait >= 59 && $wait <= 61, "60 s backoff, got $wait");
        $this->assertStringContainsString('450', (string) $record->reason);
        $this->assertSame(['transient', 450], [$record->attempts[0]->outcome, $record->attempts[0]->replyCode]);
        $this->assertSame(0, $outbox->run()->deferred, 'not due yet');

        $this->assertSame(OutboxState::QUEUED, $outbox->retry($id)->state);
        $cancelled = $outbox->cancel($id);
        $this->assertSame([OutboxState::CANCELLED, 'cancelled'], [$cancelled->state, $cancelled->reason]);
        try {
            $outbox->retry($id);
            $this->fail('a cancelled entry cannot be retried');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('nothing to retry', $e->getMessage());
        }
        $this->assertSame([$id], array_map(static fn ($r) => $r->id, $outbox->list('cancelled')));
        $this->assertSame([$id], array_map(static fn ($r) => $r->id, $outbox->list([OutboxState::CANCELLED, 'SENT'], 1)));
        $this->assertSame([], $outbox->list(OutboxState::QUEUED));
        $this->assertSame([], $server->messages());
        $this->assertSame([
            [null, OutboxState::QUEUED],
            [OutboxState::QUEUED, OutboxState::DEFERRED],
            [OutboxState::DEFERRED, OutboxState::QUEUED],
            [OutboxState::QUEUED, OutboxState::CANCELLED],
        ], $events);
    }

    public function testABackupDeliversWhileThePrimaryIsDownAndOneAlertIsInTheSummary(): void
    {
        $backup = $this->server(['--mode', 'plain']);
        $refused = Paths::refusedPort();
        $down = new Config(host: '127.0.0.1', port: $refused, security: 'none', connectTimeoutMs: 5000);
        $outbox = Outbox::open($this->spool(), [$down, $this->configFor($backup, 'none')]);
        $first = $outbox->enqueue($this->order('one'));
        $outbox->enqueueRaw('shop@example.com', ['bob@example.org'], "Subject: two\n\nraw\n");
        $summary = $outbox->run();
        $this->assertSame([2, 2], [$summary->sent, $summary->viaBackup]);
        $messages = $backup->messages();
        $this->assertCount(2, $messages);
        $this->assertSame(['bob@example.org'], $messages[1]['rcpt_tos']);
        $this->assertSame("Subject: two\r\n\r\nraw\r\n", $messages[1]['data'], 'sent as given, CRLF');
        $record = $outbox->get($first);
        $this->assertSame(1, $record->deliveredBy);
        $this->assertSame(
            [[0, 'transient', 'connect_refused'], [1, 'sent', null]],
            array_map(static fn ($a) => [$a->connection, $a->outcome, $a->kind], $record->attempts),
        );
        $failing = array_values(array_filter($summary->events, static fn (OutboxEvent $e): bool => $e->kind === OutboxEventKind::CONNECTION_FAILING));
        $this->assertCount(1, $failing, 'one alert for the primary, not one per message');
        $this->assertSame([0, "127.0.0.1:$refused", null], [$failing[0]->connection, $failing[0]->server, $failing[0]->id]);
        $this->assertStringContainsString('refused', (string) $failing[0]->message);
    }

    public function testAnExceptionFromOnEventPropagatesAfterTheCallWhichStillHappened(): void
    {
        $outbox = new Outbox($this->spool(), onEvent: static function (OutboxEvent $e): void {
            throw new \DomainException("alerting failed for {$e->id}");
        });
        try {
            $outbox->enqueue($this->order());
            $this->fail('the callable threw');
        } catch (\DomainException $e) {
            $this->assertStringContainsString('alerting failed', $e->getMessage());
        }
        $entries = $outbox->list();
        $this->assertCount(1, $entries, 'the message went in all the same');
        $this->assertStringContainsString($entries[0]->id, $e->getMessage());
        $outbox->setOnEvent(null);
        $this->assertSame(OutboxState::CANCELLED, $outbox->cancel($entries[0]->id)->state);
    }

    public function testALostAnswerFailsTheEntryAsMaybeDeliveredWhenToldNotToResend(): void
    {
        $server = $this->server(['--mode', 'plain', '--hang', 'data']);
        $config = $this->configFor($server, 'none', dataTimeoutMs: 1000);
        $outbox = new Outbox($this->spool(), [$config], retryUnknown: false);
        $id = $outbox->enqueue($this->order());
        $this->assertSame(1, $outbox->run()->failed);
        $record = $outbox->get($id);
        $this->assertSame(OutboxState::FAILED, $record->state);
        $this->assertTrue($record->maybeDelivered);
        $this->assertSame('unknown', $record->attempts[0]->outcome);

        // A direct send says the same on its exception.
        try {
            (new Client($config))->send($this->order());
            $this->fail('the answer never comes');
        } catch (MailportException $e) {
            $this->assertTrue($e->isOutcomeUnknown());
        }
    }

    public function testPruneRemovesOldFinishedRecordsOnly(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $outbox = new Outbox($this->spool(), [$this->configFor($server, 'none')]);
        $sent = $outbox->enqueue($this->order());
        $outbox->run();
        $waiting = $outbox->enqueue($this->order('two'));
        $this->assertSame(0, $outbox->prune(3_600_000));
        usleep(1_100_000);
        $this->assertSame(1, $outbox->prune(0));
        $this->assertSame([$waiting], array_map(static fn ($r) => $r->id, $outbox->list()));
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage("no entry $sent");
        $outbox->get($sent);
    }

    public function testMisuseIsRefusedWithClearErrors(): void
    {
        $spool = $this->spool();
        $cases = [
            'connections[0] must be a Config or a URL' => static fn () => new Outbox($spool, [42]),
            'connections[0]: host is not set' => static fn () => new Outbox($spool, [new Config()]),
            'location is empty' => static fn () => new Outbox(''),
            'minBackoffMs must be between 0' => static fn () => new Outbox($spool, minBackoffMs: -1),
        ];
        $outbox = new Outbox($spool);
        $cases += [
            'no connection to deliver through' => static fn () => $outbox->run(),
            'not an outbox entry id' => static fn () => $outbox->get('../../etc/passwd'),
            'contains a NUL byte' => static fn () => $outbox->get("x\0y"),
            'state "lost" is not one of' => static fn () => $outbox->list('lost'),
            'limit must be at least 1' => static fn () => $outbox->list(null, 0),
            'no From' => static fn () => $outbox->enqueue((new Message())->addTo('ann@example.org')),
        ];
        foreach ($cases as $expected => $call) {
            try {
                $call();
                $this->fail("no exception for: $expected");
            } catch (ExceptionInterface $e) {
                $this->assertStringContainsString($expected, $e->getMessage());
            }
        }
        $this->assertSame([], $outbox->list(), 'nothing was enqueued by the failures');
        $outbox->close();
        $outbox->close();
        $this->assertTrue($outbox->isClosed());
        $this->expectException(HandleException::class);
        $outbox->list();
    }
}

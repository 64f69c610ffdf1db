<?php

declare(strict_types=1);

namespace Mailport;

use Mailport\Exception\ExceptionFactory;

/**
 * A durable outbox on a spool directory (C: `mailport_outbox`): a message handed to it is
 * delivered or explained, never lost.
 *
 *     $outbox = Outbox::open('/var/spool/myapp-mail', [new Config(host: 'smtp.example.com', ...)]);
 *     $id = $outbox->enqueue($message);        // durable on disk when it returns
 *     $summary = $outbox->run();               // later: a worker, a cron job, the end of a request
 *
 * The connections (Config objects or URLs, copied) are tried in order: the first is the primary,
 * the others are backups tried at once when it fails for a reason a retry may cure. A transient
 * failure defers an entry with doubling backoff until its lifetime is over; a permanent refusal
 * fails the recipients refused; a configuration problem (credentials refused, certificate not
 * trusted) holds it until the settings change or it is retried. Any number of outboxes, in this
 * process or others, may work on one spool.
 *
 * Events, for alerting: every state change of an entry, and a connection that starts failing or
 * recovers (not every message), are in the summary that run() returns, and the records say the
 * rest. An onEvent callable, if set, is called with each OutboxEvent too — when the call that
 * caused them returns, not during it: PHP callbacks across FFI leak, are slow and do not work on
 * every platform (the PHP manual), so this binding sets none. An exception the callable throws
 * propagates from that call, which happened all the same (an enqueued message stays enqueued:
 * list() finds it).
 */
final class Outbox extends Handle
{
    /** @var (callable(OutboxEvent): void)|null */
    private $onEvent = null;

    /** @var list<\Closure> the connections' OAuth callbacks (see Config::callbacks()) */
    private array $callbacks = [];

    /**
     * Open (or create) the outbox at $location (a spool directory, or a mysql:// URL, which may
     * hold a password), delivering through copies of $connections.
     *
     * @param list<Config|string> $connections Configs or URLs (smtp://user:pass@host:587, ...)
     * @param (callable(OutboxEvent): void)|null $onEvent
     */
    public function __construct(
        #[\SensitiveParameter] string $location,
        #[\SensitiveParameter] array $connections = [],
        ?callable $onEvent = null,
        ?int $minBackoffMs = null,
        ?int $maxBackoffMs = null,
        ?int $lifetimeMs = null,
        ?bool $retryUnknown = null,
        ?bool $keepSent = null,
        ?bool $keepTranscripts = null,
    ) {
        $configs = [];
        $own = [];
        try {
            foreach (array_values($connections) as $i => $connection) {
                if (is_string($connection)) {
                    $connection = $own[] = Config::fromUrl($connection);
                } elseif (!$connection instanceof Config) {
                    throw ExceptionFactory::argument(sprintf(
                        'connections[%d] must be a Config or a URL, not %s',
                        $i,
                        get_debug_type($connection),
                    ));
                }
                $configs[] = $connection->handle();
                // The library keeps copies of their OAuth callbacks: keep the PHP side alive too.
                $this->callbacks = [...$this->callbacks, ...array_values($connection->callbacks())];
            }
            $this->adopt(Native::openOutbox($location, $configs));
        } finally {
            foreach ($own as $config) {
                $config->close();
            }
        }
        $this->onEvent = $onEvent;
        $this->setPolicy($minBackoffMs, $maxBackoffMs, $lifetimeMs, $retryUnknown, $keepSent, $keepTranscripts);
    }

    /**
     * The same as the constructor (the same named arguments).
     *
     * @param list<Config|string> $connections
     */
    public static function open(
        #[\SensitiveParameter] string $location,
        #[\SensitiveParameter] array $connections = [],
        mixed ...$options,
    ): self
    {
        return new self($location, $connections, ...$options);
    }

    protected static function freeFunction(): string
    {
        return 'mailport_outbox_free';
    }

    /**
     * Change the delivery policy; null leaves a setting as it is. $minBackoffMs (default 5
     * minutes) doubles with each failure up to $maxBackoffMs (1 hour); $lifetimeMs (5 days) is
     * when an entry that keeps failing is given up; $retryUnknown (true) sends again a message
     * whose answer was lost after it went out in full (same Message-ID); $keepSent (false) keeps
     * sent messages' bodies; $keepTranscripts (false) keeps each attempt's transcript. Times are
     * kept in whole seconds.
     */
    public function setPolicy(
        ?int $minBackoffMs = null,
        ?int $maxBackoffMs = null,
        ?int $lifetimeMs = null,
        ?bool $retryUnknown = null,
        ?bool $keepSent = null,
        ?bool $keepTranscripts = null,
    ): static {
        $ms = [
            'mailport_outbox_set_min_backoff_ms' => [$minBackoffMs, 'minBackoffMs'],
            'mailport_outbox_set_max_backoff_ms' => [$maxBackoffMs, 'maxBackoffMs'],
            'mailport_outbox_set_lifetime_ms' => [$lifetimeMs, 'lifetimeMs'],
        ];
        foreach ($ms as $setter => [$value, $name]) {
            if ($value !== null) {
                Native::call($setter, $this->handle(), Native::uint($value, 64, $name));
            }
        }
        $flags = [
            'mailport_outbox_set_retry_unknown' => $retryUnknown,
            'mailport_outbox_set_keep_sent' => $keepSent,
            'mailport_outbox_set_keep_transcripts' => $keepTranscripts,
        ];
        foreach ($flags as $setter => $value) {
            if ($value !== null) {
                Native::call($setter, $this->handle(), $value);
            }
        }
        return $this;
    }

    /**
     * Call $onEvent with each OutboxEvent from now on (null: no callable), when the call that
     * caused it returns.
     *
     * @param (callable(OutboxEvent): void)|null $onEvent
     */
    public function setOnEvent(?callable $onEvent): static
    {
        $this->handle();
        $this->onEvent = $onEvent;
        return $this;
    }

    /**
     * Store $message for delivery and return its entry id once it is durable. It is checked and
     * rendered now (Date and Message-ID fixed, attachment files copied into the spool), so every
     * attempt sends the same message. Throws, storing nothing, when it has no From or recipient.
     */
    public function enqueue(Message $message): string
    {
        $id = Native::enqueue('mailport_outbox_enqueue', [$this->handle(), $message->handle()]);
        $this->emit(new OutboxEvent(OutboxEventKind::STATE_CHANGED, $id, null, OutboxState::QUEUED));
        return $id;
    }

    /**
     * Store a message you formatted yourself for an explicit envelope ($from: "" for the null
     * sender; Bcc recipients belong in $recipients, not in a header). Returns the entry id.
     *
     * @param string|list<string> $recipients
     */
    public function enqueueRaw(string $from, string|array $recipients, string $data): string
    {
        $id = Native::enqueueRaw($this->handle(), $from, (array) $recipients, $data);
        $this->emit(new OutboxEvent(OutboxEventKind::STATE_CHANGED, $id, null, OutboxState::QUEUED));
        return $id;
    }

    /**
     * Deliver what is due, oldest first, and record what came of each attempt. $limit: at most
     * that many entries; $deadlineMs: claim no new entry after that long. What the servers do is
     * in the summary and the records, not thrown: only a spool that cannot be read or written,
     * or an outbox without connections, throws.
     */
    public function run(?int $limit = null, ?int $deadlineMs = null): OutboxSummary
    {
        $summary = OutboxSummary::take(Native::callOut(
            'mailport_outbox_run',
            'mailport_outbox_summary',
            $this->handle(),
            $limit === null ? 0 : self::positive($limit, 'limit'),
            $deadlineMs === null ? 0 : self::positive($deadlineMs, 'deadlineMs'),
        ));
        $this->emit(...$summary->events);
        return $summary;
    }

    /**
     * The records of the entries in $states (one or several; all when null), oldest first, at
     * most $limit of them.
     *
     * @param OutboxState|string|list<OutboxState|string>|null $states
     * @return list<OutboxRecord>
     */
    public function list(OutboxState|string|array|null $states = null, ?int $limit = null): array
    {
        $codes = [];
        foreach ($states === null ? [] : (is_array($states) ? $states : [$states]) as $state) {
            $codes[] = OutboxState::of($state)->code();
        }
        return OutboxRecord::takeList(Native::listOutbox(
            $this->handle(),
            $codes,
            $limit === null ? 0 : self::positive($limit, 'limit'),
        ));
    }

    /** The record of the entry $id; InvalidArgumentException when there is none. */
    public function get(string $id): OutboxRecord
    {
        return OutboxRecord::take(Native::callOut(
            'mailport_outbox_get',
            'mailport_outbox_record',
            $this->handle(),
            Native::str($id, 'id'),
        ));
    }

    /**
     * Try a deferred, held or failed entry again at the next run (a failed one also to the
     * recipients that failed); returns its new record.
     */
    public function retry(string $id): OutboxRecord
    {
        return $this->change('mailport_outbox_retry', $id);
    }

    /** Give up on an entry that was not sent yet; returns its new record. */
    public function cancel(string $id): OutboxRecord
    {
        return $this->change('mailport_outbox_cancel', $id);
    }

    private function change(string $function, string $id): OutboxRecord
    {
        // The state before, for the event (as the library's own event says it).
        $before = $this->onEvent === null ? null : $this->get($id)->state;
        $record = OutboxRecord::take(Native::callOut(
            $function,
            'mailport_outbox_record',
            $this->handle(),
            Native::str($id, 'id'),
        ));
        if ($before !== null) {
            $this->emit(new OutboxEvent(OutboxEventKind::STATE_CHANGED, $record->id, $before, $record->state));
        }
        return $record;
    }

    /**
     * Remove the records of sent, failed and cancelled entries last touched more than
     * $olderThanMs ago; returns how many went.
     */
    public function prune(int $olderThanMs): int
    {
        return Native::callSize('mailport_outbox_prune', $this->handle(), Native::uint($olderThanMs, 64, 'olderThanMs'));
    }

    private function emit(OutboxEvent ...$events): void
    {
        if ($this->onEvent === null) {
            return;
        }
        foreach ($events as $event) {
            ($this->onEvent)($event);
        }
    }

    private static function positive(int $value, string $name): int
    {
        if ($value < 1) {
            throw ExceptionFactory::argument("$name must be at least 1, got $value");
        }
        return $value;
    }
}

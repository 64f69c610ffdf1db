<?php

declare(strict_types=1);

namespace Mailport;

/**
 * What an outbox's onEvent callable hears, and what a run summary lists: a state change of an
 * entry ($id, $from, $to, $message: the last attempt's words), or a connection that starts
 * failing or recovers ($connection: its index, 0 the primary; $server; $message: why it fails).
 * Absent values are null.
 */
final class OutboxEvent implements \Stringable
{
    public function __construct(
        public readonly OutboxEventKind $kind,
        public readonly ?string $id = null,
        /** Null for an entry just enqueued. */
        public readonly ?OutboxState $from = null,
        public readonly ?OutboxState $to = null,
        public readonly ?int $connection = null,
        public readonly ?string $server = null,
        public readonly ?string $message = null,
    ) {
    }

    /**
     * An event of a run summary's JSON.
     *
     * @internal
     * @param array<string, mixed> $event
     */
    public static function fromArray(array $event): ?self
    {
        $kind = OutboxEventKind::tryFrom((string) ($event['kind'] ?? ''));
        if ($kind === null) {
            return null; // a kind newer than this binding
        }
        $state = static fn (mixed $name): ?OutboxState => is_string($name) ? OutboxState::tryFrom($name) : null;
        $stateChange = $kind === OutboxEventKind::STATE_CHANGED;
        return new self(
            $kind,
            $stateChange ? (string) $event['id'] : null,
            $stateChange ? $state($event['from'] ?? null) : null,
            $stateChange ? $state($event['to'] ?? null) : null,
            $stateChange ? null : (int) $event['connection'],
            $stateChange ? null : (string) $event['server'],
            isset($event['message']) && $event['message'] !== '' ? (string) $event['message'] : null,
        );
    }

    public function __toString(): string
    {
        $text = $this->kind === OutboxEventKind::STATE_CHANGED
            ? sprintf('%s: %s -> %s', $this->id, $this->from?->value ?? 'new', $this->to?->value)
            : sprintf('connection %d (%s) %s', $this->connection, $this->server, $this->kind->value);
        return $this->message === null ? $text : "$text: {$this->message}";
    }
}

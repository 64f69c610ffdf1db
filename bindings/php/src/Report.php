<?php

declare(strict_types=1);

namespace Mailport;

/**
 * The result of a connection check (Mailport::probe, Client::probe): whether some port works,
 * which one to use and why, what is wrong with the others, and the whole check as the JSON
 * document of docs/report-schema.md. Read from the C report at once; the C object is freed.
 * A port that does not work is data here, never an exception.
 */
final class Report implements \Stringable
{
    /**
     * @param list<Finding>        $findings
     * @param array<string, mixed> $data
     */
    public function __construct(
        /** Whether some port works (connects, encrypts with a trusted certificate, accepts the credentials). */
        public readonly bool $ok,
        /** A few sentences for people: one line per port, the problems, what to use. */
        public readonly string $summary,
        /** "port=465 security=tls", or null when no port works. */
        public readonly ?string $recommendation,
        /** Why that port, in plain words, or null. */
        public readonly ?string $recommendationReason,
        /** The port to use, or null when no port works. */
        public readonly ?int $recommendedPort,
        /** STARTTLS or TLS, or null when no port works. */
        public readonly ?Security $recommendedSecurity,
        /** Problems and notes, each with a hint. */
        public readonly array $findings,
        /** The JSON document (schema 1). */
        public readonly string $json,
        /** The JSON document decoded into arrays. */
        public readonly array $data,
    ) {
    }

    /**
     * Read a C report and free it.
     *
     * @internal
     */
    public static function fromHandle(\FFI\CData $r): self
    {
        try {
            $json = (string) Native::invoke('mailport_report_json', $r);
            $data = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
            $findings = [];
            $n = (int) Native::invoke('mailport_report_finding_count', $r);
            for ($i = 0; $i < $n; $i++) {
                $port = (int) Native::invoke('mailport_report_finding_port', $r, $i);
                $severity = (string) Native::invoke('mailport_report_finding_severity', $r, $i);
                $findings[] = new Finding(
                    (string) Native::invoke('mailport_report_finding_code', $r, $i),
                    (string) Native::invoke('mailport_report_finding_message', $r, $i),
                    (string) Native::invoke('mailport_report_finding_hint', $r, $i),
                    $port === 0 ? null : $port,
                    $severity === '' ? null : $severity,
                );
            }
            $port = (int) Native::invoke('mailport_report_recommended_port', $r);
            $orNull = static fn (string $s): ?string => $s === '' ? null : $s;
            return new self(
                (bool) Native::invoke('mailport_report_ok', $r),
                (string) Native::invoke('mailport_report_summary', $r),
                $orNull((string) Native::invoke('mailport_report_recommendation', $r)),
                $orNull((string) Native::invoke('mailport_report_recommendation_reason', $r)),
                $port === 0 ? null : $port,
                $port === 0 ? null : Security::fromCode((int) Native::invoke('mailport_report_recommended_security', $r)),
                $findings,
                $json,
                $data,
            );
        } finally {
            Native::invoke('mailport_report_free', $r);
        }
    }

    /**
     * The findings with this code, e.g. "port_refused".
     *
     * @return list<Finding>
     */
    public function findingsWithCode(string $code): array
    {
        return array_values(array_filter($this->findings, static fn (Finding $f): bool => $f->code === $code));
    }

    public function __toString(): string
    {
        return $this->summary;
    }
}

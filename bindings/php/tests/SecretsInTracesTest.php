<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Config;
use Mailport\Mailport;
use Mailport\Tests\Support\MailportTestCase;

/**
 * Passwords, tokens and URLs with a password never reach an exception's stack trace, on every
 * path a secret travels (the binding's methods and Native's generic call helpers), with
 * arguments recorded as in development set-ups (zend.exception_ignore_args=0).
 */
final class SecretsInTracesTest extends MailportTestCase
{
    private const SECRET = 'Tr4ce-Secret-9931';

    /** @var array<string, string|false> */
    private array $savedIni = [];

    protected function setUp(): void
    {
        foreach (['zend.exception_ignore_args' => '0', 'zend.exception_string_param_max_len' => '1000000'] as $name => $value) {
            $this->savedIni[$name] = ini_set($name, $value);
        }
    }

    protected function tearDown(): void
    {
        foreach ($this->savedIni as $name => $value) {
            if ($value !== false) {
                ini_set($name, $value);
            }
        }
        parent::tearDown();
    }

    /**
     * A call that fails after the secret was handed over, and an argument of the same trace that
     * is no secret (it must show, or the test would prove nothing).
     *
     * @return iterable<string, array{0: \Closure(): mixed, 1: string}>
     */
    public static function failingCallsWithASecret(): iterable
    {
        $s = self::SECRET;
        yield 'setCredentials, refused by the library' => [
            static fn () => (new Config(host: 'h'))->setCredentials('visible-user', "$s\n"),
            "'mailport_config_set_credentials'",
        ];
        yield 'setPassword without a user name' => [
            static fn () => (new Config(host: 'h'))->setPassword($s),
            "'mailport_config_set_password'",
        ];
        yield 'setOAuth2Token, refused by the library' => [
            static fn () => (new Config(host: 'h'))->setOAuth2Token('visible-user', "$s\n"),
            "'mailport_config_set_oauth2_token'",
        ];
        yield 'a NUL byte in the password' => [
            static fn () => (new Config(host: 'h'))->setCredentials('visible-user', "$s\0"),
            "'visible-user'",
        ];
        yield 'constructor, password with a bad port' => [
            static fn () => new Config(host: 'h', port: 'visible-port', username: 'u', password: $s),
            "'visible-port'",
        ];
        yield 'constructor, token with a bad port' => [
            static fn () => new Config(host: 'h', port: 'visible-port', username: 'u', oauth2Token: $s),
            "'visible-port'",
        ];
        yield 'Config::fromUrl, password in the URL' => [
            static fn () => Config::fromUrl("smtp://u:$s@h:99999"),
            "'mailport_config_from_url'",
        ];
        yield 'Config::fromUrl, password: with a bad port' => [
            static fn () => Config::fromUrl('smtp://u@h', password: $s, port: 'visible-port'),
            "'visible-port'",
        ];
        yield 'Config::fromUrl, oauth2Token: with a bad port' => [
            static fn () => Config::fromUrl('smtp://h', username: 'u', oauth2Token: $s, port: 'visible-port'),
            "'visible-port'",
        ];
        yield 'setOAuthRefresh, refused by the library' => [
            static fn () => (new Config(host: 'h'))->setOAuthRefresh('visible-user', 'google', 'client', $s, "$s\n"),
            "'visible-user'",
        ];
        yield 'constructor, refresh grant with a bad port' => [
            static fn () => new Config(host: 'h', port: 'visible-port', username: 'u', oauthProvider: 'google', oauthClientId: 'c', oauthClientSecret: $s, oauthRefreshToken: $s),
            "'visible-port'",
        ];
        yield 'Config::fromUrl, oauthRefreshToken: with a bad port' => [
            static fn () => Config::fromUrl('smtp://h', username: 'u', oauthProvider: 'google', oauthClientId: 'c', oauthClientSecret: $s, oauthRefreshToken: $s, port: 'visible-port'),
            "'visible-port'",
        ];
        yield 'Client::fromUrl, oauthClientSecret: with a bad port' => [
            static fn () => Client::fromUrl('smtp://h', username: 'u', oauthProvider: 'google', oauthClientId: 'c', oauthClientSecret: $s, oauthRefreshToken: $s, port: 'visible-port'),
            "'visible-port'",
        ];
        yield 'Client::fromUrl, password in the URL' => [
            static fn () => Client::fromUrl("smtp://u:$s@h:99999"),
            "'mailport_config_from_url'",
        ];
        yield 'Client::fromUrl, password: with a bad port' => [
            static fn () => Client::fromUrl('smtp://u@h', password: $s, port: 'visible-port'),
            "'visible-port'",
        ];
        yield 'Mailport::probe, a URL with a password and a bad port' => [
            static fn () => Mailport::probe("smtp://u:$s@h:99999"),
            "'mailport_config_from_url'",
        ];
    }

    /**
     * @dataProvider failingCallsWithASecret
     * @param \Closure(): mixed $call
     */
    public function testTheSecretIsNotInTheTrace(\Closure $call, string $visible): void
    {
        try {
            $call();
            $this->fail('the call should have thrown');
        } catch (\Mailport\Exception\ExceptionInterface $e) {
        }
        $this->assertStringContainsString($visible, $e->getTraceAsString(), 'arguments are recorded in this trace');
        for ($t = $e; $t !== null; $t = $t->getPrevious()) {
            $this->assertStringNotContainsString(self::SECRET, $t->getTraceAsString());
            $this->assertStringNotContainsString(self::SECRET, (string) $t);
            foreach ($t->getTrace() as $i => $frame) {
                $this->assertSame([], self::stringsWithSecret($frame['args'] ?? []), sprintf(
                    'frame #%d %s%s%s',
                    $i,
                    $frame['class'] ?? '',
                    $frame['type'] ?? '',
                    $frame['function'],
                ));
            }
        }
    }

    /** @return list<string> the strings in $value (arrays walked) that contain the secret */
    private static function stringsWithSecret(mixed $value): array
    {
        if (is_string($value)) {
            return str_contains($value, self::SECRET) ? [$value] : [];
        }
        if (is_array($value)) {
            return array_merge([], ...array_map(self::stringsWithSecret(...), array_values($value)));
        }
        return [];
    }
}

<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Config;
use Mailport\ErrorCode;
use Mailport\Exception\InvalidArgumentException;
use Mailport\Exception\OAuthCallbackException;
use Mailport\Exception\OAuthException;
use Mailport\Exception\OAuthInvalidClientException;
use Mailport\Exception\OAuthInvalidGrantException;
use Mailport\Message;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\OAuthServer;
use Mailport\Tests\Support\SmtpServer;

/**
 * OAuth 2.0 from PHP against real servers on loopback: tests/servers/oauth_server.py (the token
 * endpoint, over TLS) and aiosmtpd checking each bearer token through that endpoint's
 * introspection. The refresh grant, the rotation callback, the token callback, and the errors
 * (invalid_grant, invalid_client, a callback that throws) with their codes and hints.
 */
final class OAuthTest extends MailportTestCase
{
    private const CLIENT_ID = 'php-test-client';
    private const CLIENT_SECRET = 'php-client-secret-5521';
    private const ACCOUNT = 'owner@example.test';

    /** @var list<OAuthServer> */
    private array $oauthServers = [];

    protected function tearDown(): void
    {
        foreach ($this->oauthServers as $server) {
            $server->stop();
            $server->removeFiles();
        }
        $this->oauthServers = [];
        parent::tearDown();
    }

    /** A token endpoint knowing one refresh token (unique per test: the library caches by it). */
    private function oauth(string $refreshToken, bool $rotate = false): OAuthServer
    {
        $server = new OAuthServer([
            '--client', self::CLIENT_ID . ':' . self::CLIENT_SECRET,
            '--refresh-token', self::ACCOUNT . ':' . $refreshToken,
            ...($rotate ? ['--rotate'] : []),
        ]);
        $this->oauthServers[] = $server;
        return $server;
    }

    /** aiosmtpd (STARTTLS) accepting the bearer tokens $oauth says are active. */
    private function smtpFor(OAuthServer $oauth): SmtpServer
    {
        return $this->server([
            '--mode', 'starttls', '--hostname', 'localhost',
            '--oauth-introspect', $oauth->url . '/introspect', '--oauth-ca', $oauth->ca,
        ]);
    }

    /** A config with the refresh grant: both CAs trusted (caFile applies to the token endpoint too). */
    private function refreshConfig(SmtpServer $smtp, OAuthServer $oauth, string $refreshToken, mixed ...$options): Config
    {
        return new Config(...array_merge([
            'host' => 'localhost',
            'port' => $smtp->port,
            'security' => 'starttls',
            'caFile' => [$smtp->ca, $oauth->ca],
            'connectTimeoutMs' => 5000,
            'commandTimeoutMs' => 10000,
            'sendTimeoutMs' => 20000,
            'username' => self::ACCOUNT,
            'oauthProvider' => 'google',
            'oauthClientId' => self::CLIENT_ID,
            'oauthClientSecret' => self::CLIENT_SECRET,
            'oauthRefreshToken' => $refreshToken,
            'oauthTokenUrl' => $oauth->url . '/token',
        ], $options));
    }

    private function message(string $subject): Message
    {
        return (new Message())->setFrom(self::ACCOUNT)->addTo(self::TO)->setSubject($subject)->setText("OAuth from PHP.\n");
    }

    public function testRefreshGrantSendsWithATokenTheServerChecked(): void
    {
        $oauth = $this->oauth('rt-php-send');
        $smtp = $this->smtpFor($oauth);
        $client = new Client($this->refreshConfig($smtp, $oauth, 'rt-php-send'));
        $receipt = $client->send($this->message('refresh grant'));
        $transcript = $client->transcript();
        $client->close();

        $this->assertSame(250, $receipt->replyCode);
        $record = $smtp->onlyMessage();
        $this->assertSame(self::ACCOUNT, $record['auth_user']);
        $state = $oauth->state();
        $this->assertSame(1, $state['grants']['refresh_token']);
        $this->assertSame(self::CLIENT_ID, $state['last_form']['client_id']);
        foreach ([...array_keys($state['access_tokens']), 'rt-php-send', self::CLIENT_SECRET] as $secret) {
            $this->assertStringNotContainsString($secret, $transcript);
        }
    }

    public function testRotatedRefreshTokenReachesTheCallback(): void
    {
        $oauth = $this->oauth('rt-php-rotate', rotate: true);
        $smtp = $this->smtpFor($oauth);
        $rotated = [];
        $config = $this->refreshConfig($smtp, $oauth, 'rt-php-rotate', oauthRotationCallback: static function (string $user, string $token) use (&$rotated): void {
            $rotated[] = [$user, $token];
        });
        $client = new Client($config);
        $client->send($this->message('rotation'));
        $client->close();

        $live = $oauth->state()['refresh_tokens'];
        $this->assertCount(1, $rotated);
        [$user, $token] = $rotated[0];
        $this->assertSame(self::ACCOUNT, $user);
        $this->assertSame([$token => self::ACCOUNT], $live, 'the callback got the one live refresh token; the old one is retired');
        $this->assertNotSame('rt-php-rotate', $token);
    }

    public function testRevokedRefreshTokenIsInvalidGrantWithAHint(): void
    {
        $oauth = $this->oauth('rt-php-revoked');
        $smtp = $this->smtpFor($oauth);
        $oauth->control(['revoke_refresh' => 'rt-php-revoked']);
        $client = new Client($this->refreshConfig($smtp, $oauth, 'rt-php-revoked'));
        try {
            $client->send($this->message('revoked'));
            $this->fail('a revoked refresh token must fail the send');
        } catch (OAuthInvalidGrantException $e) {
            $this->assertInstanceOf(OAuthException::class, $e);
            $this->assertSame(ErrorCode::OAUTH_INVALID_GRANT, $e->getCode());
            $this->assertSame('MAILPORT_ERR_OAUTH_INVALID_GRANT', $e->getName());
            $this->assertFalse($e->isTransient(), 'consent is needed: retrying unchanged never helps');
            $this->assertNotSame('', $e->getHint());
            $this->assertStringContainsString('mailport oauth login', $e->getHint(), 'the hint says how to consent again');
            $this->assertStringContainsString('oauthRefreshToken', $e->getHint(), 'and where the new refresh token goes');
            foreach ([$e->getMessage(), $e->getTranscript(), $e->getHint()] as $text) {
                $this->assertStringNotContainsString('rt-php-revoked', $text);
                $this->assertStringNotContainsString(self::CLIENT_SECRET, $text);
            }
        } finally {
            $client->close();
        }
        $this->assertSame([], $smtp->messages());
    }

    public function testRevokedRefreshTokenInWordPressSaysToConnectAgain(): void
    {
        $oauth = $this->oauth('rt-php-revoked-wp');
        $smtp = $this->smtpFor($oauth);
        $oauth->control(['revoke_refresh' => 'rt-php-revoked-wp']);
        $client = new Client($this->refreshConfig($smtp, $oauth, 'rt-php-revoked-wp')->setBinding('wordpress'));
        try {
            $client->send($this->message('revoked in WordPress'));
            $this->fail('a revoked refresh token must fail the send');
        } catch (OAuthInvalidGrantException $e) {
            $hint = $e->getHint();
            $this->assertStringContainsString('"Connect with Google" or "Connect with Microsoft"', $hint);
            $this->assertStringContainsString('Settings > Mailport', $hint);
            // Connect stores the new refresh token: the admin has nothing to give, least of all a PHP argument.
            $this->assertStringNotContainsString('oauthRefreshToken', $hint);
            $this->assertStringNotContainsString('give the new refresh token', $hint);
            $this->assertStringNotContainsString('rt-php-revoked-wp', $e->getMessage() . $e->getTranscript() . $hint);
        } finally {
            $client->close();
        }
        $this->assertSame([], $smtp->messages());
    }

    public function testWrongClientSecretIsInvalidClient(): void
    {
        $oauth = $this->oauth('rt-php-client');
        $smtp = $this->smtpFor($oauth);
        $client = new Client($this->refreshConfig($smtp, $oauth, 'rt-php-client', oauthClientSecret: 'not-the-secret'));
        try {
            $client->send($this->message('wrong secret'));
            $this->fail('a wrong client secret must fail the send');
        } catch (OAuthInvalidClientException $e) {
            $this->assertSame(ErrorCode::OAUTH_INVALID_CLIENT, $e->getCode());
            $this->assertStringContainsString('oauthClientSecret', $e->getHint(), 'the hint names the PHP setting');
            $this->assertStringNotContainsString('not-the-secret', $e->getMessage() . $e->getHint() . $e->getTranscript());
        } finally {
            $client->close();
        }
    }

    public function testTokenCallbackSuppliesTheToken(): void
    {
        $oauth = $this->oauth('rt-php-callback');
        $smtp = $this->smtpFor($oauth);
        $token = $oauth->accessToken(self::CLIENT_ID, self::CLIENT_SECRET, 'rt-php-callback');
        $calls = [];
        $config = $this->configFor($smtp, 'starttls', username: self::ACCOUNT, oauthTokenCallback: static function (string $user, bool $refused) use (&$calls, $token): array {
            $calls[] = [$user, $refused];
            return [$token, 3600];
        });
        $client = new Client($config);
        $client->send($this->message('token callback'));
        $transcript = $client->transcript();
        $client->close();

        $this->assertSame([[self::ACCOUNT, false]], $calls);
        $this->assertSame(self::ACCOUNT, $smtp->onlyMessage()['auth_user']);
        $this->assertStringNotContainsString($token, $transcript);
    }

    public function testTokenCallbackThatThrowsFailsTheSendWithItsReason(): void
    {
        $oauth = $this->oauth('rt-php-throws');
        $smtp = $this->smtpFor($oauth);
        $config = $this->configFor($smtp, 'starttls', username: self::ACCOUNT, oauthTokenCallback: static function (): string {
            throw new \DomainException('the token store is locked');
        });
        $client = new Client($config);
        try {
            $client->send($this->message('callback throws'));
            $this->fail('a token callback that throws must fail the send');
        } catch (OAuthCallbackException $e) {
            $this->assertSame(ErrorCode::OAUTH_CALLBACK, $e->getCode());
            $this->assertStringContainsString('DomainException', $e->getMessage());
            $this->assertStringContainsString('the token store is locked', $e->getMessage());
        } finally {
            $client->close();
        }
        $this->assertSame([], $smtp->messages());
    }

    public function testSettingsThatCannotGoTogetherAreRefused(): void
    {
        try {
            new Config(host: 'h', username: self::ACCOUNT, password: 'pw', oauthProvider: 'google', oauthClientId: 'c', oauthRefreshToken: 'r');
            $this->fail('a password and a refresh token together must be refused');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('choose one way to sign in', $e->getMessage());
        }
        try {
            new Config(host: 'h', username: self::ACCOUNT, oauthProvider: 'google', oauthRefreshToken: 'r');
            $this->fail('a refresh grant without its client id must be refused');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('oauthClientId', $e->getMessage());
        }
        try {
            new Config(host: 'h', username: self::ACCOUNT, oauthProvider: 'yahoo', oauthClientId: 'c', oauthRefreshToken: 'r');
            $this->fail('an unknown provider must be refused');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('"google", "microsoft" or "custom"', $e->getMessage());
        }
        try {
            new Config(host: 'h', oauthTokenCallback: static fn () => 't');
            $this->fail('a token callback without the user name must be refused');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('username is required', $e->getMessage());
        }
    }
}

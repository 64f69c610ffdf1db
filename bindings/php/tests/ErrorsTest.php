<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\Client;
use Mailport\Config;
use Mailport\ErrorCode;
use Mailport\Exception\AttachmentException;
use Mailport\Exception\CertificateException;
use Mailport\Exception\ConnectException;
use Mailport\Exception\ExceptionInterface;
use Mailport\Exception\InvalidAddressException;
use Mailport\Exception\InvalidArgumentException;
use Mailport\Exception\MailportException;
use Mailport\Exception\NetworkException;
use Mailport\Exception\RecipientsRejectedException;
use Mailport\Exception\ServerTimeoutException;
use Mailport\Exception\SmtpException;
use Mailport\Exception\TlsException;
use Mailport\Message;
use Mailport\Tests\Support\MailportTestCase;
use Mailport\Tests\Support\Paths;

/** Each kind of failure becomes its exception class, with the C error's details. */
final class ErrorsTest extends MailportTestCase
{
    private function message(): Message
    {
        return (new Message())->setFrom(self::FROM)->addTo(self::TO)->setSubject('errors')->setText('body');
    }

    public function testRefusedPortIsAConnectException(): void
    {
        $port = Paths::refusedPort();
        $client = new Client(new Config(host: '127.0.0.1', port: $port, security: 'none', connectTimeoutMs: 3000));
        try {
            $client->send($this->message());
            $this->fail('nothing listens there');
        } catch (ConnectException $e) {
            $this->assertInstanceOf(NetworkException::class, $e);
            $this->assertSame(ErrorCode::CONNECT_REFUSED, $e->getCode());
            $this->assertSame('MAILPORT_ERR_CONNECT_REFUSED', $e->getName());
            $this->assertStringContainsString((string) $port, $e->getErrorMessage());
            $this->assertStringContainsString('587', $e->getHint(), 'the hint suggests the submission ports');
            $this->assertTrue($e->isTransient());
            $this->assertSame(0, $e->getReplyCode());
            $this->assertStringContainsString("connecting to 127.0.0.1:$port", $e->getTranscript());
        }
        $this->assertStringContainsString("connecting to 127.0.0.1:$port", $client->transcript());
    }

    public function testInvalidAddressesAreAllListedWithTheirField(): void
    {
        $message = new Message();
        try {
            $message->addTo(['ok@example.org', 'no-at-sign', 'Doe, John <john@example.org>']);
            $this->fail('two entries are invalid');
        } catch (InvalidAddressException $e) {
            $this->assertInstanceOf(InvalidArgumentException::class, $e);
            $this->assertInstanceOf(\InvalidArgumentException::class, $e);
            $this->assertSame(ErrorCode::INVALID_ADDRESS, $e->getCode());
            $invalid = $e->getInvalidAddresses();
            $this->assertSame(['To', 'To'], array_map(static fn ($a) => $a->field, $invalid));
            $this->assertSame('no-at-sign', $invalid[0]->input);
            $this->assertStringContainsString("'@'", $invalid[0]->reason);
            $this->assertStringContainsString('Doe', $invalid[1]->input);
            $this->assertStringContainsString('no-at-sign', $e->getMessage());
        }
        // Nothing was added: all or nothing.
        $this->assertStringNotContainsString('ok@example.org', $message->setFrom(self::FROM)->render());
    }

    public function testADisplayNameNeedsNoQuotingAndABadAddressNamesItsField(): void
    {
        $message = (new Message())->setFrom(self::FROM)
            ->addTo('john@example.org', 'Doe, John "JJ"')
            ->addCc('ayse@example.org', 'Ünal, Ayşe')
            ->addBcc('hidden@example.org', 'Hidden')
            ->addReplyTo('support@example.com', 'Support, Team');
        $rendered = $message->render();
        $this->assertStringContainsString("To: \"Doe, John \\\"JJ\\\"\" <john@example.org>\r\n", $rendered);
        $this->assertStringContainsString("Reply-To: \"Support, Team\" <support@example.com>\r\n", $rendered);
        $this->assertStringContainsString('Cc: =?UTF-8?', $rendered);
        $this->assertStringNotContainsString('hidden@', $rendered);
        try {
            $message->addCc('not an address', 'Someone');
            $this->fail('the address is invalid');
        } catch (InvalidAddressException $e) {
            $this->assertSame(['Cc'], array_map(static fn ($a) => $a->field, $e->getInvalidAddresses()));
        }
        try {
            $message->addReplyTo('h@example.org', "Help\r\nBcc: x@evil.example");
            $this->fail('a line break in the name is refused');
        } catch (InvalidAddressException $e) {
            $this->assertSame('Reply-To', $e->getInvalidAddresses()[0]->field);
        }
        $this->expectException(InvalidArgumentException::class);
        $message->addTo(['a@example.org', 'b@example.org'], 'One name for two');
    }

    public function testMissingAttachmentNamesThePath(): void
    {
        $path = $this->tempDir() . '/missing.pdf';
        try {
            $this->message()->attachFile($path);
            $this->fail('the file does not exist');
        } catch (AttachmentException $e) {
            $this->assertInstanceOf(MailportException::class, $e);
            $this->assertSame(ErrorCode::ATTACHMENT, $e->getCode());
            $this->assertStringContainsString($path, $e->getMessage());
        }
    }

    public function testAttachmentRemovedBeforeSendingIsReportedAndNothingIsDelivered(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $path = $this->tempDir() . '/vanishing.txt';
        file_put_contents($path, 'soon gone');
        $message = $this->message()->attachFile($path);
        unlink($path);
        try {
            (new Client($this->configFor($server, 'none')))->send($message);
            $this->fail('the attachment is gone');
        } catch (AttachmentException $e) {
            $this->assertStringContainsString($path, $e->getMessage());
        }
        $this->assertSame([], $server->messages());
    }

    public function testRejectedRecipientListsEachRefusal(): void
    {
        $server = $this->server(['--mode', 'plain', '--reject-rcpt', 'unknown']);
        $message = $this->message()->addTo('unknown1@example.org, unknown2@example.org');
        try {
            (new Client($this->configFor($server, 'none')))->send($message);
            $this->fail('two recipients are refused');
        } catch (RecipientsRejectedException $e) {
            $this->assertInstanceOf(SmtpException::class, $e);
            $this->assertSame(ErrorCode::RECIPIENTS_REJECTED, $e->getCode());
            $rejected = $e->getRejected();
            $this->assertSame(['unknown1@example.org', 'unknown2@example.org'], array_map(static fn ($r) => $r->address, $rejected));
            $this->assertSame([550, 550], array_map(static fn ($r) => $r->replyCode, $rejected));
            $this->assertStringContainsString('5.1.1', $rejected[0]->reply);
            $this->assertFalse($e->isTransient());
        }
        $this->assertSame([], $server->messages(), 'nothing is sent when a recipient is refused');
    }

    /** A hostile server's reply with a bare CR and terminal escapes arrives escaped (issue 12.7). */
    public function testControlCharactersInAReplyAreEscaped(): void
    {
        $server = $this->server(['--mode', 'plain', '--reject-rcpt', 'nobody', '--hostile-text']);
        $client = new Client($this->configFor($server, 'none'));
        try {
            $client->send($this->message()->addTo('nobody@example.org'));
            $this->fail('the recipient is refused');
        } catch (RecipientsRejectedException $e) {
            $reply = $e->getRejected()[0]->reply;
            $this->assertStringContainsString('rejected\r* forged: delivered\u{1b}[2J', $reply);
            foreach ([$reply, $e->getMessage(), $e->getServerReply(), $e->getTranscript(), $client->transcript()] as $text) {
                $this->assertDoesNotMatchRegularExpression('/[\r\x1b\x07]/', $text);
            }
            $this->assertStringContainsString('forged', $client->transcript());
        }
    }

    public function testTemporarilyRefusedRecipientIsTransient(): void
    {
        $server = $this->server(['--mode', 'plain', '--tempfail-rcpt', 'later']);
        try {
            (new Client($this->configFor($server, 'none')))->send($this->message()->addTo('later@example.org'));
            $this->fail('the recipient is refused for now');
        } catch (RecipientsRejectedException $e) {
            $this->assertTrue($e->isTransient());
            $this->assertSame(450, $e->getRejected()[0]->replyCode);
        }
    }

    public function testSilentServerTimesOut(): void
    {
        $server = $this->server(['--mode', 'plain', '--hang', 'mail']);
        $client = new Client($this->configFor($server, 'none', commandTimeoutMs: 800));
        $start = microtime(true);
        try {
            $client->send($this->message());
            $this->fail('the server never answers MAIL');
        } catch (ServerTimeoutException $e) {
            $this->assertInstanceOf(NetworkException::class, $e);
            $this->assertSame(ErrorCode::TIMEOUT, $e->getCode());
            $this->assertTrue($e->isTransient());
            $this->assertStringContainsString('C: MAIL FROM:<alice@example.test>', $e->getTranscript());
        }
        $this->assertLessThan(10, microtime(true) - $start);
    }

    public function testUntrustedCertificateIsACertificateException(): void
    {
        $server = $this->server(['--mode', 'starttls', '--untrusted']);
        try {
            (new Client($this->configFor($server, 'starttls')))->send($this->message());
            $this->fail('the certificate is not trusted');
        } catch (CertificateException $e) {
            $this->assertInstanceOf(TlsException::class, $e);
            $this->assertSame(ErrorCode::CERT_UNTRUSTED, $e->getCode());
            $this->assertNotSame('', $e->getHint());
        }
        $this->assertSame([], $server->messages());
    }

    public function testImplicitTlsAgainstAPlaintextServerIsATlsException(): void
    {
        $server = $this->server(['--mode', 'plain']);
        try {
            (new Client($this->configFor($server, 'tls')))->send($this->message());
            $this->fail('the server speaks plaintext');
        } catch (TlsException $e) {
            $this->assertSame(ErrorCode::PLAINTEXT_ON_TLS_PORT, $e->getCode());
            $this->assertStringContainsString('STARTTLS', $e->getHint());
        }
    }

    public function testAMissingPasswordIsNamedBeforeAnythingIsSent(): void
    {
        // getenv('SMTP_PASSWORD') ?: null, with the variable not set.
        try {
            new Config(host: '127.0.0.1', username: 'me', password: null);
            $this->fail('the password is missing');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('the password is missing', $e->getErrorMessage());
            $this->assertStringContainsString('environment variable', $e->getErrorMessage());
            $this->assertStringContainsString('php-fpm', $e->getHint());
        }
    }

    public function testHintsNamePhpParameters(): void
    {
        $server = $this->server(['--mode', 'tls']);
        $config = fn (string $security, int $ms) => new Config(
            host: $server->host,
            port: $server->port,
            security: $security,
            heloName: 'client.example.test',
            connectTimeoutMs: 5000,
            commandTimeoutMs: $ms,
            sendTimeoutMs: $ms,
        );
        // A CA this machine does not trust: the hint says caFile, not the C function.
        try {
            (new Client($config('tls', 5000)))->send($this->message());
            $this->fail('the certificate is not trusted');
        } catch (CertificateException $e) {
            $this->assertSame(ErrorCode::CERT_UNTRUSTED, $e->getCode());
            $this->assertStringContainsString('caFile', $e->getHint());
            $this->assertStringNotContainsString('mailport_config', $e->getHint());
        }
        // STARTTLS against the implicit-TLS port: the greeting wait (5 s), not the ten-minute
        // command timeout, ends it, and the hint says security: 'tls'.
        try {
            (new Client($config('starttls', 600000)))->send($this->message());
            $this->fail('the port speaks implicit TLS');
        } catch (TlsException $e) {
            $this->assertSame(ErrorCode::TLS_ON_PLAINTEXT_PORT, $e->getCode());
            $this->assertStringContainsString("security: 'tls'", $e->getHint());
        }
        $this->assertSame([], $server->messages());
    }

    public function testADeclaredWordPressGetsHintsNamingItsSettings(): void
    {
        $server = $this->server(['--mode', 'tls']);
        $config = fn (string $security, int $ms) => (new Config(
            host: $server->host,
            port: $server->port,
            security: $security,
            connectTimeoutMs: 5000,
            commandTimeoutMs: $ms,
            sendTimeoutMs: $ms,
        ))->setBinding('wordpress');
        // An admin adds a CA with the constant the plugin reads, not with a PHP argument.
        try {
            (new Client($config('tls', 5000)))->send($this->message());
            $this->fail('the certificate is not trusted');
        } catch (CertificateException $e) {
            $this->assertSame(ErrorCode::CERT_UNTRUSTED, $e->getCode());
            $this->assertStringContainsString('MAILPORT_CA_FILE in wp-config.php', $e->getHint());
            $this->assertStringNotContainsString('caFile', $e->getHint());
        }
        // The Security field's option, not security: 'tls' (as in testHintsNamePhpParameters, the
        // greeting wait ends it, not the long command timeout).
        try {
            (new Client($config('starttls', 600000)))->send($this->message());
            $this->fail('the port speaks implicit TLS');
        } catch (TlsException $e) {
            $this->assertSame(ErrorCode::TLS_ON_PLAINTEXT_PORT, $e->getCode());
            $this->assertStringContainsString('Security "TLS from the first byte"', $e->getHint());
            $this->assertStringContainsString('Port 587', $e->getHint());
            $this->assertStringNotContainsString("security: '", $e->getHint());
        }
        $this->assertSame([], $server->messages());
    }

    public function testAnUnknownBindingIsRefusedAndChangesNothing(): void
    {
        $server = $this->server(['--mode', 'tls']);
        $config = new Config(host: $server->host, port: $server->port, security: 'tls', connectTimeoutMs: 5000, sendTimeoutMs: 5000);
        try {
            $config->setBinding('joomla');
            $this->fail('joomla is no binding the library knows');
        } catch (InvalidArgumentException $e) {
            $this->assertSame(ErrorCode::INVALID_ARGUMENT, $e->getCode());
            $this->assertStringContainsString('"joomla"', $e->getErrorMessage());
            $this->assertStringContainsString('"wordpress"', $e->getErrorMessage());
        }
        try {
            (new Client($config))->send($this->message());
            $this->fail('the certificate is not trusted');
        } catch (CertificateException $e) {
            $this->assertStringContainsString('caFile', $e->getHint(), 'still the PHP names');
        }
    }

    public function testNulBytesAreRefusedNamingTheParameter(): void
    {
        $cases = [
            'subject' => static fn () => (new Message())->setSubject("Hello\0World"),
            'to' => static fn () => (new Message())->addTo("bob@example.org\0evil@example.org"),
            'to[1]' => static fn () => (new Message())->addTo(['a@example.org', "b@example.org\0"]),
            'name' => static fn () => (new Message())->addHeader("X-A\0", 'v'),
            'value' => static fn () => (new Message())->addHeader('X-A', "v\0"),
            'filename' => static fn () => (new Message())->attachBytes("a\0.txt", 'x'),
            'host' => static fn () => new Config(host: "smtp.example.com\0.evil"),
            'password' => static fn () => new Config(host: 'h', username: 'u', password: "p\0q"),
            'url' => static fn () => Config::fromUrl("smtp://h\0ost"),
        ];
        foreach ($cases as $parameter => $call) {
            try {
                $call();
                $this->fail("a NUL in $parameter must be refused");
            } catch (InvalidArgumentException $e) {
                $this->assertInstanceOf(\InvalidArgumentException::class, $e);
                $this->assertInstanceOf(ExceptionInterface::class, $e);
                $this->assertSame(ErrorCode::INVALID_ARGUMENT, $e->getCode());
                $this->assertStringStartsWith("$parameter contains a NUL byte at byte ", $e->getMessage());
            }
        }
    }

    public function testNulInARawRecipientIsRefused(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $client = new Client($this->configFor($server, 'none'));
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('recipients[1] contains a NUL byte at byte 1');
        $client->sendRaw('a@example.test', ['b@example.org', "c\0@example.org"], "Subject: x\r\n\r\nx\r\n");
    }

    /** smtp://user:password without "@host" puts the password where the port goes (issue 12.4). */
    public function testAUrlWithoutItsHostNeverEchoesThePassword(): void
    {
        foreach (['smtp://me:hunter2', 'smtps://me:hunter2/', 'smtp://me:0123'] as $url) {
            try {
                Config::fromUrl($url);
                $this->fail("$url was accepted");
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('smtp://user:password@host:port', $e->getMessage());
                foreach ([$e->getMessage(), $e->getHint()] as $text) {
                    $this->assertStringNotContainsString('hunter2', $text);
                    $this->assertStringNotContainsString('0123', $text);
                }
            }
        }
    }

    /**
     * ESMTP parameters smuggled after a quoted local part (issue 12.3): "ends with
     * @victim.example" holds, but the server would read NOTIFY, ORCPT, RET and ENVID.
     */
    public function testSmtpParametersInARawEnvelopeAreRefused(): void
    {
        $server = $this->server(['--mode', 'plain']);
        $client = new Client($this->configFor($server, 'none'));
        $data = "Subject: x\r\n\r\nx\r\n";
        foreach ([
            'recipient 1' => ['a@example.test', ['"a"@evil.example> NOTIFY=NEVER ORCPT=rfc822;x"@victim.example']],
            'envelope sender' => ['"a"@evil.example> RET=FULL ENVID=x"@victim.example', ['b@victim.example']],
        ] as $field => [$from, $to]) {
            try {
                $client->sendRaw($from, $to, $data);
                $this->fail("$field: smuggled parameters were accepted");
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString($field, $e->getMessage());
                $this->assertStringContainsString('local part', $e->getMessage());
            }
        }
        $client->sendRaw('a@example.test', ['"odd local"@victim.example'], $data);
        $this->assertSame(['"odd local"@victim.example'], $server->onlyMessage()['rcpt_tos']);
    }

    public function testNumbersThatWouldWrapAreRefused(): void
    {
        foreach ([
            'connectTimeoutMs' => static fn () => (new Config())->setConnectTimeoutMs(-1),
            'port' => static fn () => (new Config())->setPort(1 << 33),
        ] as $parameter => $call) {
            try {
                $call();
                $this->fail("$parameter out of range must be refused");
            } catch (InvalidArgumentException $e) {
                $this->assertStringStartsWith("$parameter must be between 0 and", $e->getMessage());
            }
        }
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessageMatches('/port/');
        (new Config())->setPort(70000);
    }

    public function testConfigOptionsMustBeKnownAndNamed(): void
    {
        try {
            Config::fromUrl('smtp://localhost', connectTimeout: 5);
            $this->fail('connectTimeout is not an option (connectTimeoutMs is)');
        } catch (InvalidArgumentException $e) {
            $this->assertSame('unknown Config option "connectTimeout"', $e->getMessage());
        }
        try {
            new Config(host: 'localhost', password: 'secret');
            $this->fail('a password without a user name');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('no user name', $e->getMessage());
            $this->assertStringNotContainsString('secret', $e->getMessage());
        }
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('port must be a number or "auto"');
        new Config(host: 'localhost', port: 'submission');
    }

    public function testArgumentErrorsFromTheLibrary(): void
    {
        try {
            new Config(host: 'h', security: 'ssl');
            $this->fail('unknown security');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('starttls', $e->getMessage());
        }
        try {
            Config::fromUrl('ftp://example.com');
            $this->fail('unknown scheme');
        } catch (InvalidArgumentException $e) {
            $this->assertSame('MAILPORT_ERR_INVALID_ARGUMENT', $e->getName());
            $this->assertStringContainsString('ftp', $e->getMessage());
        }
        try {
            (new Message())->setSubject("two\r\nlines");
            $this->fail('a line break in a header');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('line break', $e->getMessage());
        }
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('host is not set');
        new Client(new Config());
    }

    public function testEveryFailureCarriesItsOwnErrorThroughTheSharedErrorSlot(): void
    {
        // Every fallible call hands the library the same error out-parameter (Native::errorOut()):
        // failures and successes in turn must each report their own error, never a stale one.
        $message = new Message();
        $failures = [
            'From' => static fn () => $message->setFrom('not an address'),
            'line break' => static fn () => $message->setSubject("two\r\nlines"),
            'Cc' => static fn () => $message->addCc('no-at-sign'),
            'To' => static fn () => $message->addTo(['ok@example.org', 'bad@']),
            'X-A' => static fn () => $message->addHeader('X-A', "v\r\nBcc: evil@example.org"),
        ];
        for ($round = 0; $round < 2; $round++) {
            foreach ($failures as $expected => $fail) {
                try {
                    $fail();
                    $this->fail("$expected must fail");
                } catch (InvalidArgumentException $e) {
                    $this->assertStringContainsString($expected, $e->getMessage());
                }
                // A success in between throws nothing, whatever the previous call left behind.
                $message->setSubject("after $expected")->setText('body');
            }
        }
        $this->assertStringContainsString('Subject: after X-A', $message->setFrom(self::FROM)->addTo(self::TO)->render());
    }

    public function testAnUnknownSecurityCodeIsRefused(): void
    {
        $this->assertSame(\Mailport\Security::NONE, \Mailport\Security::fromCode(4));
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('security code 9 is not a mailport_security value');
        \Mailport\Security::fromCode(9);
    }

    public function testCodesMapToClasses(): void
    {
        $classes = \Mailport\Exception\ExceptionFactory::CLASSES;
        foreach (ErrorCode::all() as $name => $code) {
            if ($code === ErrorCode::OK) {
                $this->assertArrayNotHasKey($code, $classes);
                continue;
            }
            $this->assertArrayHasKey($code, $classes, "no exception class for $name");
            $exception = \Mailport\Exception\ExceptionFactory::create(new \Mailport\Exception\ErrorInfo($code, 'm', 'h'));
            $this->assertInstanceOf(ExceptionInterface::class, $exception);
            $this->assertSame($code, $exception->getCode());
            $this->assertSame("m\nhint: h", $exception->getMessage());
            $this->assertSame(
                in_array($code, [1, 2, 100], true),
                $exception instanceof \InvalidArgumentException,
                "$name: argument errors, and only they, are \\InvalidArgumentException",
            );
        }
        $this->assertInstanceOf(MailportException::class, \Mailport\Exception\ExceptionFactory::create(new \Mailport\Exception\ErrorInfo(150, 'x')));
    }
}

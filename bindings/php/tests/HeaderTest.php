<?php

declare(strict_types=1);

namespace Mailport\Tests;

use Mailport\AddressField;
use Mailport\ErrorCode;
use Mailport\Mailport;
use Mailport\Native;
use Mailport\OutboxEventKind;
use Mailport\OutboxState;
use Mailport\Security;
use Mailport\Tests\Support\Paths;
use Mailport\WpValue;
use PHPUnit\Framework\TestCase;

/**
 * include/mailport_ffi.h is loadable by PHP's FFI::cdef as it is, and the binding's constants and
 * calls agree with it.
 */
final class HeaderTest extends TestCase
{
    private static function header(): string
    {
        return (string) file_get_contents(Paths::repo() . '/include/mailport_ffi.h');
    }

    private static function cdef(): \FFI
    {
        return \FFI::cdef(self::header(), (string) getenv('MAILPORT_LIBRARY'));
    }

    public function testTheHeaderLoadsWithFfiCdefAsItIs(): void
    {
        $this->assertDoesNotMatchRegularExpression('/^\s*#/m', self::header(), 'FFI::cdef has no preprocessor');
        $ffi = self::cdef();
        $this->assertSame(Native::ABI_VERSION, $ffi->mailport_abi_version());
        $this->assertMatchesRegularExpression('#^mailport/\d+\.\d+\.\d+ #', $ffi->mailport_version());
        $this->assertSame($ffi->mailport_version(), Mailport::version());
        $this->assertSame(Native::ABI_VERSION, Mailport::abiVersion());
        // A round trip through a handle, out-parameters and an error object, on the raw FFI.
        $config = $ffi->new('mailport_config*');
        $error = $ffi->new('mailport_error*');
        $this->assertSame(2, $ffi->mailport_config_from_url('nope://x', \FFI::addr($config), \FFI::addr($error)));
        $this->assertTrue(\FFI::isNull($config));
        $this->assertStringContainsString('nope', $ffi->mailport_error_message($error));
        $ffi->mailport_error_free($error);
    }

    public function testTheMailportHeaderDeclaresTheSameAbi(): void
    {
        $this->assertMatchesRegularExpression(
            '/^#define MAILPORT_ABI_VERSION ' . Native::ABI_VERSION . '$/m',
            (string) file_get_contents(Paths::repo() . '/include/mailport.h'),
        );
    }

    public function testErrorCodesMatchTheHeader(): void
    {
        $ffi = self::cdef();
        preg_match_all('/^\s+(MAILPORT_(?:OK|ERR_\w+)) = (\d+),$/m', self::header(), $m, PREG_SET_ORDER);
        $fromHeader = [];
        foreach ($m as [, $name, $value]) {
            $fromHeader[$name === 'MAILPORT_OK' ? 'OK' : substr($name, strlen('MAILPORT_ERR_'))] = (int) $value;
        }
        $this->assertGreaterThan(30, count($fromHeader));
        $this->assertSame($fromHeader, ErrorCode::all(), 'ErrorCode has exactly the codes of mailport_result');
        foreach (ErrorCode::all() as $short => $code) {
            $cname = ErrorCode::name($code);
            $this->assertSame($code, $ffi->$cname, "FFI's $cname");
            $this->assertSame($cname, $ffi->mailport_result_name($code));
            $this->assertNotSame('', ErrorCode::describe($code));
        }
        $this->assertSame('MAILPORT_ERR_UNKNOWN', ErrorCode::name(150));
        $this->assertSame($ffi->mailport_result_name(150), ErrorCode::name(150));
    }

    public function testEnumsMatchTheHeader(): void
    {
        $ffi = self::cdef();
        foreach (Security::cases() as $security) {
            $cname = 'MAILPORT_SECURITY_' . $security->name;
            $this->assertSame($security->code(), $ffi->$cname, $cname);
            $this->assertSame($security, Security::fromCode($ffi->$cname));
        }
        $this->assertSame(5, preg_match_all('/MAILPORT_SECURITY_\w+ =/', self::header()));
        $names = [WpValue::FROM_EMAIL->value => 'MAILPORT_WP_FROM_EMAIL', WpValue::FROM_NAME->value => 'MAILPORT_WP_FROM_NAME',
            WpValue::CONTENT_TYPE->value => 'MAILPORT_WP_CONTENT_TYPE', WpValue::CHARSET->value => 'MAILPORT_WP_CHARSET'];
        foreach (WpValue::cases() as $value) {
            $this->assertSame($value->value, $ffi->{$names[$value->value]});
        }
        $this->assertSame(4, preg_match_all('/MAILPORT_WP_\w+ =/', self::header()));
        $this->assertSame(1, $ffi->MAILPORT_PROBE_SKIP_AUTH, 'Mailport::probe(skipAuth:)');
        $this->assertSame(2, $ffi->MAILPORT_PROBE_ALLOW_RELAY, 'Mailport::probe(allowRelay:)');
        $this->assertSame(0, $ffi->MAILPORT_PORT_AUTO, 'Config port "auto"');
        $fields = ['MAILPORT_FIELD_TO' => AddressField::TO->value, 'MAILPORT_FIELD_CC' => AddressField::CC->value,
            'MAILPORT_FIELD_BCC' => AddressField::BCC->value, 'MAILPORT_FIELD_REPLY_TO' => AddressField::REPLY_TO->value];
        foreach ($fields as $cname => $value) {
            $this->assertSame($value, $ffi->$cname, $cname);
        }
        $this->assertSame(4, preg_match_all('/MAILPORT_FIELD_\w+ =/', self::header()));
        foreach (OutboxState::cases() as $state) {
            $cname = 'MAILPORT_OUTBOX_STATE_' . $state->name;
            $this->assertSame($state->code(), $ffi->$cname, $cname);
            $this->assertSame($state, OutboxState::fromCode($ffi->$cname));
        }
        $this->assertSame(count(OutboxState::cases()), preg_match_all('/MAILPORT_OUTBOX_STATE_\w+ =/', self::header()));
        foreach (OutboxEventKind::cases() as $kind) {
            $cname = 'MAILPORT_OUTBOX_EVENT_' . $kind->name;
            $this->assertSame($kind->code(), $ffi->$cname, $cname);
        }
        $this->assertSame(count(OutboxEventKind::cases()), preg_match_all('/MAILPORT_OUTBOX_EVENT_\w+ =/', self::header()));
        $this->assertSame(31, $ffi->MAILPORT_OUTBOX_ID_SIZE, 'Native::enqueue reads it');
    }

    public function testEveryFunctionTheBindingCallsIsDeclared(): void
    {
        preg_match_all('/^[^(\n]*?\b(mailport_\w+)\(/m', self::header(), $m);
        $declared = array_unique($m[1]);
        $used = [];
        foreach (new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator(Paths::package() . '/src')) as $file) {
            if (str_ends_with((string) $file, '.php')) {
                preg_match_all("/'(mailport_[a-z0-9_]+)'/", (string) file_get_contents((string) $file), $calls);
                array_push($used, ...$calls[1]);
                preg_match_all('/->(mailport_[a-z0-9_]+)\(/', (string) file_get_contents((string) $file), $calls);
                array_push($used, ...$calls[1]);
            }
        }
        $used = array_values(array_unique(array_filter(
            $used,
            // Type names passed to callOut(), not functions.
            static fn (string $f): bool => !in_array($f, [
                'mailport_client', 'mailport_config', 'mailport_message', 'mailport_receipt', 'mailport_report',
                'mailport_outbox', 'mailport_outbox_record', 'mailport_outbox_records', 'mailport_outbox_summary',
                'mailport_bytes',
            ], true),
        )));
        $this->assertSame([], array_values(array_diff($used, $declared)), 'called but not declared');
        // Everything is wrapped except the log and outbox event callbacks (PHP callbacks across
        // FFI leak and are slow: the transcript, and the run summary's events, replace them), the
        // buffer form of the transcript (the _copy form is used), mailport_result_name
        // (ErrorCode::name() has the names without loading the library, checked against it above),
        // and rendering to a file descriptor (PHP streams expose none; renderTo() uses the callback).
        $this->assertEqualsCanonicalizing(
            ['mailport_config_set_log_callback', 'mailport_outbox_set_event_callback', 'mailport_client_transcript', 'mailport_result_name',
                'mailport_message_render_to_fd'],
            array_values(array_diff($declared, $used)),
        );
    }

    /**
     * The one deliberate difference between mailport_ffi.h and what the binding declares to FFI:
     * mailport_message_render's `buf` is `char *` (so PHP's FFI passes a string's own bytes, and
     * render() fills its result in place) where the header says `uint8_t *`, the same byte
     * pointer to the ABI. Anything else the header says reaches FFI unchanged.
     */
    public function testTheBindingDeclaresOnlyRendersBufferDifferently(): void
    {
        $header = self::header();
        $binding = Native::bindingDeclarations($header);
        $this->assertNotSame($header, $binding, 'the declaration to change was not found: render() would copy');
        $headerLines = explode("\n", $header);
        $bindingLines = explode("\n", $binding);
        $this->assertCount(count($headerLines), $bindingLines);
        $changed = array_keys(array_diff_assoc($headerLines, $bindingLines));
        $this->assertCount(1, $changed);
        $line = $changed[0];
        $this->assertSame('uint8_t *buf,', trim($headerLines[$line]));
        $this->assertSame('char *buf,', trim($bindingLines[$line]));
        $this->assertStringContainsString('mailport_message_render(', $headerLines[$line - 1]);
        // Both are one-byte types: the pointer is the same to the ABI.
        $ffi = \FFI::cdef($binding, (string) getenv('MAILPORT_LIBRARY'));
        $this->assertSame(\FFI::sizeof($ffi->type('uint8_t')), \FFI::sizeof($ffi->type('char')));
        $this->assertSame(Native::ABI_VERSION, $ffi->mailport_abi_version());
        // And the scope header that preload writes carries the same declarations.
        $this->assertStringEndsWith($binding, Native::scopeHeader('/nowhere/libmailport.so.1'));
    }
}

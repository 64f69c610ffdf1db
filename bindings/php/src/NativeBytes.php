<?php

declare(strict_types=1);

namespace Mailport;

use FFI\CData;
use Mailport\Exception\ErrorInfo;
use Mailport\Exception\ExceptionFactory;

/**
 * Native's calls that bring bytes back from the library: copy-out buffers, owned byte buffers
 * and render() filling a PHP string in place. Apart from Native to keep each file short; the
 * same rules hold (errors through Native::errorOut() and Native::check(), preloaded with the
 * rest of src/ by preload.php, so FFI's static methods are allowed here under
 * ffi.enable=preload).
 *
 * @internal
 */
final class NativeBytes
{
    private function __construct()
    {
    }

    /**
     * Call a copy-out function `(..., buf, len, size_t *out_n, error_out)` until its whole output
     * fits: a sizing call with NULL and 0, then a buffer of the reported size, again while
     * MAILPORT_ERR_BUFFER_TOO_SMALL comes back (a rendered Date may change length between the
     * calls). Text (`$nul`) goes into a `char *` buffer with room for its NUL, bytes into a
     * `uint8_t *` one.
     *
     * @param list<mixed> $args the arguments before the buffer
     */
    public static function copyOut(string $function, array $args, bool $nul): string
    {
        $ffi = Native::ffi();
        $needed = $ffi->new('size_t');
        $type = $nul ? 'char' : 'uint8_t';
        $size = 0;
        for ($attempt = 0; $attempt < 5; $attempt++) {
            $buf = $size > 0 ? $ffi->new("{$type}[$size]", false, true) : null;
            try {
                if (self::fits($function, $args, $buf, $size, $needed)) {
                    return $buf === null ? '' : \FFI::string($buf, (int) $needed->cdata);
                }
                $size = (int) $needed->cdata + ($nul ? 1 : 0);
            } finally {
                if ($buf !== null) {
                    \FFI::free($buf);
                }
            }
        }
        throw ExceptionFactory::create(new ErrorInfo(ErrorCode::BUFFER_TOO_SMALL, "the output of $function kept changing size"));
    }

    /**
     * One call of a copy-out function into `$buf` of `$size` bytes (NULL and 0 to size): true
     * when the output fit, false when MAILPORT_ERR_BUFFER_TOO_SMALL came back; either way
     * `$needed` holds the output's length. Any other error is thrown.
     *
     * @param list<mixed> $args the arguments before the buffer
     */
    private static function fits(string $function, array $args, CData|string|null $buf, int $size, CData $needed): bool
    {
        $call = [...$args, $buf, $size, \FFI::addr($needed), Native::errorOut()];
        $rc = (int) Native::ffi()->$function(...$call);
        if ($rc === ErrorCode::OK) {
            return true;
        }
        if ($rc !== ErrorCode::BUFFER_TOO_SMALL) {
            Native::check($rc);
        }
        Native::discardError();
        return false;
    }

    /** Whether the loaded declaration of mailport_message_render takes a PHP string; see render(). */
    private static ?bool $renderInPlace = null;

    /**
     * The message's bytes (mailport_message_render) rendered once, straight into the PHP string
     * returned: a sizing call (NULL, 0: attachments are measured, not read), a fresh string of
     * that size, and the filling call writing into the string's own buffer. Peak memory is the
     * output and the encoder's chunks, against twice the output for render_bytes + FFI::string.
     *
     * Writing into a PHP string is safe here, though PHP strings are otherwise immutable, because
     * this one is nobody else's: str_repeat() with a length known only at run time makes a new,
     * non-interned string (never a shared constant, as a literal or a one-byte string may be),
     * referenced only by $out, whose hash was never computed, and the library fills it before
     * anything reads it. The filler byte is 0xFF, not valid UTF-8, so the string cannot carry a
     * cached "valid UTF-8" flag (PHP 8.3 and later) that the message bytes might then belie.
     *
     * Falls back to render_bytes + FFI::string (one copy) when the declaration in use takes no
     * string (a header of another text, or a preloaded scope from an older binding), and when
     * the message grew between the two calls (an attachment file changed: BUFFER_TOO_SMALL).
     *
     * @internal
     */
    public static function render(CData $message): string
    {
        $ffi = Native::ffi();
        if (self::$renderInPlace ??= self::rendersInPlace($ffi)) {
            $needed = $ffi->new('size_t');
            // The sizing call fits only an empty rendering, which the fallback below takes.
            self::fits('mailport_message_render', [$message], null, 0, $needed);
            $n = (int) $needed->cdata;
            if ($n > 1) {
                $out = str_repeat("\xFF", $n);
                if (self::fits('mailport_message_render', [$message], $out, $n, $needed)) {
                    $written = (int) $needed->cdata;
                    // Shorter when an attached file shrank in between: rare, and then one copy.
                    return $written === $n ? $out : substr($out, 0, $written);
                }
            }
        }
        return self::takeBytes(Native::callOut('mailport_message_render_bytes', 'mailport_bytes', $message));
    }

    /**
     * Whether mailport_message_render, as declared to the loaded FFI, accepts a PHP string for
     * `buf` (see bindingDeclarations()). Asked once per request with a NULL message, which the
     * library refuses before it looks at the buffer: FFI itself refuses a string for a
     * `uint8_t *` before the call.
     */
    private static function rendersInPlace(\FFI $ffi): bool
    {
        try {
            $ffi->mailport_message_render(null, '', 0, null, null);
            return true;
        } catch (\FFI\Exception) {
            return false;
        }
    }

    /**
     * A `mailport_bytes*` as one PHP string, then freed: FFI::string is the single copy (a zend
     * string must own its storage), and the native buffer is released before this returns.
     */
    public static function takeBytes(CData $bytes): string
    {
        $ffi = Native::ffi();
        try {
            $len = (int) $ffi->mailport_bytes_len($bytes);
            return $len === 0 ? '' : \FFI::string($ffi->mailport_bytes_data($bytes), $len);
        } finally {
            $ffi->mailport_bytes_free($bytes);
        }
    }
}

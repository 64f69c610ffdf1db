<?php

declare(strict_types=1);

namespace Mailport;

use Mailport\Exception\ErrorInfo;
use Mailport\Exception\ExceptionFactory;

/**
 * An email message (C: `mailport_message`): addresses, subject, text and HTML bodies,
 * attachments, inline images, extra headers. Setters return $this and check their value at once:
 * a bad address fails in addTo(), a line break in a header in addHeader(), never later.
 *
 *     $message = (new Message())
 *         ->setFrom('Alice <alice@example.com>')
 *         ->addTo('"Doe, Bob" <bob@example.org>')
 *         ->setSubject('Quarterly report')
 *         ->setText('The report is attached.')
 *         ->attachFile('/srv/reports/q3.pdf');
 *
 * A message can be sent any number of times; copy() makes an independent variant (clone is not
 * allowed: the C object is not reference-counted). *
 * The setters every message goes through (setFrom, addTo/Cc/Bcc/ReplyTo, setSubject, setText,
 * setHtml) call FFI directly with Native::errorOut() and Native::check() instead of
 * Native::call(): its variadic packing and unpacking cost about as much as the foreign call.
 */
final class Message extends Handle
{
    public function __construct()
    {
        $pointer = Native::ffi()->mailport_message_new();
        if (Native::isNull($pointer)) {
            throw ExceptionFactory::create(new ErrorInfo(ErrorCode::PANIC, 'mailport_message_new failed'));
        }
        $this->adopt($pointer);
    }

    /**
     * Wrap a message made by C (mailport_wp_mail_build, mailport_message_clone).
     *
     * @internal
     */
    public static function fromHandle(\FFI\CData $pointer): self
    {
        $message = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $message->adopt($pointer);
        return $message;
    }

    protected static function freeFunction(): string
    {
        return 'mailport_message_free';
    }

    /** An independent copy (mailport_message_clone): changing one does not affect the other. */
    public function copy(): self
    {
        return self::fromHandle(Native::callOut('mailport_message_clone', 'mailport_message', $this->handle()));
    }

    /** The author: "a@example.org", "Name <a@example.org>" or "\"Last, First\" <a@example.org>". */
    public function setFrom(string $mailbox): static
    {
        Native::check(Native::ffi()->mailport_message_set_from($this->handle(), Native::str($mailbox, 'from'), Native::errorOut()));
        return $this;
    }

    /** The author from a display name (any characters, no quoting needed) and a bare address. */
    public function setFromParts(?string $name, string $address): static
    {
        Native::call(
            'mailport_message_set_from_parts',
            $this->handle(),
            Native::str($name, 'name'),
            Native::str($address, 'address'),
        );
        return $this;
    }

    /** The Sender header: who sent the message on the author's behalf. */
    public function setSender(string $mailbox): static
    {
        Native::call('mailport_message_set_sender', $this->handle(), Native::str($mailbox, 'sender'));
        return $this;
    }

    /**
     * Add Reply-To addresses: one mailbox, a comma-separated list, or an array of either; or, with
     * $name, one bare address and its display name (see addTo()).
     *
     * @param string|list<string> $mailboxes
     */
    public function addReplyTo(string|array $mailboxes, ?string $name = null): static
    {
        return $this->addList('mailport_message_add_reply_to', AddressField::REPLY_TO, $mailboxes, $name, 'replyTo');
    }

    /**
     * Add To recipients: one mailbox, a comma-separated list ("a@x, \"Doe, J\" <j@x>"), or an array.
     * If any entry is invalid none is added, and InvalidAddressException lists every bad one.
     *
     * With $name, as PHPMailer's addAddress($address, $name): one bare address and its display
     * name, which needs no quoting (commas, quotes and any Unicode are fine).
     *
     * @param string|list<string> $mailboxes
     */
    public function addTo(string|array $mailboxes, ?string $name = null): static
    {
        return $this->addList('mailport_message_add_to', AddressField::TO, $mailboxes, $name, 'to');
    }

    /** @param string|list<string> $mailboxes */
    public function addCc(string|array $mailboxes, ?string $name = null): static
    {
        return $this->addList('mailport_message_add_cc', AddressField::CC, $mailboxes, $name, 'cc');
    }

    /** Bcc recipients get the message but appear in no header. @param string|list<string> $mailboxes */
    public function addBcc(string|array $mailboxes, ?string $name = null): static
    {
        return $this->addList('mailport_message_add_bcc', AddressField::BCC, $mailboxes, $name, 'bcc');
    }

    /** @param string|list<string> $mailboxes */
    private function addList(string $function, AddressField $field, string|array $mailboxes, ?string $display, string $name): static
    {
        if ($display !== null) {
            if (!is_string($mailboxes)) {
                throw ExceptionFactory::argument("$name: with a display name, give one address, not a list");
            }
            Native::call(
                'mailport_message_add_mailbox_parts',
                $this->handle(),
                $field->value,
                Native::str($display === '' ? null : $display, "$name name"),
                Native::str($mailboxes, $name),
            );
            return $this;
        }
        if (is_array($mailboxes)) {
            foreach (array_values($mailboxes) as $i => $mailbox) {
                if (!is_string($mailbox)) {
                    throw ExceptionFactory::argument("{$name}[$i] must be a string");
                }
                Native::str($mailbox, "{$name}[$i]");
            }
            // One call with the whole list: all or nothing, and every invalid entry reported at once.
            $mailboxes = implode(', ', $mailboxes);
        }
        Native::check(Native::ffi()->$function($this->handle(), Native::str($mailboxes, $name), Native::errorOut()));
        return $this;
    }

    /** The envelope sender (MAIL FROM, where bounces go) when it differs from From; "" is "<>". */
    public function setEnvelopeFrom(string $address): static
    {
        Native::call('mailport_message_set_envelope_from', $this->handle(), Native::str($address, 'envelopeFrom'));
        return $this;
    }

    public function setSubject(string $subject): static
    {
        Native::check(Native::ffi()->mailport_message_set_subject($this->handle(), Native::str($subject, 'subject'), Native::errorOut()));
        return $this;
    }

    /** The Date header (default: the time of sending). */
    public function setDate(int|\DateTimeInterface $date): static
    {
        $seconds = $date instanceof \DateTimeInterface ? $date->getTimestamp() : $date;
        Native::call('mailport_message_set_date', $this->handle(), $seconds);
        return $this;
    }

    /** "<unique@domain>" (brackets optional); default: a random one on the From domain per send. */
    public function setMessageId(string $id): static
    {
        Native::call('mailport_message_set_message_id', $this->handle(), Native::str($id, 'messageId'));
        return $this;
    }

    /** Add a header of your own (X-Campaign, List-Unsubscribe, In-Reply-To, ...). */
    public function addHeader(string $name, string $value): static
    {
        Native::call(
            'mailport_message_add_header',
            $this->handle(),
            Native::str($name, 'name'),
            Native::str($value, 'value'),
        );
        return $this;
    }

    /** Remove the headers added under $name (any case); returns how many were removed. */
    public function removeHeader(string $name): int
    {
        return (int) Native::invoke('mailport_message_remove_header', $this->handle(), Native::str($name, 'name'));
    }

    /** The plain-text body (with an HTML body too: multipart/alternative). */
    public function setText(string $text): static
    {
        Native::check(Native::ffi()->mailport_message_set_text($this->handle(), Native::str($text, 'text'), Native::errorOut()));
        return $this;
    }

    /** A text body of another text type ("text/calendar", "text/markdown") instead of text/plain. */
    public function setTextAs(string $mediaType, string $text): static
    {
        Native::call(
            'mailport_message_set_text_as',
            $this->handle(),
            Native::str($mediaType, 'mediaType'),
            Native::str($text, 'text'),
        );
        return $this;
    }

    /** The HTML body; inline images as <img src="cid:ID"> come from embedFile()/embedBytes(). */
    public function setHtml(string $html): static
    {
        Native::check(Native::ffi()->mailport_message_set_html($this->handle(), Native::str($html, 'html'), Native::errorOut()));
        return $this;
    }

    /** A body already in MIME form, sent as is under $contentType (replaces text and HTML). */
    public function setMimeBody(string $contentType, string $body): static
    {
        Native::callWithBytes(
            'mailport_message_set_mime_body',
            [$this->handle(), Native::str($contentType, 'contentType')],
            $body,
        );
        return $this;
    }

    /** "UTF-8" (default), "US-ASCII" or "ISO-8859-1": the charset text and HTML are sent in. */
    public function setCharset(string $label): static
    {
        Native::call('mailport_message_set_charset', $this->handle(), Native::str($label, 'charset'));
        return $this;
    }

    /**
     * Attach a file by path: checked now, read in chunks while sending (its size does not matter).
     * $filename defaults to the file's own name, $contentType is guessed from the extension.
     */
    public function attachFile(string $path, ?string $filename = null, ?string $contentType = null): static
    {
        Native::call(
            'mailport_message_attach_file',
            $this->handle(),
            Native::str($path, 'path'),
            Native::str($filename, 'filename'),
            Native::str($contentType, 'contentType'),
        );
        return $this;
    }

    /** Attach bytes held in memory under $filename. */
    public function attachBytes(string $filename, string $data, ?string $contentType = null): static
    {
        Native::callWithBytes(
            'mailport_message_attach_bytes',
            [$this->handle(), Native::str($filename, 'filename'), Native::str($contentType, 'contentType')],
            $data,
        );
        return $this;
    }

    /** Add a file the HTML shows inline as <img src="cid:$contentId">. */
    public function embedFile(string $contentId, string $path, ?string $contentType = null): static
    {
        Native::call(
            'mailport_message_embed_file',
            $this->handle(),
            Native::str($contentId, 'contentId'),
            Native::str($path, 'path'),
            Native::str($contentType, 'contentType'),
        );
        return $this;
    }

    /** Add bytes the HTML shows inline as <img src="cid:$contentId">. */
    public function embedBytes(string $contentId, string $filename, string $data, ?string $contentType = null): static
    {
        Native::callWithBytes(
            'mailport_message_embed_bytes',
            [
                $this->handle(),
                Native::str($contentId, 'contentId'),
                Native::str($filename, 'filename'),
                Native::str($contentType, 'contentType'),
            ],
            $data,
        );
        return $this;
    }

    /**
     * The RFC 5322 bytes (CRLF line endings, no Bcc), as sent to a server without SMTPUTF8.
     *
     * Rendered once by the library straight into the PHP string returned (its size is asked
     * first: attachments are measured, not read), so memory peaks at about the message's size.
     * To write a large message to a file or a stream, renderTo() keeps memory bounded.
     */
    public function render(): string
    {
        return NativeBytes::render($this->handle());
    }

    /**
     * Write the message (the bytes render() gives) to $target and return how many bytes were
     * written, in bounded memory whatever the attachments' size (they are read and encoded a
     * piece at a time).
     *
     * $target is a writable stream resource (fopen($path, 'wb'), php://output, a socket, a
     * php://temp buffer), written from its current position and left open, or a path, created
     * or truncated and closed again. The library hands the message over in pieces of at most
     * about 80 KB through one FFI callback per call (PHP keeps an FFI closure until the end of
     * the request: one per renderTo() call), and each piece is fwrite()n.
     *
     * @param resource|string $target
     * @throws Exception\NetworkException when a write fails (the message names the stream and PHP's
     *         error, such as "No space left on device"), or an attachment cannot be read
     * @throws Exception\InvalidArgumentException for a path that cannot be opened, or a stream opened
     *         read-only
     */
    public function renderTo(mixed $target): int
    {
        if (is_string($target)) {
            $stream = @fopen($target, 'wb');
            if ($stream === false) {
                throw ExceptionFactory::create(new ErrorInfo(
                    ErrorCode::INVALID_ARGUMENT,
                    sprintf('renderTo: cannot open %s for writing: %s', $target, error_get_last()['message'] ?? 'unknown error'),
                    'check that the directory exists and this process may write there',
                ));
            }
            try {
                return $this->renderTo($stream);
            } finally {
                fclose($stream);
            }
        }
        if (!is_resource($target) || get_resource_type($target) !== 'stream') {
            throw ExceptionFactory::create(new ErrorInfo(
                ErrorCode::INVALID_ARGUMENT,
                sprintf('renderTo needs a writable stream resource or a path, not %s', get_debug_type($target)),
            ));
        }
        $mode = stream_get_meta_data($target)['mode'];
        if (strpbrk($mode, 'waxc+') === false) {
            throw ExceptionFactory::create(new ErrorInfo(
                ErrorCode::INVALID_ARGUMENT,
                "renderTo: the stream was opened read-only (mode '$mode'); open it with 'wb'",
            ));
        }
        return self::streamTo($this->handle(), $target);
    }

    /**
     * mailport_message_render_to_callback with each piece fwrite()n to $stream. A failed or
     * stalled fwrite, or a Throwable in the callback (a user stream wrapper's), stops the
     * rendering (the callback returns 1: nothing is thrown through the library's frames) and is
     * reported here: the Throwable itself, or a NetworkException with PHP's own error text
     * (e.g. "errno=28 No space left on device") whose previous exception is the library's.
     *
     * @param resource $stream
     */
    private static function streamTo(\FFI\CData $message, $stream): int
    {
        $failure = null;
        $callback = static function ($userData, $data, $len) use ($stream, &$failure): int {
            try {
                $piece = \FFI::string($data, $len);
                while ($piece !== '') {
                    $n = @fwrite($stream, $piece);
                    if ($n === false || $n === 0) {
                        $failure = error_get_last()['message'] ?? 'fwrite() wrote nothing';
                        return 1;
                    }
                    $piece = substr($piece, $n);
                }
                return 0;
            } catch (\Throwable $e) {
                $failure = $e;
                return 1;
            }
        };
        $written = Native::ffi()->new('uint64_t');
        try {
            Native::call('mailport_message_render_to_callback', $message, $callback, null, \FFI::addr($written));
        } catch (Exception\ExceptionInterface $error) {
            if ($failure instanceof \Throwable) {
                throw $failure;
            }
            if (is_string($failure)) {
                throw new Exception\NetworkException(new ErrorInfo(
                    ErrorCode::IO,
                    sprintf('writing the message to the stream %s failed after %d bytes: %s', self::streamName($stream), (int) $written->cdata, $failure),
                    'check that the disk is not full and that the stream is still open for writing',
                ), $error);
            }
            throw $error;
        }
        $count = (int) $written->cdata;
        if (!@fflush($stream)) {
            throw ExceptionFactory::create(new ErrorInfo(
                ErrorCode::IO,
                sprintf('flushing the stream %s failed after %d bytes: %s', self::streamName($stream), $count, error_get_last()['message'] ?? 'fflush() failed'),
            ));
        }
        return $count;
    }

    /** The stream in an error message: its URI when it has one, else its resource id. */
    private static function streamName($stream): string
    {
        $uri = stream_get_meta_data($stream)['uri'] ?? '';
        return $uri !== '' ? $uri : '#' . (int) $stream;
    }
}

<?php

declare(strict_types=1);

namespace Mailport;

use Mailport\Exception\ErrorInfo;
use Mailport\Exception\ExceptionFactory;

/**
 * One wp_mail() call (C: `mailport_wp_mail`), with WordPress's rules for its arguments, and the
 * values WordPress's filters change:
 *
 *     $wp = new WpMail($to, $subject, $message, $headers, $attachments, $embeds);
 *     $wp->setSiteDomain(parse_url(network_home_url(), PHP_URL_HOST));
 *     $wp->applyFilters(fn (string $filter, string $value) => apply_filters($filter, $value));
 *     $client->send($wp->build());
 *
 * Where WordPress is wrong mailport differs on purpose: "Doe, John" <j@x> stays one recipient, an
 * invalid address is an InvalidAddressException listing every bad one (WordPress drops it
 * silently), and header names are compared without regard to case.
 */
final class WpMail extends Handle
{
    /**
     * @param string|list<string>                    $to          one address, a comma-separated list, or an array
     * @param string|list<string>                    $headers     "Name: value" lines (LF or CRLF), or an array of lines
     * @param array<int|string, string>              $attachments paths, or display name => path
     * @param array<string, string>                  $embeds      content id => path (WordPress 6.9)
     */
    public function __construct(
        string|array $to = [],
        string $subject = '',
        string $message = '',
        string|array $headers = '',
        array $attachments = [],
        array $embeds = [],
    ) {
        $pointer = Native::invoke('mailport_wp_mail_new');
        if (Native::isNull($pointer)) {
            throw ExceptionFactory::create(new ErrorInfo(ErrorCode::PANIC, 'mailport_wp_mail_new failed'));
        }
        $this->adopt($pointer);
        $this->addTo($to);
        $this->setSubject($subject);
        $this->setMessage($message);
        $this->addHeaders($headers);
        $this->addAttachments($attachments);
        foreach ($embeds as $contentId => $path) {
            $this->addEmbed((string) $contentId, $path);
        }
    }

    protected static function freeFunction(): string
    {
        return 'mailport_wp_mail_free';
    }

    /** @param string|list<string> $to */
    public function addTo(string|array $to): static
    {
        foreach ((array) $to as $i => $entry) {
            Native::call('mailport_wp_mail_add_to', $this->handle(), Native::str($entry, is_array($to) ? "to[$i]" : 'to'));
        }
        return $this;
    }

    public function setSubject(string $subject): static
    {
        Native::call('mailport_wp_mail_set_subject', $this->handle(), Native::str($subject, 'subject'));
        return $this;
    }

    public function setMessage(string $message): static
    {
        Native::call('mailport_wp_mail_set_message', $this->handle(), Native::str($message, 'message'));
        return $this;
    }

    /**
     * WordPress's $headers: "Name: value" lines in one string (split on LF or CRLF), or an array
     * with exactly one header per element, as WordPress core treats it. An element holding a line
     * break throws InvalidArgumentException naming the header: a contact form that puts a
     * visitor's name into "Reply-To: $name <$email>" must not let the visitor add Bcc recipients.
     *
     * @param string|list<string> $headers
     */
    public function addHeaders(string|array $headers): static
    {
        if (is_string($headers)) {
            Native::call('mailport_wp_mail_add_headers', $this->handle(), Native::str($headers, 'headers'));
            return $this;
        }
        foreach ($headers as $i => $header) {
            Native::call('mailport_wp_mail_add_header', $this->handle(), Native::str((string) $header, "headers[$i]"));
        }
        return $this;
    }

    /** One header, as one element of WordPress's $headers array (see addHeaders()). */
    public function addHeader(string $header): static
    {
        Native::call('mailport_wp_mail_add_header', $this->handle(), Native::str($header, 'header'));
        return $this;
    }

    /** Add a file, shown as $name or by its own file name. */
    public function addAttachment(string $path, ?string $name = null): static
    {
        Native::call(
            'mailport_wp_mail_add_attachment',
            $this->handle(),
            Native::str($path, 'path'),
            Native::str($name, 'name'),
        );
        return $this;
    }

    /**
     * WordPress's $attachments: a list of paths, or display name => path (string keys).
     *
     * @param array<int|string, string> $attachments
     */
    public function addAttachments(array $attachments): static
    {
        foreach ($attachments as $name => $path) {
            $this->addAttachment($path, is_string($name) ? $name : null);
        }
        return $this;
    }

    /** Add an inline file the HTML shows as <img src="cid:$contentId">. */
    public function addEmbed(string $contentId, string $path): static
    {
        Native::call(
            'mailport_wp_mail_add_embed',
            $this->handle(),
            Native::str($contentId, 'contentId'),
            Native::str($path, 'path'),
        );
        return $this;
    }

    /** The site's host (network_home_url()'s): From defaults to wordpress@<domain without www.>. */
    public function setSiteDomain(string $domain): static
    {
        Native::call('mailport_wp_mail_set_site_domain', $this->handle(), Native::str($domain, 'domain'));
        return $this;
    }

    /** The sender when the call has no From header (null: wordpress@<site>, "WordPress"). */
    public function setDefaultFrom(?string $email, ?string $name = null): static
    {
        Native::call(
            'mailport_wp_mail_set_default_from',
            $this->handle(),
            Native::str($email, 'email'),
            Native::str($name, 'name'),
        );
        return $this;
    }

    /** The charset when no Content-Type header names one (blog_charset; default "UTF-8"). */
    public function setDefaultCharset(string $charset): static
    {
        Native::call('mailport_wp_mail_set_default_charset', $this->handle(), Native::str($charset, 'charset'));
        return $this;
    }

    /** The content type when there is no Content-Type header (default "text/plain"). */
    public function setDefaultContentType(string $contentType): static
    {
        Native::call('mailport_wp_mail_set_default_content_type', $this->handle(), Native::str($contentType, 'contentType'));
        return $this;
    }

    /** What WordPress's header parsing gives for $which: the value to pass to its filter. */
    public function parsedValue(WpValue $which): string
    {
        return NativeBytes::copyOut('mailport_wp_mail_parsed_value', [$this->handle(), $which->value], nul: true);
    }

    /**
     * Every parsed value by filter name: ['wp_mail_from' => ..., 'wp_mail_from_name' => ...,
     * 'wp_mail_content_type' => ..., 'wp_mail_charset' => ...].
     *
     * @return array<string, string>
     */
    public function parsedValues(): array
    {
        $values = [];
        foreach (WpValue::cases() as $which) {
            $values[$which->filter()] = $this->parsedValue($which);
        }
        return $values;
    }

    /** Use $value instead of the parsed one (what the filter returned); null removes the override. */
    public function override(WpValue $which, ?string $value): static
    {
        Native::call('mailport_wp_mail_override', $this->handle(), $which->value, Native::str($value, $which->filter()));
        return $this;
    }

    /**
     * Run each parsed value through $filter(string $filterName, string $value): string, e.g.
     * fn ($name, $value) => apply_filters($name, $value), and override the values it changed.
     *
     * @param callable(string, string): string $filter
     */
    public function applyFilters(callable $filter): static
    {
        foreach (WpValue::cases() as $which) {
            $parsed = $this->parsedValue($which);
            $filtered = $filter($which->filter(), $parsed);
            if (!is_string($filtered)) {
                throw ExceptionFactory::argument($which->filter() . ' filter returned ' . get_debug_type($filtered) . ', not a string');
            }
            $this->override($which, $filtered === $parsed ? null : $filtered);
        }
        return $this;
    }

    /** Build the message the way wp_mail() would; every invalid address is reported at once. */
    public function build(): Message
    {
        return Message::fromHandle(Native::callOut('mailport_wp_mail_build', 'mailport_message', $this->handle()));
    }
}

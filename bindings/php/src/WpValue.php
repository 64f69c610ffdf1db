<?php

declare(strict_types=1);

namespace Mailport;

/**
 * The values WordPress's filters may change after wp_mail()'s headers are parsed
 * (C: `mailport_wp_value`), each with the filter that changes it.
 */
enum WpValue: int
{
    case FromEmail = 0;
    case FromName = 1;
    case ContentType = 2;
    case Charset = 3;

    /** The WordPress filter for this value, e.g. "wp_mail_from". */
    public function filter(): string
    {
        return match ($this) {
            self::FromEmail => 'wp_mail_from',
            self::FromName => 'wp_mail_from_name',
            self::ContentType => 'wp_mail_content_type',
            self::Charset => 'wp_mail_charset',
        };
    }
}

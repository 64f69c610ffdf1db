<?php

declare(strict_types=1);

namespace Mailport;

/**
 * The values WordPress's filters may change after wp_mail()'s headers are parsed
 * (C: `mailport_wp_value`), each with the filter that changes it.
 */
enum WpValue: int
{
    case FROM_EMAIL = 0;
    case FROM_NAME = 1;
    case CONTENT_TYPE = 2;
    case CHARSET = 3;

    /** The WordPress filter for this value, e.g. "wp_mail_from". */
    public function filter(): string
    {
        return match ($this) {
            self::FROM_EMAIL => 'wp_mail_from',
            self::FROM_NAME => 'wp_mail_from_name',
            self::CONTENT_TYPE => 'wp_mail_content_type',
            self::CHARSET => 'wp_mail_charset',
        };
    }
}

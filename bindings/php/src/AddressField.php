<?php

declare(strict_types=1);

namespace Mailport;

/**
 * The header a display name and address pair goes to (C: `mailport_address_field`), for
 * `mailport_message_add_mailbox_parts`: Message's addTo(), addCc(), addBcc() and addReplyTo()
 * with a name pass it.
 *
 * @internal
 */
enum AddressField: int
{
    case TO = 1;
    case CC = 2;
    case BCC = 3;
    case REPLY_TO = 4;
}

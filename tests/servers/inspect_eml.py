#!/usr/bin/env python3
"""Parse a message with Python's standard `email` package and print what it found, as JSON.

mailport's message tests build a message, hand it to this script (a parser we did not write)
and compare field by field. Usage: inspect_eml.py FILE  (prints one JSON document on stdout)

Output:
  headers      [[name, decoded value], ...] in order (RFC 2047 decoded by email.policy.default)
  addresses    {"from"|"to"|"cc"|"reply-to"|"sender": [{"name", "addr"}]}
  structure    a tree: {"type", "parts": [...]} for multipart, else
               {"type", "charset", "cte", "disposition", "filename", "cid", "sha256", "size",
                "text" (decoded str, text/* only)}
  defects      every defect the parser registered, per part
  lines        {"max": longest line in octets without CRLF, "bare_lf": count of LF without CR,
                "bare_cr": count of CR without LF, "eight_bit": any byte >= 0x80}
"""
import email
import email.policy
import hashlib
import json
import sys


def leaf(part):
    payload = part.get_payload(decode=True) or b""
    out = {
        "type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "cte": part.get("Content-Transfer-Encoding", "").lower() or None,
        "disposition": part.get_content_disposition(),
        "filename": part.get_filename(),
        "cid": part.get("Content-ID"),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
    }
    if part.get_content_maintype() == "text":
        out["text"] = part.get_content()
    return out


def tree(part, defects):
    defects.extend(f"{part.get_content_type()}: {d!r}" for d in part.defects)
    if part.is_multipart():
        return {"type": part.get_content_type(),
                "parts": [tree(p, defects) for p in part.iter_parts()]}
    return leaf(part)


def main(path):
    raw = open(path, "rb").read()
    try:
        # RFC 6532 messages carry UTF-8 headers, which the bytes parser would leave as
        # surrogate escapes; parse those as text.
        text = raw.decode("utf-8") if any(b >= 0x80 for b in raw) else None
    except UnicodeDecodeError:
        text = None
    if text is not None:
        msg = email.message_from_string(text, policy=email.policy.SMTPUTF8)
    else:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = []
    structure = tree(msg, defects)
    addresses = {}
    for name in ("from", "to", "cc", "reply-to", "sender"):
        header = msg.get(name)
        if header is not None:
            defects.extend(f"{name}: {d!r}" for d in header.defects)
            addresses[name] = [{"name": a.display_name, "addr": a.addr_spec}
                               for a in header.addresses]
    lines = raw.split(b"\r\n")
    print(json.dumps({
        "headers": [[k, str(v)] for k, v in msg.items()],
        "addresses": addresses,
        "structure": structure,
        "defects": defects,
        "lines": {
            "max": max(len(l) for l in lines),
            "bare_lf": sum(l.count(b"\n") for l in lines),
            "bare_cr": sum(l.count(b"\r") for l in lines),
            "eight_bit": any(b >= 0x80 for b in raw),
        },
    }))


if __name__ == "__main__":
    main(sys.argv[1])

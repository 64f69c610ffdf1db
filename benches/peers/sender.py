"""A sender for the submission benchmark: Python's smtplib, or mailport through its ctypes binding.

    python3 benches/peers/sender.py LIB MODE PORT CA N TEXT [ATTACHMENT]

LIB is `smtplib` or `mailport` (the binding in bindings/python: PYTHONPATH=bindings/python and
MAILPORT_LIBRARY=/path/to/libmailport.so). MODE is `one`, `each`, `persistent` (mailport only),
`attach` (ATTACHMENT over implicit TLS; N must be 1) or `render` (mailport only: the message with
ATTACHMENT rendered to bytes in memory, nothing sent; N must be 1). See benches/peers/README.md.

Prints one line, `<seconds> <cpu_seconds> <resumed> <rss_growth_kib>`, for the span from just
before the client or TLS context is made until after QUIT (`render` adds `<output_bytes>`);
exits non-zero with the error on stderr when anything fails. Set SENDER_VERBOSE=1 to see the negotiated TLS version on stderr.
"""

import os
import resource
import ssl
import sys
import time

USER, PASSWORD = "bench", "secret"
FROM, TO, HELO = "Bench <bench@example.com>", "sink@example.com", "bench.example"
VERBOSE = os.environ.get("SENDER_VERBOSE", "") not in ("", "0")


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def status_kib(field):
    """A `Vm...:  N kB` line of /proc/self/status, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/self/status" % field)


def reset_peak():
    """Reset VmHWM to the current RSS, so that the peak at the end is the span's own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not resettable here: VmHWM then also covers start-up


def note(text):
    if VERBOSE:
        print(text, file=sys.stderr)


def usage(why):
    sys.exit("sender.py: %s\nusage: sender.py smtplib|mailport one|each|persistent|attach|render "
             "PORT CA N TEXT [ATTACHMENT]" % why)


def main():
    if len(sys.argv) < 7:
        usage("too few arguments")
    lib, mode, port, ca, n, text = sys.argv[1:7]
    attachment = sys.argv[7] if len(sys.argv) > 7 else None
    port, n = int(port), int(n)
    if mode in ("attach", "render") and (attachment is None or n != 1):
        usage("%s needs ATTACHMENT and N = 1" % mode)
    if lib == "smtplib":
        run = smtplib_sender(mode, port, ca, n, text, attachment)
    elif lib == "mailport":
        run = mailport_sender(mode, port, ca, n, text, attachment)
    else:
        usage("unknown library " + lib)

    reset_peak()
    rss0 = status_kib("VmRSS")
    start, cpu0 = time.perf_counter(), cpu()
    resumed = run()
    elapsed, used = time.perf_counter() - start, cpu() - cpu0
    # `render` returns (resumed, output_bytes): the output's size is a fifth field.
    extra = resumed[1:] if isinstance(resumed, tuple) else ()
    resumed = resumed[0] if isinstance(resumed, tuple) else resumed
    print(elapsed, used, resumed, status_kib("VmHWM") - rss0, *extra)


def smtplib_sender(mode, port, ca, n, text, attachment):
    import smtplib
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    def build(i):
        m = EmailMessage()
        m["From"] = FROM
        m["To"] = TO
        m["Subject"] = "message %d" % i
        m["Date"] = formatdate()
        m["Message-ID"] = make_msgid(domain=HELO)
        m.set_content(text)
        return m

    def connect(context):
        s = smtplib.SMTP("127.0.0.1", port, local_hostname=HELO, timeout=120)
        s.starttls(context=context)
        s.login(USER, PASSWORD)
        if VERBOSE:
            note("smtplib: %s %s" % (s.sock.version(), s.sock.cipher()[0]))
        return s

    def one():
        context = ssl.create_default_context(cafile=ca)
        s = connect(context)
        for i in range(n):
            s.send_message(build(i))
        s.quit()
        return -1

    def each():
        context = ssl.create_default_context(cafile=ca)
        resumed = 0
        for i in range(n):
            s = connect(context)
            s.send_message(build(i))
            resumed += int(s.sock.session_reused)
            s.quit()
        return resumed

    def attach():
        context = ssl.create_default_context(cafile=ca)
        s = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname=HELO, timeout=600,
                             context=context)
        s.login(USER, PASSWORD)
        if VERBOSE:
            note("smtplib: %s %s" % (s.sock.version(), s.sock.cipher()[0]))
        m = build(0)
        with open(attachment, "rb") as f:
            m.add_attachment(f.read(), maintype="application", subtype="octet-stream",
                             filename=os.path.basename(attachment))
        s.send_message(m)
        s.quit()
        return -1

    modes = {"one": one, "each": each, "attach": attach}
    if mode not in modes:
        usage("unknown mode %s for smtplib" % mode)
    return modes[mode]


def mailport_sender(mode, port, ca, n, text, attachment):
    import mailport

    def build(i):
        return (mailport.Message().from_(FROM).to(TO).subject("message %d" % i).text(text))

    def options(security):
        return dict(host="127.0.0.1", port=port, security=security, username=USER,
                    password=PASSWORD, helo_name=HELO, ca_file=ca, webpki_roots=False,
                    system_roots=False)

    def sent(receipt):
        if VERBOSE:
            note("mailport: %s %s resumed=%s" % (receipt.tls_version, receipt.tls_cipher,
                                                  receipt.tls_resumed))
        return receipt

    def one():
        with mailport.Client(mailport.Config(**options("starttls"))) as client:
            for i in range(n):
                sent(client.send(build(i)))
        return -1

    def each(persistent):
        config = mailport.Config(persistent=persistent, **options("starttls"))
        resumed = 0
        for i in range(n):
            with mailport.Client(config) as client:
                resumed += int(sent(client.send(build(i))).tls_resumed)
        # Persistent clients take the pooled session back: the receipts describe that session's
        # first handshake, not a handshake per message.
        return -1 if persistent else resumed

    def attach():
        config = mailport.Config(**options("tls"))
        with mailport.Client(config) as client:
            sent(client.send(build(0).attach_file(attachment)))
        return -1

    def render():
        data = build(0).attach_file(attachment).render()
        return -1, len(data)

    modes = {
        "one": one,
        "each": lambda: each(False),
        "persistent": lambda: each(True),
        "attach": attach,
        "render": render,
    }
    if mode not in modes:
        usage("unknown mode %s for mailport" % mode)
    return modes[mode]


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - any failure: the error on stderr, exit 1
        print("sender.py %s: %s: %s" % (" ".join(sys.argv[1:3]), type(e).__name__, e),
              file=sys.stderr)
        sys.exit(1)

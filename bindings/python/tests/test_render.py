"""Rendering: ``Message.render()`` (one native rendering, into the ``bytes`` returned) and
``Message.render_to()`` streaming to a path, a binary file, a socket-like descriptor or any
object with ``write``; write errors name the descriptor and the errno; a 25 MiB attachment is
streamed to a file in bounded memory (measured in a child process: a memory bound, no timing).
"""

from __future__ import annotations

import datetime
import gzip
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mailport

BINDING = Path(__file__).resolve().parents[1]


def fixed() -> mailport.Message:
    """No attachment and no HTML alternative (so no random MIME boundary), a fixed Date and
    Message-ID: every rendering gives the same bytes."""
    return (
        mailport.Message()
        .from_("ann@example.org")
        .to("bob@example.org")
        .subject("Rendered once")
        .date(datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc))
        .message_id("<render@example.org>")
        .text("Hello.\n")
    )


def test_render_returns_bytes_and_render_to_writes_the_same(tmp_path):
    msg = fixed()
    rendered = msg.render()
    assert type(rendered) is bytes and rendered.startswith(b"Date: ")
    assert rendered == msg.render()

    # A path.
    assert msg.render_to(tmp_path / "a.eml") == len(rendered)
    assert (tmp_path / "a.eml").read_bytes() == rendered
    assert msg.render_to(str(tmp_path / "b.eml")) == len(rendered)
    assert (tmp_path / "b.eml").read_bytes() == rendered

    # A buffered binary file: what was written before comes first (the buffer is flushed),
    # and the position advances so what is written after comes after.
    with open(tmp_path / "c.eml", "wb") as f:
        f.write(b"From ann@example.org\r\n")
        assert msg.render_to(f) == len(rendered)
        f.write(b"\r\n")
    assert (tmp_path / "c.eml").read_bytes() == b"From ann@example.org\r\n" + rendered + b"\r\n"

    # Any writer: BytesIO, and a GzipFile (which has a fileno() that must not be used).
    buf = io.BytesIO()
    assert msg.render_to(buf) == len(rendered)
    assert buf.getvalue() == rendered
    with gzip.open(tmp_path / "d.eml.gz", "wb") as gz:
        msg.render_to(gz)
    assert gzip.decompress((tmp_path / "d.eml.gz").read_bytes()) == rendered


def test_a_writer_that_takes_part_of_each_piece_gets_everything():
    class Trickle(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.data += bytes(b[:7])
            return min(7, len(b))

    msg = fixed()
    sink = Trickle()
    assert msg.render_to(sink) == len(msg.render())
    assert bytes(sink.data) == msg.render()


def test_large_attachments_render_identically_through_every_path(tmp_path):
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit: several pieces
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    msg = fixed().attach_file(str(path))
    size = len(msg.render())
    pieces = []

    class Collect:
        def write(self, b):
            pieces.append(bytes(b))

    assert msg.render_to(Collect()) == size
    assert len(pieces) > 1 and sum(map(len, pieces)) == size
    assert msg.render_to(tmp_path / "out.eml") == size
    assert os.path.getsize(tmp_path / "out.eml") == size


def test_text_files_and_objects_without_write_are_refused(tmp_path):
    msg = fixed()
    with open(tmp_path / "t.eml", "w") as text:
        with pytest.raises(TypeError, match="binary file.*'wb'"):
            msg.render_to(text)
    with pytest.raises(TypeError, match="write\\(bytes\\).*int"):
        msg.render_to(42)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_names_the_descriptor_and_the_errno():
    with open("/dev/full", "wb", buffering=0) as full:
        with pytest.raises(mailport.NetworkError) as info:
            fixed().render_to(full)
        fd = full.fileno()
    assert isinstance(info.value, OSError)
    assert f"fd {fd}" in str(info.value) and "ENOSPC" in str(info.value)
    assert "full" in info.value.hint


def test_an_exception_in_the_writer_stops_the_rendering_and_propagates():
    class Fails:
        calls = 0

        def write(self, b):
            Fails.calls += 1
            raise ValueError("the sink is closed")

    with pytest.raises(ValueError, match="the sink is closed") as info:
        fixed().render_to(Fails())
    assert Fails.calls == 1
    assert isinstance(info.value.__cause__, mailport.MailportError)
    assert "write callback returned 1" in str(info.value.__cause__)


def run_child(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(BINDING))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def test_a_closed_pipe_is_epipe_and_no_sigpipe_even_at_its_default_action():
    out = run_child(
        """
        import os, signal, mailport
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as a C host: SIGPIPE would kill us
        r, w = os.pipe()
        os.close(r)
        msg = mailport.Message().from_("a@example.org").to("b@example.org").text("x")
        try:
            msg.render_to(os.fdopen(w, "wb", buffering=0))
        except mailport.NetworkError as e:
            print("EPIPE" if "EPIPE" in str(e) else "OTHER " + str(e))
        """
    )
    assert out.strip() == "EPIPE"


def peak_growth_kb(tmp_path, action: str) -> tuple[int, int]:
    """In a child process: a message with a 25 MiB attachment, ``action`` (an expression on
    ``msg`` giving a length) run once to warm up and once measured; the length and how far the
    peak resident memory (VmHWM) rose above the resident memory before it, in kB."""
    out = run_child(
        f"""
        import mailport, os

        def kb(field):
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])

        big = {str(tmp_path / "big.bin")!r}
        with open(big, "wb") as f:
            chunk = bytes(range(256)) * 256
            for _ in range(25 * 1024 * 1024 // len(chunk)):
                f.write(chunk)
        msg = mailport.Message().from_("a@example.org").to("b@example.org").text("x")
        msg.attach_file(big)
        msg.render_to(os.devnull)  # warm-up: lazily built state
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the peak (VmHWM) restarts from the current RSS
        base = kb("VmRSS")
        n = {action}
        print(n, kb("VmHWM") - base)
        """
    )
    n, growth_kb = map(int, out.split())
    return n, growth_kb


def test_a_25_mib_attachment_is_streamed_to_a_file_in_bounded_memory(tmp_path):
    written, growth_kb = peak_growth_kb(tmp_path, f"msg.render_to({str(tmp_path / 'big.eml')!r})")
    assert written == os.path.getsize(tmp_path / "big.eml") > 25 * 1024 * 1024 * 4 // 3
    assert growth_kb <= 16 * 1024, f"peak RSS grew by {growth_kb} kB"


def test_render_fills_its_bytes_in_place_so_memory_peaks_at_the_message(tmp_path):
    # The bytes are rendered straight into the returned object: no native copy beside it.
    size, growth_kb = peak_growth_kb(tmp_path, "len(msg.render())")
    assert size > 25 * 1024 * 1024 * 4 // 3
    assert growth_kb <= 1.3 * size / 1024, f"peak RSS grew by {growth_kb} kB for {size} bytes"


def test_render_into_a_callers_buffer_needs_no_copy(tmp_path):
    data = bytes(range(256)) * 1024
    (tmp_path / "data.bin").write_bytes(data)
    msg = fixed().attach_file(str(tmp_path / "data.bin"))
    size = msg.rendered_size()
    buf = bytearray(size)
    assert msg.render_into(buf) == size
    assert len(msg.render()) == size
    assert buf.startswith(b"Date: ") and buf.endswith(b"--\r\n")
    buf.extend(b"!")  # the buffer is released again: a bytearray can grow
    # A writable view of a larger buffer: the rest is left alone.
    big = bytearray(b"\xee" * (size + 3))
    assert msg.render_into(memoryview(big)) == size
    assert big[size:] == b"\xee" * 3

    plain = fixed()
    short = bytearray(10)
    with pytest.raises(mailport.InvalidArgumentError, match="buffer holds 10 bytes") as info:
        plain.render_into(short)
    assert str(len(plain.render())) in info.value.hint
    assert bytes(short) == plain.render()[:10]
    with pytest.raises(TypeError, match="bytearray, not bytes"):
        plain.render_into(b"read-only")
    with pytest.raises(TypeError, match="not int"):
        plain.render_into(5)
    assert plain.render_into(bytearray(len(plain.render()))) == len(plain.render())


def test_the_size_is_measured_without_the_message_being_whole():
    with pytest.raises(mailport.InvalidArgumentError, match="From"):
        mailport.Message().to("b@example.org").rendered_size()
    assert fixed().rendered_size() == len(fixed().render())

//! Prints what the header writers and the renderer make of a fixed, pseudo-random corpus (Date
//! and Message-ID fixed, MIME boundaries normalised), one record per line, so the output of two
//! versions can be compared byte for byte: `cargo run --release --example render_corpus > a`.
//! An equivalence check for changes to the renderer's internals, not a test of its own.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use mailport::Message;
use mailport::message::{Charset, encoding, header};

/// xorshift64*: the same sequence on every run and every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn text(&mut self, max_len: usize) -> String {
        const PIECES: &[&str] = &[
            "a",
            "b",
            "Hello",
            "world",
            "x",
            " ",
            " ",
            " ",
            "  ",
            "\t",
            "=?",
            "?=",
            "é",
            "ü",
            "Ж",
            "中",
            "😀",
            "\"",
            "\\",
            ",",
            ".",
            "@",
            "(",
            ")",
            "<",
            ">",
            ";",
            ":",
            "'",
            "-",
            "_",
            "=",
            "%",
            "\u{7}",
            "\r\n",
            "\n",
            "\r",
            "From ",
            "0123456789",
            "\u{a0}",
            "\u{2028}",
        ];
        let len = match self.below(10) {
            0 => 0,
            1 => self.below(max_len * 8 + 1),
            _ => self.below(max_len + 1),
        };
        let mut out = String::new();
        let plain = self.below(3) == 0;
        while out.len() < len {
            if plain {
                out.push_str(PIECES[self.below(10)]);
            } else {
                out.push_str(PIECES[self.below(PIECES.len())]);
            }
            if self.below(40) == 0 {
                out.push_str(&"w".repeat(self.below(1200)));
            }
        }
        out
    }
}

fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = text.escape_debug().to_string();
    // Boundaries are random per render: keep their shape, drop their value.
    while let Some(at) = out.find("=_mailport_") {
        let start = at + "=_mailport_".len();
        let end = start + out[start..].find('_').unwrap_or(0);
        out.replace_range(at..end, "=_BOUNDARY");
    }
    out
}

fn message(rng: &mut Rng, out: &mut impl Write) {
    let mut m = Message::new();
    let mut log = Vec::new();
    let mut step = |what: &str, r: mailport::Result<()>| {
        if let Err(e) = r {
            log.push(format!("{what}: {}", e.message()));
        }
    };
    let name = rng.text(40);
    step(
        "from",
        m.set_from_parts(Some(&name), "sender@example.com")
            .map(|_| ()),
    );
    if m.from().is_none() {
        m.set_from("sender@example.com").unwrap();
    }
    for _ in 0..rng.below(4) {
        let name = rng.text(30);
        let r = m
            .add_mailbox_parts(
                mailport::message::AddressField::To,
                Some(&name),
                "to@example.com",
            )
            .map(|_| ());
        step("to", r);
    }
    if rng.below(3) == 0 {
        step(
            "to list",
            m.add_to("a@example.com, B <b@example.org>").map(|_| ()),
        );
    }
    if rng.below(4) == 0 {
        step("cc", m.add_cc("Cc Person <cc@example.net>").map(|_| ()));
    }
    if rng.below(6) == 0 {
        step("bcc", m.add_bcc("bcc@example.net").map(|_| ()));
    }
    if rng.below(6) == 0 {
        step(
            "reply-to",
            m.add_reply_to("Help <help@example.net>").map(|_| ()),
        );
    }
    if rng.below(8) == 0 {
        step("sender", m.set_sender("Sender <s@example.net>").map(|_| ()));
    }
    if m.recipients().is_empty() {
        m.add_to("rcpt@example.com").unwrap();
    }
    if rng.below(10) > 0 {
        let subject = rng.text(80);
        step("subject", m.set_subject(&subject).map(|_| ()));
    }
    for _ in 0..rng.below(3) {
        let value = rng.text(60);
        step("header", m.add_header("X-Test", &value).map(|_| ()));
    }
    match rng.below(4) {
        0 => {}
        1 => step("charset", m.set_charset(Charset::Latin1).map(|_| ())),
        2 => step("charset", m.set_charset(Charset::UsAscii).map(|_| ())),
        _ => step("charset", m.set_charset(Charset::Utf8).map(|_| ())),
    }
    if rng.below(5) > 0 {
        let text = rng.text(400);
        step("text", m.set_text(&text).map(|_| ()));
    }
    if rng.below(3) == 0 {
        let html = rng.text(300);
        step("html", m.set_html(&html).map(|_| ()));
    }
    for i in 0..rng.below(3) {
        let filename = if rng.below(2) == 0 {
            rng.text(30)
        } else {
            format!("file{i}.pdf")
        };
        let data: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
        if rng.below(3) == 0 {
            let r = m
                .embed_bytes(&format!("img{i}@x"), &filename, None, data)
                .map(|_| ());
            step("embed", r);
        } else {
            step("attach", m.attach_bytes(&filename, None, data).map(|_| ()));
        }
    }
    if rng.below(15) == 0 {
        let body = rng.text(200);
        let r = m
            .set_mime_body("multipart/alternative; boundary=\"b1\"", body.as_bytes())
            .map(|_| ());
        step("mime body", r);
    }
    m.set_date(UNIX_EPOCH + Duration::from_secs(1_700_000_000 + rng.next() % 100_000_000));
    if rng.below(5) > 0 {
        m.set_message_id("<fixed.id@example.com>").unwrap();
    }
    writeln!(out, "errors\t{}", shown(log.join(" | ").as_bytes())).unwrap();
    for utf8 in [false, true] {
        match m.prepare(utf8) {
            Ok(p) => {
                let id = if p.message_id == "<fixed.id@example.com>" {
                    p.message_id.clone()
                } else {
                    let mut hex = p.message_id.clone();
                    hex.replace_range(1..33, "RANDOM");
                    hex
                };
                let size = p.size;
                let mut bytes = Vec::new();
                let mut stream = p.stream;
                std::io::Read::read_to_end(&mut stream, &mut bytes).unwrap();
                let mut text = shown(&bytes);
                if id.contains("RANDOM") {
                    text = text.replace(&p.message_id, &id);
                }
                writeln!(
                    out,
                    "prepare {utf8}\t{}\t{:?}\t{id}\t{size}\t{}\t{}\t{text}",
                    p.envelope_from, p.recipients, p.utf8, p.eight_bit
                )
                .unwrap();
            }
            Err(e) => writeln!(out, "prepare {utf8}\terror {}", e.message()).unwrap(),
        }
    }
}

fn main() {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let count: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |n| n.parse().expect("a count"));
    for _ in 0..count {
        let value = rng.text(120);
        let name = ["Subject", "X-A", &"N".repeat(70)][rng.below(3)].to_string();
        for utf8 in [false, true] {
            let w = |s: String| shown(s.as_bytes());
            writeln!(
                out,
                "unstructured {utf8}\t{}",
                w(header::unstructured(&name, &value, utf8))
            )
            .unwrap();
            writeln!(out, "phrase {utf8}\t{}", w(header::phrase(&value, utf8))).unwrap();
            let items: Vec<String> = (0..rng.below(5))
                .map(|_| header::mailbox(Some(&rng.text(50)), "x@example.com", utf8))
                .collect();
            writeln!(
                out,
                "address_list {utf8}\t{}",
                w(header::address_list("To", &items))
            )
            .unwrap();
        }
        let p1 = rng.text(40);
        let p2 = rng.text(90);
        writeln!(
            out,
            "with_params\t{}",
            shown(
                header::with_params(
                    "Content-Type",
                    "text/plain",
                    &[("charset", &p1), ("name", &p2)]
                )
                .as_bytes()
            )
        )
        .unwrap();
        writeln!(
            out,
            "date\t{}",
            header::date(UNIX_EPOCH + Duration::from_secs(rng.next() % 4_000_000_000))
        )
        .unwrap();
        let body = rng.text(300);
        let crlf = encoding::normalize_crlf(&body);
        let mut qp = Vec::new();
        encoding::quoted_printable(crlf.as_bytes(), &mut qp);
        writeln!(
            out,
            "body\t{:?}\t{}\t{}",
            encoding::choose_for_text(crlf.as_bytes()),
            shown(crlf.as_bytes()),
            shown(&qp)
        )
        .unwrap();
    }
    for _ in 0..count / 4 {
        message(&mut rng, &mut out);
    }
}

//! Reading what arrives: a body is read after its `Content-Encoding`
//! (gzip, deflate, br) is undone and its declared `charset` (anything but
//! UTF-8) is turned into UTF-8, so a compressed or Latin-1 delivery is read
//! as its call, not kept as unrecognized bytes.
//!
//! Decompression is bounded: a body that would grow past the limit (a
//! decompression bomb) is never expanded further; it is kept exactly as it
//! came, and the reason says why (see docs/ingest.md, "What is stored").
//!
//! A pure function over the body bytes and two header values, called once
//! at the edge ([`super::edge::delivery`]); the spillway carries the result
//! (the decoded body and [`BodyDecoding`]) so nothing is decoded twice.

use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// The attribute, beside a stored raw body, naming what was decoded to
/// give it (`Content-Encoding gzip; charset ISO-8859-1`).
pub const DECODED_FROM_ATTRIBUTE: &str = "raw_decoded_from";

/// What was done to a body before it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BodyDecoding {
    /// Read as it came (no Content-Encoding, UTF-8 or no charset).
    #[default]
    AsSent,
    /// Decoded into UTF-8 text; `from` names what was undone, in order
    /// (`Content-Encoding gzip; charset ISO-8859-1`). The stored raw body is
    /// the decoded text, and the event names this beside it.
    Decoded { from: String },
    /// Could not be decoded (an unknown encoding, a broken stream, or a body
    /// that decompresses past the limit): kept exactly as it came, as an
    /// unrecognized delivery with this reason.
    KeptAsSent { reason: String },
}

impl BodyDecoding {
    pub fn is_as_sent(&self) -> bool {
        matches!(self, BodyDecoding::AsSent)
    }

    /// The reason a delivery cannot be read, when its body could not be
    /// decoded.
    pub fn unreadable_reason(&self) -> Option<&str> {
        match self {
            BodyDecoding::KeptAsSent { reason } => Some(reason),
            _ => None,
        }
    }
}

/// A body ready to be read, and what was done to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedBody {
    pub body: Vec<u8>,
    pub decoding: BodyDecoding,
}

/// The body to read, from the bytes as they came and the request's
/// `Content-Encoding` and `Content-Type` headers; never more than
/// `max_decoded_bytes` of decompressed output is produced.
///
/// * Content codings are undone last-applied first; `identity` is nothing.
///   `deflate` is the zlib format (RFC 9110), or a bare deflate stream as
///   some senders send it.
/// * A declared charset other than UTF-8 is decoded with `encoding_rs`
///   (WHATWG labels: `ISO-8859-1` reads as windows-1252, its superset). A
///   form body's percent-escapes are bytes in that charset and are decoded
///   too. Senders mislabel: bytes that are already valid UTF-8 are read as
///   UTF-8 whatever an ASCII-compatible label says. An unknown label leaves
///   the bytes as they are for the reader to judge.
pub fn decode_body(
    body: &[u8],
    content_encoding: Option<&str>,
    content_type: Option<&str>,
    max_decoded_bytes: usize,
) -> DecodedBody {
    let mut done: Vec<String> = Vec::new();
    let mut bytes = std::borrow::Cow::Borrowed(body);
    let codings: Vec<String> = content_encoding
        .unwrap_or("")
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    for coding in codings.iter().rev() {
        match decompress(&bytes, coding, max_decoded_bytes) {
            Ok(decompressed) => bytes = std::borrow::Cow::Owned(decompressed),
            Err(problem) => {
                return DecodedBody {
                    body: body.to_vec(),
                    decoding: BodyDecoding::KeptAsSent {
                        reason: format!(
                            "Content-Encoding {}: {problem}; kept as it came",
                            shown(content_encoding.unwrap_or(""))
                        ),
                    },
                }
            }
        }
    }
    if !codings.is_empty() {
        done.push(format!("Content-Encoding {}", codings.join(", ")));
    }
    if let Some(label) = content_type.and_then(charset) {
        if let Some((text, note)) = to_utf8(&bytes, &label, content_type.is_some_and(is_form)) {
            bytes = std::borrow::Cow::Owned(text.into_bytes());
            done.push(note);
        }
    }
    let decoding = if done.is_empty() {
        BodyDecoding::AsSent
    } else {
        BodyDecoding::Decoded {
            from: done.join("; "),
        }
    };
    DecodedBody {
        body: bytes.into_owned(),
        decoding,
    }
}

/// At most this many characters of a header value are quoted in a reason.
const MAX_SHOWN_CHARS: usize = 60;

fn shown(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SHOWN_CHARS)
        .collect()
}

/// One content coding undone, producing at most `max` bytes.
fn decompress(bytes: &[u8], coding: &str, max: usize) -> Result<Vec<u8>, String> {
    match coding {
        "gzip" | "x-gzip" => bounded(flate2::read::MultiGzDecoder::new(bytes), max),
        "deflate" => bounded(flate2::read::ZlibDecoder::new(bytes), max).or_else(|zlib| {
            bounded(flate2::read::DeflateDecoder::new(bytes), max).map_err(|_| zlib)
        }),
        "br" => bounded(brotli_decompressor::Decompressor::new(bytes, 4096), max),
        other => Err(format!("{:?} is not a coding this reads", shown(other))),
    }
}

/// Everything `reader` produces, refused as soon as it passes `max` bytes:
/// the output is never held beyond one byte more than the limit.
fn bounded(reader: impl Read, max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("not a valid stream ({e})"))?;
    if out.len() > max {
        return Err(format!("decompresses to more than {max} bytes"));
    }
    Ok(out)
}

/// The `charset` parameter of a Content-Type, unquoted.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|media| {
        media
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// The body as UTF-8 text and what was done, when the label names an
/// encoding other than UTF-8 that the bytes are actually in.
fn to_utf8(bytes: &[u8], label: &str, form: bool) -> Option<(String, String)> {
    let encoding = Encoding::for_label(label.as_bytes())?;
    if encoding == encoding_rs::UTF_8 {
        return None;
    }
    if encoding.is_ascii_compatible() && std::str::from_utf8(bytes).is_ok() {
        // Already UTF-8 (or plain ASCII, the same in both): mislabelled
        // or nothing to do. A form's escapes are judged the same way.
        if !form || form_escapes_are_utf8(bytes) {
            return None;
        }
    }
    let label = shown(label);
    let (text, replaced) = if form && encoding.is_ascii_compatible() {
        decode_form(bytes, encoding)
    } else {
        let (text, _, replaced) = encoding.decode(bytes);
        (text.into_owned(), replaced)
    };
    let mut note = format!("charset {label}");
    if replaced {
        note.push_str(" (bytes not valid in it replaced by U+FFFD)");
    }
    Some((text, note))
}

/// Whether every percent-escape of a form decodes to UTF-8.
fn form_escapes_are_utf8(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'&')
        .flat_map(|pair| pair.splitn(2, |b| *b == b'='))
        .all(|piece| std::str::from_utf8(&percent_decode(piece)).is_ok())
}

/// A form whose names and values (percent-escaped bytes in `encoding`)
/// are re-written as UTF-8 escapes; whether any byte was unmappable.
fn decode_form(bytes: &[u8], encoding: &'static Encoding) -> (String, bool) {
    let mut replaced = false;
    let mut decode = |piece: &[u8]| {
        let bytes = percent_decode(piece);
        let (text, bad) = encoding.decode_without_bom_handling(&bytes);
        replaced |= bad;
        text.into_owned()
    };
    let mut form = form_urlencoded::Serializer::new(String::new());
    for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let name = decode(halves.next().unwrap_or_default());
        match halves.next() {
            Some(value) => form.append_pair(&name, &decode(value)),
            None => form.append_key_only(&name),
        };
    }
    (form.finish(), replaced)
}

/// `+` as a space and `%XX` as its byte; anything else as it is.
fn percent_decode(piece: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(piece.len());
    let mut i = 0;
    while i < piece.len() {
        match piece[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < piece.len() => match (hex(piece[i + 1]), hex(piece[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    out
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LIMIT: usize = 6 * 1024 * 1024;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn bare_deflate(bytes: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// `{"a":"hello"}` as a br stream built by hand from RFC 7932: a 16-bit
    /// window, one uncompressed meta-block of 13 bytes, an empty last one.
    /// (This crate only decodes br; the encoder is not a dependency.)
    fn brotli_hello() -> Vec<u8> {
        let mut stream = vec![0xC0, 0x00, 0x10];
        stream.extend_from_slice(br#"{"a":"hello"}"#);
        stream.push(0x03);
        stream
    }

    fn decoded(from: &str) -> BodyDecoding {
        BodyDecoding::Decoded { from: from.into() }
    }

    #[test]
    fn a_plain_utf8_body_is_read_as_it_came() {
        for (encoding, content_type) in [
            (None, None),
            (Some("identity"), Some("application/json")),
            (None, Some("application/json; charset=utf-8")),
            (Some(""), Some("application/json; charset=\"UTF-8\"")),
        ] {
            let out = decode_body(br#"{"a":1}"#, encoding, content_type, LIMIT);
            assert_eq!(out.body, br#"{"a":1}"#);
            assert_eq!(out.decoding, BodyDecoding::AsSent);
        }
    }

    #[test]
    fn gzip_deflate_and_br_are_undone() {
        let json = br#"{"a":"hello"}"#;
        for (coding, body) in [
            ("gzip", gzip(json)),
            ("x-gzip", gzip(json)),
            ("GZIP", gzip(json)),
            ("deflate", zlib(json)),
            ("deflate", bare_deflate(json)),
            ("br", brotli_hello()),
        ] {
            let out = decode_body(&body, Some(coding), Some("application/json"), LIMIT);
            assert_eq!(out.body, json, "{coding}");
            assert_eq!(
                out.decoding,
                decoded(&format!("Content-Encoding {}", coding.to_ascii_lowercase()))
            );
        }
        // Two codings: the last applied is undone first.
        let twice = gzip(&zlib(json));
        let out = decode_body(&twice, Some("deflate, gzip"), None, LIMIT);
        assert_eq!(out.body, json);
        assert_eq!(out.decoding, decoded("Content-Encoding deflate, gzip"));
    }

    #[test]
    fn a_decompression_bomb_is_kept_as_it_came_never_expanded() {
        // 64 MiB of zeros compress to about 64 KB.
        let zeros = vec![0u8; 64 * 1024 * 1024];
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&zeros).unwrap();
        let bomb = encoder.finish().unwrap();
        drop(zeros);
        assert!(bomb.len() < 200_000);
        let out = decode_body(&bomb, Some("gzip"), Some("application/json"), LIMIT);
        assert_eq!(out.body, bomb);
        let reason = out.decoding.unreadable_reason().unwrap();
        assert!(
            reason.contains("more than 6291456 bytes") && reason.contains("gzip"),
            "{reason}"
        );
        // Exactly at the limit is kept decoded.
        let at_limit = vec![b'a'; 1000];
        let out = decode_body(&gzip(&at_limit), Some("gzip"), None, 1000);
        assert_eq!(out.body, at_limit);
        let out = decode_body(&gzip(&at_limit), Some("gzip"), None, 999);
        assert!(out.decoding.unreadable_reason().is_some());
    }

    #[test]
    fn what_cannot_be_decoded_is_kept_as_it_came_with_the_reason() {
        for (body, coding, expected) in [
            (&b"not gzip"[..], "gzip", "not a valid stream"),
            (&b"not zlib"[..], "deflate", "not a valid stream"),
            (&b"\xff\xff\xff\xff"[..], "br", "not a valid stream"),
            (
                &b"{}"[..],
                "compress",
                "\"compress\" is not a coding this reads",
            ),
            (&b"{}"[..], "zstd", "\"zstd\" is not a coding this reads"),
        ] {
            let out = decode_body(body, Some(coding), None, LIMIT);
            assert_eq!(out.body, body);
            let reason = out.decoding.unreadable_reason().unwrap();
            assert!(reason.contains(expected), "{coding}: {reason}");
            assert!(reason.ends_with("kept as it came"), "{reason}");
        }
        // A truncated stream is broken too.
        let mut cut = gzip(br#"{"a":"hello"}"#);
        cut.truncate(cut.len() - 6);
        assert!(decode_body(&cut, Some("gzip"), None, LIMIT)
            .decoding
            .unreadable_reason()
            .is_some());
    }

    #[test]
    fn a_declared_charset_is_decoded_into_utf8() {
        // "José Müller" in Latin-1.
        let latin1 = b"{\"caller_id_name\":\"Jos\xe9 M\xfcller\"}";
        for label in [
            "ISO-8859-1",
            "iso-8859-1",
            "latin1",
            "windows-1252",
            "\"cp1252\"",
        ] {
            let content_type = format!("application/json; charset={label}");
            let out = decode_body(latin1, None, Some(&content_type), LIMIT);
            assert_eq!(
                std::str::from_utf8(&out.body).unwrap(),
                r#"{"caller_id_name":"José Müller"}"#
            );
            assert_eq!(
                out.decoding,
                decoded(&format!("charset {}", label.trim_matches('"')))
            );
        }
        // windows-1252's own characters (the euro sign, curly quotes).
        let out = decode_body(
            b"\x80 \x93hi\x94",
            None,
            Some("text/plain;charset=windows-1252"),
            LIMIT,
        );
        assert_eq!(std::str::from_utf8(&out.body).unwrap(), "€ “hi”");
        // UTF-16 (not ASCII-compatible) is decoded even though its bytes
        // happen to be valid UTF-8.
        let utf16: Vec<u8> = "{\"a\":1}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let out = decode_body(
            &utf16,
            None,
            Some("application/json; charset=utf-16le"),
            LIMIT,
        );
        assert_eq!(out.body, br#"{"a":1}"#);
    }

    #[test]
    fn mislabelled_utf8_and_unknown_labels_are_left_as_they_are() {
        let utf8 = "{\"name\":\"José\"}".as_bytes();
        let out = decode_body(
            utf8,
            None,
            Some("application/json; charset=ISO-8859-1"),
            LIMIT,
        );
        assert_eq!(
            (out.body.as_slice(), out.decoding),
            (utf8, BodyDecoding::AsSent)
        );
        let out = decode_body(
            b"\xe9",
            None,
            Some("application/json; charset=klingon"),
            LIMIT,
        );
        assert_eq!(
            (out.body.as_slice(), out.decoding),
            (&b"\xe9"[..], BodyDecoding::AsSent)
        );
    }

    #[test]
    fn a_latin1_form_has_its_escapes_decoded_too() {
        let form = b"CallSid=CA1&CallerName=Jos%E9+M%FCller&From=%2B14155552671&flag";
        let out = decode_body(
            form,
            None,
            Some("application/x-www-form-urlencoded; charset=ISO-8859-1"),
            LIMIT,
        );
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&out.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(pairs[1], ("CallerName".into(), "José Müller".into()));
        assert_eq!(pairs[2], ("From".into(), "+14155552671".into()));
        assert_eq!(pairs[3], ("flag".into(), String::new()));
        assert_eq!(out.decoding, decoded("charset ISO-8859-1"));
        // A form whose escapes are UTF-8 already is left as it came.
        let utf8_form = b"CallerName=Jos%C3%A9";
        let out = decode_body(
            utf8_form,
            None,
            Some("application/x-www-form-urlencoded; charset=ISO-8859-1"),
            LIMIT,
        );
        assert_eq!(
            (out.body.as_slice(), out.decoding),
            (&utf8_form[..], BodyDecoding::AsSent)
        );
    }

    #[test]
    fn compressed_latin1_is_decompressed_then_decoded() {
        let body = gzip(b"{\"name\":\"Jos\xe9\"}");
        let out = decode_body(
            &body,
            Some("gzip"),
            Some("application/json; charset=ISO-8859-1"),
            LIMIT,
        );
        assert_eq!(
            std::str::from_utf8(&out.body).unwrap(),
            r#"{"name":"José"}"#
        );
        assert_eq!(
            out.decoding,
            decoded("Content-Encoding gzip; charset ISO-8859-1")
        );
    }

    #[test]
    fn percent_decoding_leaves_broken_escapes_as_they_are() {
        assert_eq!(percent_decode(b"a+b%41%4"), b"a bA%4");
        assert_eq!(percent_decode(b"%zz%"), b"%zz%");
    }
}

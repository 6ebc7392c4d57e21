//! Phone numbers as providers send them.
//!
//! Two ways in:
//! * [`PhoneNumber::parse`] is strict, for what an operator types (CLI,
//!   configuration documents): E.164 or a form that can only mean one E.164
//!   number, else refused with a message.
//! * [`PhoneNumber::read`] is tolerant, for what a provider sends: any text
//!   that is not empty or a withheld-caller marker is a number. It keeps the
//!   text exactly as sent ([`PhoneNumber::original`]) and adds the E.164
//!   form only where it is unambiguous ([`PhoneNumber::e164`]). Short codes
//!   (`72345`), sender ids (`ACMEBANK`), national forms (`07700 900123`)
//!   stay as sent.
//!
//! Either way [`PhoneNumber::as_str`] is the number's *key form*, the one
//! keys, timelines and lookups use: the E.164 form where there is one, else
//! the text as sent, trimmed, with `#`, `%`, control and bidi characters
//! percent-encoded and bounded, so it never carries a key separator. Two
//! numbers are equal when their key forms are. `docs/phone-numbers.md` has
//! the rules.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A phone number (or short code, sender id, SIP address) with its key form.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    /// The E.164 form when there is one, else the cleaned text.
    key: String,
    /// The text as sent, up to [`MAX_ORIGINAL_CHARS`].
    original: String,
    e164: bool,
    original_cut: bool,
}

/// The text as sent is kept up to this many characters on the number (the
/// whole text is always in the delivery's raw body).
pub const MAX_ORIGINAL_CHARS: usize = 256;
/// A key form longer than this is cut and ends with `~` and a hash of the
/// whole text, so two long texts keep two keys.
pub const MAX_KEY_CHARS: usize = 128;
/// Room kept after a cut key form for `~` and 16 hex digits.
const KEY_HASH_CHARS: usize = 17;

/// Why a string is not a phone number; the message is shown to the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneError(pub &'static str);

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for PhoneError {}

/// Callers who hide their number arrive with one of these instead of digits
/// (compared without letter case, after trimming).
const WITHHELD_MARKERS: &[&str] = &[
    "anonymous",
    "restricted",
    "private",
    "unavailable",
    "unknown",
    "withheld",
    "blocked",
    "private number",
    "unknown number",
    "no caller id",
    "not available",
    "null",
    "none",
    "undefined",
    "n/a",
];

/// Whether `text` (trimmed) says the number was withheld rather than giving
/// one: a marker, or a SIP/tel URI whose user part is one
/// (`sip:anonymous@anonymous.invalid`).
pub fn is_withheld_marker(text: &str) -> bool {
    let text = text.trim();
    let is_marker = |t: &str| WITHHELD_MARKERS.iter().any(|m| t.eq_ignore_ascii_case(m));
    is_marker(text) || uri_user_part(text).is_some_and(is_marker)
}

/// The user part of a `sip:`, `sips:` or `tel:` URI: what comes before any
/// `@` and `;` (`sip:+14155552671@pbx.example.com` gives `+14155552671`).
fn uri_user_part(text: &str) -> Option<&str> {
    let rest = ["sips:", "sip:", "tel:"].iter().find_map(|scheme| {
        let head = text.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &text[scheme.len()..])
    })?;
    let end = rest.find(['@', ';']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

impl PhoneNumber {
    /// Parses a number written the way providers and people write them:
    /// `+14155552671`, `+1 (415) 555-2671`, `0014155552671`, or a North
    /// American number without its country code (`4155552671`,
    /// `14155552671`). Anything else is refused rather than guessed. For
    /// operator input; providers' numbers go through [`PhoneNumber::read`].
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let e164 = strict_e164(input)?;
        Ok(PhoneNumber {
            original: e164.clone(),
            key: e164,
            e164: true,
            original_cut: false,
        })
    }

    /// Reads a number a provider sent, whatever it looks like. `None` only
    /// for an empty text or a withheld-caller marker (`anonymous`,
    /// `Restricted`, `sip:anonymous@anonymous.invalid`...): a call from
    /// nobody, not an error. The E.164 form is added when the text has a
    /// leading `+` or `00`, is a North American number (10 digits, or 11
    /// with the leading 1), is 12 to 15 digits beginning with a country code
    /// (E.164 without its `+`, as many providers send it), or is a SIP/tel
    /// URI whose user part is one of those.
    pub fn read(text: &str) -> Option<Self> {
        let trimmed = text.trim_matches(|c: char| c.is_whitespace() || is_unsafe_char(c));
        if trimmed.is_empty() || is_withheld_marker(trimmed) {
            return None;
        }
        let (original, original_cut) = cut_chars(text, MAX_ORIGINAL_CHARS);
        let e164 = tolerant_e164(trimmed);
        let is_e164 = e164.is_some();
        let key = e164.unwrap_or_else(|| key_form(trimmed));
        Some(PhoneNumber {
            key,
            original: original.to_string(),
            e164: is_e164,
            original_cut,
        })
    }

    /// Parses a caller-ID number, where a withheld number (`anonymous`,
    /// `restricted`, an empty value...) is a real call from an unknown
    /// number, not an error: it gives `Ok(None)`. Strict otherwise.
    pub fn parse_caller_id(input: &str) -> Result<Option<Self>, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || is_withheld_marker(trimmed) {
            return Ok(None);
        }
        Self::parse(trimmed).map(Some)
    }

    /// The key form: E.164 where there is one, else the cleaned text.
    /// A number field of a form or payload, for the readers that name what
    /// they leave out: an E.164-able number, a short code or a number
    /// without its `+` (3 to 15 digits, no `+`), or a sender id (up to 11 letters
    /// and digits) is read as [`PhoneNumber::read`] reads it; a withheld
    /// caller is `None`; anything else (`call me`, `12`, a withheld *called*
    /// number) is an error naming it, so the reader keeps the text aside.
    pub fn read_field(text: &str, is_caller: bool) -> Result<Option<Self>, String> {
        let trimmed = text.trim();
        if is_withheld_marker(trimmed) || trimmed.is_empty() {
            return if is_caller {
                Ok(None)
            } else {
                Err("is not a number".into())
            };
        }
        if Self::parse(trimmed).is_ok() {
            return Ok(Self::read(trimmed));
        }
        // With a `+` it claims to be E.164, and is not.
        let short_code =
            (3..=15).contains(&trimmed.len()) && trimmed.bytes().all(|b| b.is_ascii_digit());
        let sender_id = (1..=11).contains(&trimmed.len())
            && trimmed.bytes().all(|b| b.is_ascii_alphanumeric())
            && trimmed.bytes().any(|b| b.is_ascii_alphabetic());
        if short_code || sender_id {
            Ok(Self::read(trimmed))
        } else {
            Err("is not a number, short code or sender id".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The text as the provider sent it (cut at [`MAX_ORIGINAL_CHARS`]); for
    /// a strictly parsed number, its E.164 form.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Whether the text as sent was longer than [`MAX_ORIGINAL_CHARS`].
    pub fn original_was_cut(&self) -> bool {
        self.original_cut
    }

    /// The E.164 form, where the text gave one unambiguously.
    pub fn e164(&self) -> Option<&str> {
        self.e164.then_some(self.key.as_str())
    }

    pub fn is_e164(&self) -> bool {
        self.e164
    }

    /// The digits after the `+` of an E.164 number; for any other number the
    /// key form (a short code's digits, a sender id's letters).
    pub fn digits(&self) -> &str {
        if self.e164 {
            &self.key[1..]
        } else {
            &self.key
        }
    }

    /// For logs: everything but the last four digits (of a number without an
    /// E.164 form, characters) masked.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.digits().chars().collect();
        let keep = chars.len().saturating_sub(4);
        let tail: String = chars[keep..].iter().collect();
        let plus = if self.e164 { "+" } else { "" };
        format!("{plus}{}{tail}", "*".repeat(keep))
    }
}

/// The strict E.164 reading of [`PhoneNumber::parse`].
fn strict_e164(input: &str) -> Result<String, PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError("is empty"));
    }
    let (international, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let digits = separated_digits(rest).ok_or(PhoneError(
        "must contain only digits, spaces, dashes, dots, parentheses and a leading +",
    ))?;
    let digits = if international {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if digits.len() == 10 && is_nanp_national(&digits) {
        format!("1{digits}")
    } else if digits.len() == 11 && digits.starts_with('1') && is_nanp_national(&digits[1..]) {
        digits
    } else {
        return Err(PhoneError(
            "must be in E.164 form with a leading + and country code",
        ));
    };
    if digits.starts_with('0') {
        return Err(PhoneError("country code cannot start with 0"));
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(PhoneError(
            "must have 8 to 15 digits including the country code",
        ));
    }
    Ok(format!("+{digits}"))
}

/// The digits of `text` if it holds only digits and the separators people
/// write between them.
fn separated_digits(text: &str) -> Option<String> {
    let mut digits = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// The E.164 form of a provider's text, where it is unambiguous.
fn tolerant_e164(trimmed: &str) -> Option<String> {
    let candidate = uri_user_part(trimmed).unwrap_or(trimmed);
    if let Ok(e164) = strict_e164(candidate) {
        return Some(e164);
    }
    // E.164 without its `+`: 12 to 15 digits beginning with a country code.
    // Shorter digit strings are left alone: 11 digits are as often a
    // national number (Brazil's mobiles, China's) as an international one.
    // Country codes 1 and 7 have 11-digit numbers only, so a longer string
    // beginning with them is not one of theirs.
    let digits = separated_digits(candidate)?;
    let plausible = (12..=15).contains(&digits.len())
        && !digits.starts_with(['0', '1', '7'])
        && has_country_code(&digits);
    plausible.then(|| format!("+{digits}"))
}

/// A ten-digit North American number: area code and exchange both start 2-9.
fn is_nanp_national(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 10 && bytes[0] >= b'2' && bytes[3] >= b'2'
}

/// Two-digit country codes (ITU-T E.164 assignments) other than 1 and 7.
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// Three-digit country codes, as ranges of assigned codes.
const THREE_DIGIT_CODES: &[(u16, u16)] = &[
    (211, 213),
    (216, 216),
    (218, 218),
    (220, 258),
    (260, 269),
    (290, 291),
    (297, 299),
    (350, 359),
    (370, 383),
    (385, 387),
    (389, 389),
    (420, 421),
    (423, 423),
    (500, 509),
    (590, 599),
    (670, 670),
    (672, 692),
    (800, 800),
    (808, 808),
    (850, 850),
    (852, 853),
    (855, 856),
    (870, 870),
    (878, 878),
    (880, 883),
    (886, 886),
    (888, 888),
    (960, 968),
    (970, 979),
    (992, 996),
    (998, 998),
];

/// Whether `digits` begins with an assigned country code.
fn has_country_code(digits: &str) -> bool {
    if TWO_DIGIT_CODES.iter().any(|code| digits.starts_with(code)) {
        return true;
    }
    let three: u16 = match digits.get(..3).and_then(|d| d.parse().ok()) {
        Some(n) => n,
        None => return false,
    };
    THREE_DIGIT_CODES
        .iter()
        .any(|(low, high)| (*low..=*high).contains(&three))
}

/// Characters never kept in a key form or a stored display text: C0 and C1
/// controls and the bidirectional controls that reorder what follows them.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// The key form of a number without an E.164 form: the trimmed text with
/// `#` (the key separator), `%` (so the encoding stays reversible) and
/// unsafe characters percent-encoded, bounded at [`MAX_KEY_CHARS`].
fn key_form(trimmed: &str) -> String {
    let mut key = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if c == '#' || c == '%' || is_unsafe_char(c) {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                key.push_str(&format!("%{byte:02X}"));
            }
        } else {
            key.push(c);
        }
    }
    if key.chars().count() <= MAX_KEY_CHARS {
        return key;
    }
    let (head, _) = cut_chars(&key, MAX_KEY_CHARS - KEY_HASH_CHARS);
    let hash = Sha256::digest(trimmed.as_bytes());
    format!("{head}~{}", hex::encode(&hash[..8]))
}

/// `text` cut to at most `max` characters, and whether it was cut.
fn cut_chars(text: &str, max: usize) -> (&str, bool) {
    match text.char_indices().nth(max) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    }
}

/// A display text (a caller's name) safe to store and show: unsafe
/// characters removed (line breaks and tabs become spaces), trimmed, and
/// cut at `max_chars`. `None` when nothing is left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeText {
    pub text: Option<String>,
    /// Characters were removed or replaced.
    pub cleaned: bool,
    /// The text was longer than the bound and was cut.
    pub cut: bool,
}

pub fn safe_display_text(input: &str, max_chars: usize) -> SafeText {
    let mut out = String::with_capacity(input.len().min(max_chars * 4));
    let mut cleaned = false;
    for c in input.chars() {
        let c = if is_unsafe_char(c) {
            cleaned = true;
            if c.is_whitespace() {
                ' '
            } else {
                continue;
            }
        } else {
            c
        };
        out.push(c);
    }
    let trimmed = out.trim();
    let (kept, cut) = cut_chars(trimmed, max_chars);
    let kept = kept.trim_end();
    SafeText {
        text: (!kept.is_empty()).then(|| kept.to_string()),
        cleaned,
        cut,
    }
}

/// How a value of a provider's JSON number field was read: the number (none
/// when withheld or unreadable), with a short note in `anomalies` for
/// anything that was not a plain E.164 string (`caller_id_number: withheld
/// ("Restricted")`, `to: not E.164, kept as sent`). `value` is `None` when
/// the field was missing.
pub fn read_json_number(
    field: &str,
    value: Option<&serde_json::Value>,
    anomalies: &mut Vec<String>,
) -> Option<PhoneNumber> {
    use serde_json::Value;
    let text = match value {
        None => {
            anomalies.push(format!("{field}: missing, read as withheld"));
            return None;
        }
        Some(Value::Null) => {
            anomalies.push(format!("{field}: null, read as withheld"));
            return None;
        }
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => {
            anomalies.push(format!("{field}: a JSON number, read as its digits"));
            json_number_text(number)
        }
        Some(other) => {
            anomalies.push(format!(
                "{field}: a JSON {}, read as withheld",
                json_type(other)
            ));
            return None;
        }
    };
    let number = PhoneNumber::read(&text);
    match &number {
        None if text.trim().is_empty() => {
            anomalies.push(format!("{field}: empty, read as withheld"));
        }
        None => anomalies.push(format!("{field}: withheld ({})", shown(&text))),
        Some(n) if !n.is_e164() => anomalies.push(format!("{field}: not E.164, kept as sent")),
        Some(n) if n.original() != n.as_str() => {
            anomalies.push(format!("{field}: {} read as {}", shown(&text), n.as_str()));
        }
        Some(_) => {}
    }
    if number.as_ref().is_some_and(PhoneNumber::original_was_cut) {
        anomalies.push(format!(
            "{field}: longer than {MAX_ORIGINAL_CHARS} characters, kept cut (whole in raw)"
        ));
    }
    number
}

/// A JSON number as the digits a provider meant: integers as written,
/// a float with no fraction (`14155552671.0`) as its integer.
fn json_number_text(number: &serde_json::Number) -> String {
    if let Some(n) = number.as_u64() {
        return n.to_string();
    }
    if let Some(n) = number.as_i64() {
        return n.to_string();
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => number.to_string(),
    }
}

/// The name of a JSON value's type, for notes.
pub fn json_type(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A provider's value quoted for a note: escaped, at most 40 characters.
pub fn shown(text: &str) -> String {
    let (head, cut) = cut_chars(text, 40);
    if cut {
        format!("{head:?}...")
    } else {
        format!("{head:?}")
    }
}

impl PartialEq for PhoneNumber {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for PhoneNumber {}

impl Hash for PhoneNumber {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for PhoneNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PhoneNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.key
    }
}

/// Masks a number for logs, or says it was withheld.
pub fn mask(number: Option<&PhoneNumber>) -> String {
    number.map_or_else(|| "withheld".to_string(), PhoneNumber::masked)
}

/// `text` (an id, a key) with each of `numbers`' digits masked like
/// [`PhoneNumber::masked`]: some providers' ids embed the caller's number
/// (Zonitel call ids are `<time>-<digits>`), and logs show only last fours.
pub fn redact(text: &str, numbers: &[Option<&PhoneNumber>]) -> String {
    let mut out = text.to_string();
    for number in numbers.iter().flatten() {
        let digits = number.digits();
        if digits.is_empty() {
            continue;
        }
        let masked = number.masked();
        // The digits of an E.164 number come without its `+`, so its mask
        // must too; a number without an E.164 form is masked as it is.
        let masked = match number.e164() {
            Some(_) => masked.strip_prefix('+').unwrap_or(&masked),
            None => &masked,
        };
        out = out.replace(digits, masked);
    }
    out
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_numbers_short_codes_and_sender_ids_and_name_the_rest() {
        let read = |t: &str, caller: bool| PhoneNumber::read_field(t, caller);
        assert_eq!(
            read("+14155552671", true).unwrap().unwrap().as_str(),
            "+14155552671"
        );
        assert_eq!(
            read("447700900123", false).unwrap().unwrap().as_str(),
            "+447700900123"
        );
        assert_eq!(read("72345", true).unwrap().unwrap().as_str(), "72345");
        assert_eq!(
            read("ACMEBANK", true).unwrap().unwrap().as_str(),
            "ACMEBANK"
        );
        assert_eq!(read("anonymous", true), Ok(None));
        assert_eq!(read("", true), Ok(None));
        for odd in [
            "+1415",
            "call me",
            "12",
            "anonymous",
            "ACME#BANK",
            "averyveryverylongname",
        ] {
            assert!(read(odd, false).is_err(), "{odd}");
        }
    }

    #[test]
    fn redact_masks_embedded_numbers_only() {
        let caller = PhoneNumber::parse("+14155552671").unwrap();
        let ours = PhoneNumber::parse("+18339664835").unwrap();
        assert_eq!(
            redact(
                "20261123T155122000Z-14155552671",
                &[Some(&caller), Some(&ours)]
            ),
            "20261123T155122000Z-*******2671"
        );
        assert_eq!(redact("CA123", &[Some(&caller), None]), "CA123");
        // A text that is no E.164 number keeps its `+` in its mask, so a
        // redacted id keeps its length (a fuzz finding: `"+1"`).
        let odd = PhoneNumber::read("+1").unwrap();
        assert_eq!(odd.e164(), None);
        assert_eq!(redact("id+1-x", &[Some(&odd)]), "id+1-x");
        let short = PhoneNumber::read("+12").unwrap();
        let id = "a+12b";
        assert_eq!(
            redact(id, &[Some(&short)]).chars().count(),
            id.chars().count()
        );
        assert_eq!(mask(Some(&caller)), "+*******2671");
    }

    fn ok(input: &str) -> String {
        PhoneNumber::parse(input).unwrap().to_string()
    }

    #[test]
    fn accepts_e164_and_common_formats() {
        assert_eq!(ok("+14155552671"), "+14155552671");
        assert_eq!(ok(" +1 (415) 555-2671 "), "+14155552671");
        assert_eq!(ok("+90 555 555 55 55"), "+905555555555");
        assert_eq!(ok("0014155552671"), "+14155552671");
        assert_eq!(ok("4155552671"), "+14155552671");
        assert_eq!(ok("14155552671"), "+14155552671");
        assert_eq!(ok("+10000000010"), "+10000000010");
    }

    #[test]
    fn refuses_what_cannot_be_e164() {
        for bad in [
            "",
            "   ",
            "+",
            "+0123456789",
            "+1234567",
            "+1234567890123456",
            "415-555",
            "12345",
            "+1415555267a",
            "++14155552671",
            "tel:+14155552671",
            "+1 415 555 2671 ext 2",
            "1234567890",
            "٤١٥٥٥٥٢٦٧١",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn withheld_caller_ids_are_not_errors() {
        for withheld in ["", "anonymous", "Restricted", "PRIVATE", " unknown "] {
            assert_eq!(PhoneNumber::parse_caller_id(withheld), Ok(None));
        }
        assert_eq!(
            PhoneNumber::parse_caller_id("+14155552671")
                .unwrap()
                .unwrap()
                .as_str(),
            "+14155552671"
        );
        assert!(PhoneNumber::parse_caller_id("call me").is_err());
    }

    #[test]
    fn masks_all_but_last_four_digits() {
        assert_eq!(ok("+14155552671"), "+14155552671");
        assert_eq!(
            PhoneNumber::parse("+14155552671").unwrap().masked(),
            "+*******2671"
        );
        assert_eq!(mask(None), "withheld");
    }

    fn read(text: &str) -> PhoneNumber {
        PhoneNumber::read(text).unwrap_or_else(|| panic!("{text:?} read as withheld"))
    }

    #[test]
    fn read_adds_e164_only_where_unambiguous() {
        for (text, e164) in [
            ("+14155552671", Some("+14155552671")),
            (" +1 (415) 555-2671\n", Some("+14155552671")),
            ("4155552671", Some("+14155552671")),
            ("14155552671", Some("+14155552671")),
            ("00447700900123", Some("+447700900123")),
            ("447700900123", Some("+447700900123")),
            ("44 7700 900123", Some("+447700900123")),
            ("4915112345678", Some("+4915112345678")),
            ("8613812345678", Some("+8613812345678")),
            ("sip:+14155552671@pbx.example.com", Some("+14155552671")),
            (
                "SIP:+447700900123@pbx.example.com;user=phone",
                Some("+447700900123"),
            ),
            ("tel:+1-415-555-2671", Some("+14155552671")),
            // National forms, short codes, sender ids: kept as sent.
            ("07700 900123", None),
            ("07700900123", None),
            ("33612345678", None),
            ("51987654321", None),
            ("72345", None),
            ("ACMEBANK", None),
            ("+1234567", None),
            ("sip:alice@pbx.example.com", None),
            // 12 digits without a country code, or with 1 or 7 first.
            ("283123456789", None),
            ("141555526710", None),
            ("791612345678", None),
        ] {
            let number = read(text);
            assert_eq!(number.e164(), e164, "{text:?}");
            assert_eq!(number.is_e164(), e164.is_some(), "{text:?}");
            assert_eq!(number.original(), text, "kept exactly as sent");
            if let Some(e164) = e164 {
                assert_eq!(number.as_str(), e164);
                assert_eq!(number, PhoneNumber::parse(e164).unwrap());
            } else {
                assert_eq!(number.as_str(), text.trim());
            }
        }
    }

    #[test]
    fn read_gives_none_only_for_empty_or_withheld() {
        for withheld in [
            "",
            "  ",
            "\u{202e}\t",
            "anonymous",
            "Restricted",
            "Unavailable",
            "private",
            " UNKNOWN ",
            "Private Number",
            "sip:anonymous@anonymous.invalid",
            "null",
        ] {
            assert_eq!(PhoneNumber::read(withheld), None, "{withheld:?}");
        }
    }

    #[test]
    fn key_forms_carry_no_separator_or_control() {
        let number = read("12#34%\u{0}\u{202e}x");
        assert_eq!(number.as_str(), "12%2334%25%00%E2%80%AEx");
        assert_eq!(number.original(), "12#34%\u{0}\u{202e}x");
        assert!(!number.is_e164());
        // Percent-encoding keeps distinct texts distinct.
        assert_ne!(read("1#2"), read("1%232"));
        let long = "a".repeat(5000);
        let number = read(&long);
        assert_eq!(number.as_str().chars().count(), MAX_KEY_CHARS);
        assert!(number.as_str().contains('~'));
        assert!(number.original_was_cut());
        assert_eq!(number.original().chars().count(), MAX_ORIGINAL_CHARS);
        assert_ne!(
            read(&format!("{long}b")).as_str(),
            number.as_str(),
            "a cut key keeps the whole text's hash"
        );
    }

    #[test]
    fn numbers_without_e164_mask_all_but_four_characters() {
        assert_eq!(read("ACMEBANK").masked(), "****BANK");
        assert_eq!(read("72345").masked(), "*2345");
        assert_eq!(read("447700900123").masked(), "+********0123");
        assert_eq!(read("ACMEBANK").digits(), "ACMEBANK");
        let sender = read("ACMEBANK");
        assert_eq!(redact("x-ACMEBANK", &[Some(&sender)]), "x-****BANK");
    }

    #[test]
    fn json_number_fields_note_what_was_odd() {
        let mut notes = Vec::new();
        let read_value = |value: Option<serde_json::Value>, notes: &mut Vec<String>| {
            read_json_number("to", value.as_ref(), notes).map(|n| n.as_str().to_string())
        };
        assert_eq!(
            read_value(Some(serde_json::json!("+14155552671")), &mut notes),
            Some("+14155552671".into())
        );
        assert!(notes.is_empty(), "{notes:?}");
        for (value, expected, note) in [
            (None, None, "to: missing, read as withheld"),
            (
                Some(serde_json::json!(null)),
                None,
                "to: null, read as withheld",
            ),
            (
                Some(serde_json::json!("")),
                None,
                "to: empty, read as withheld",
            ),
            (
                Some(serde_json::json!("Restricted")),
                None,
                "to: withheld (\"Restricted\")",
            ),
            (
                Some(serde_json::json!([1])),
                None,
                "to: a JSON array, read as withheld",
            ),
            (
                Some(serde_json::json!("72345")),
                Some("72345"),
                "to: not E.164, kept as sent",
            ),
            (
                Some(serde_json::json!("447700900123")),
                Some("+447700900123"),
                "to: \"447700900123\" read as +447700900123",
            ),
            (
                Some(serde_json::json!(14155552671_u64)),
                Some("+14155552671"),
                "to: a JSON number, read as its digits",
            ),
            (
                Some(serde_json::json!(14155552671.0)),
                Some("+14155552671"),
                "to: a JSON number, read as its digits",
            ),
        ] {
            let mut notes = Vec::new();
            assert_eq!(read_value(value.clone(), &mut notes).as_deref(), expected);
            assert_eq!(notes.first().map(String::as_str), Some(note), "{value:?}");
        }
    }

    #[test]
    fn display_text_is_cleaned_and_bounded() {
        assert_eq!(
            safe_display_text("  John\nDoe\u{202e}\u{0} ", 256),
            SafeText {
                text: Some("John Doe".into()),
                cleaned: true,
                cut: false
            }
        );
        let cut = safe_display_text(&"é".repeat(300), 256);
        assert_eq!(cut.text.as_ref().unwrap().chars().count(), 256);
        assert!(cut.cut && !cut.cleaned);
        assert_eq!(safe_display_text("\u{1}\u{2}", 10).text, None);
        assert_eq!(
            safe_display_text("Zoë 山田 🚀", 256).text.as_deref(),
            Some("Zoë 山田 🚀")
        );
    }

    #[test]
    fn deserializes_only_valid_numbers() {
        let n: PhoneNumber = serde_json::from_str("\"+14155552671\"").unwrap();
        assert_eq!(n.as_str(), "+14155552671");
        assert!(serde_json::from_str::<PhoneNumber>("\"nope\"").is_err());
    }
}

//! Phone numbers, normalized to E.164 (`+` and 8 to 15 digits, no leading 0).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form, e.g. `+14155552671`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// Why a string is not a phone number; the message is shown to the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneError(pub &'static str);

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for PhoneError {}

/// Callers who hide their number arrive with one of these instead of digits.
const WITHHELD_MARKERS: &[&str] = &[
    "anonymous",
    "restricted",
    "private",
    "unavailable",
    "unknown",
    "withheld",
    "blocked",
];

impl PhoneNumber {
    /// Parses a number written the way providers and people write them:
    /// `+14155552671`, `+1 (415) 555-2671`, `0014155552671`, or a North
    /// American number without its country code (`4155552671`,
    /// `14155552671`). Anything else is refused rather than guessed.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError("is empty"));
        }
        let (international, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(PhoneError(
                    "must contain only digits, spaces, dashes, dots, parentheses and a leading +",
                )),
            }
        }
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
        Ok(PhoneNumber(format!("+{digits}")))
    }

    /// Parses a caller-ID number, where a withheld number (`anonymous`,
    /// `restricted`, an empty value...) is a real call from an unknown
    /// number, not an error: it gives `Ok(None)`.
    pub fn parse_caller_id(input: &str) -> Result<Option<Self>, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty()
            || WITHHELD_MARKERS
                .iter()
                .any(|marker| trimmed.eq_ignore_ascii_case(marker))
        {
            return Ok(None);
        }
        Self::parse(trimmed).map(Some)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits after the `+`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// For logs: everything but the last four digits masked.
    pub fn masked(&self) -> String {
        let digits = self.digits();
        let keep = digits.len().saturating_sub(4);
        format!("+{}{}", "*".repeat(keep), &digits[keep..])
    }
}

/// A ten-digit North American number: area code and exchange both start 2-9.
fn is_nanp_national(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 10 && bytes[0] >= b'2' && bytes[3] >= b'2'
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        value.0
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
        let keep = digits.len().saturating_sub(4);
        let masked = format!("{}{}", "*".repeat(keep), &digits[keep..]);
        out = out.replace(digits, &masked);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn deserializes_only_valid_numbers() {
        let n: PhoneNumber = serde_json::from_str("\"+14155552671\"").unwrap();
        assert_eq!(n.as_str(), "+14155552671");
        assert!(serde_json::from_str::<PhoneNumber>("\"nope\"").is_err());
    }
}

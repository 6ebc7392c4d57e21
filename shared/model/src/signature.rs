//! Retell's request signature, `x-retell-signature` (docs/providers/retell.md).
//!
//! `x-retell-signature: v=<unix_ms>,d=<64 hex>` where `d` is HMAC-SHA256,
//! keyed by the Retell API key, over the raw body bytes followed by the
//! decimal millisecond timestamp. A request more than [`MAX_SKEW`] away from
//! our clock, either way, is refused, so a captured request cannot be
//! replayed later. The digest is compared in constant time (`hmac`'s
//! `verify_slice`), over the bytes exactly as received, before any parsing.

use crate::time::Timestamp;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

pub const SIGNATURE_HEADER: &str = "x-retell-signature";

/// How far the signed time may be from ours, either way: 5 minutes.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// Why a signature was refused. Every variant is a 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    /// Not `v=<digits>,d=<64 hex digits>`.
    Malformed,
    /// Signed more than [`MAX_SKEW_MS`] before or after now.
    Stale,
    /// The digest is not the body's (wrong key, or body or time altered).
    Mismatch,
    /// The function has no key to check with (and no explicit opt-in to
    /// unsigned requests): every request is refused.
    NotConfigured,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "missing x-retell-signature header",
            SignatureError::Malformed => {
                "x-retell-signature must be \"v=<unix ms>,d=<64 hex digits>\""
            }
            SignatureError::Stale => "x-retell-signature is more than 5 minutes from now",
            SignatureError::Mismatch => "x-retell-signature does not match the body",
            SignatureError::NotConfigured => crate::fail_closed::NOT_CONFIGURED,
        })
    }
}

impl std::error::Error for SignatureError {}

/// The Retell API key, or what stands in for it: nothing to check (an
/// explicitly open route) or a key that should be set and is not, which
/// refuses every request (fail closed).
#[derive(Clone)]
pub struct SigningKey {
    state: KeyState,
}

#[derive(Clone)]
enum KeyState {
    Configured(Vec<u8>),
    /// Explicitly open: `new(None)` in code, or `ALLOW_UNAUTHENTICATED=true`.
    Open,
    /// The variable that should hold the key is unset or empty.
    Missing(String),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            KeyState::Configured(_) => f.write_str("SigningKey(configured)"),
            KeyState::Open => f.write_str("SigningKey(open)"),
            KeyState::Missing(variable) => write!(f, "SigningKey(missing {variable})"),
        }
    }
}

impl SigningKey {
    /// A key to check with; `None` or an empty value is an explicitly open
    /// route (tests, tools). Deployed functions use [`Self::from_env`].
    pub fn new(key: Option<&str>) -> Self {
        SigningKey {
            state: match key.filter(|k| !k.is_empty()) {
                Some(key) => KeyState::Configured(key.as_bytes().to_vec()),
                None => KeyState::Open,
            },
        }
    }

    /// A key that should be in `variable` and is not: refuses everything.
    pub fn missing(variable: &str) -> Self {
        SigningKey {
            state: KeyState::Missing(variable.to_string()),
        }
    }

    /// Reads the key from the environment variable `name`. Unset or empty,
    /// every request is refused unless `ALLOW_UNAUTHENTICATED=true`; either
    /// way it says so once, at start-up.
    pub fn from_env(name: &str) -> Self {
        Self::from_vars(name, |var| std::env::var(var).ok())
    }

    /// [`Self::from_env`] over any source of variables.
    pub fn from_vars(name: &str, get: impl Fn(&str) -> Option<String>) -> Self {
        match get(name).filter(|k| !k.is_empty()) {
            Some(key) => Self::new(Some(&key)),
            None if crate::fail_closed::unauthenticated_allowed(&get) => {
                tracing::warn!(
                    variable = name,
                    "key not set and ALLOW_UNAUTHENTICATED=true: requests are accepted without a signature check"
                );
                Self::new(None)
            }
            None => {
                tracing::error!(
                    variable = name,
                    "key not set: every request is refused with 401; set {name}, or ALLOW_UNAUTHENTICATED=true to accept unsigned requests"
                );
                Self::missing(name)
            }
        }
    }

    /// Whether requests must be signed (also when the key is missing: then
    /// none can be).
    pub fn is_enabled(&self) -> bool {
        !matches!(self.state, KeyState::Open)
    }

    /// Checks the request's signature header (its value; `Some("")` when
    /// present but not text) against its raw body.
    pub fn verify_request(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), SignatureError> {
        let key = match &self.state {
            KeyState::Configured(key) => key,
            KeyState::Open => return Ok(()),
            KeyState::Missing(variable) => {
                tracing::warn!(variable = %variable, "refused: key not set");
                return Err(SignatureError::NotConfigured);
            }
        };
        let value = header.ok_or(SignatureError::Missing)?;
        verify(key, value, body, now)
    }
}

/// The signed time and the digest (64 lowercase hex digits) of a request's
/// signature header, if it has a well-formed one. Call it after
/// [`SigningKey::verify_request`]: it checks nothing. The digest names the
/// request for the replay guard.
pub fn signature_parts(header: Option<&str>) -> Option<(i64, String)> {
    let (signed_ms, digest) = parse_header(header?).ok()?;
    Some((signed_ms, hex::encode(digest)))
}

/// Verifies one header value for `body` at `now`.
pub fn verify(key: &[u8], header: &str, body: &[u8], now: Timestamp) -> Result<(), SignatureError> {
    let (signed_ms, digest) = parse_header(header)?;
    if now.as_millisecond().abs_diff(signed_ms) > MAX_SKEW_MS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    mac(key, body, signed_ms)
        .verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// The header value Retell would send: for tests, samples and local tools.
pub fn sign(key: &[u8], body: &[u8], signed_ms: i64) -> String {
    let digest = mac(key, body, signed_ms).finalize().into_bytes();
    format!("v={signed_ms},d={}", hex::encode(digest))
}

fn mac(key: &[u8], body: &[u8], signed_ms: i64) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    mac.update(signed_ms.to_string().as_bytes());
    mac
}

/// `v=<digits>,d=<64 hex>`, each exactly once, in either order.
fn parse_header(header: &str) -> Result<(i64, [u8; 32]), SignatureError> {
    let (mut version, mut digest) = (None, None);
    for part in header.trim().split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        let slot = match name {
            "v" => &mut version,
            "d" => &mut digest,
            _ => return Err(SignatureError::Malformed),
        };
        if slot.replace(value).is_some() {
            return Err(SignatureError::Malformed);
        }
    }
    let version = version.ok_or(SignatureError::Malformed)?;
    let digest = digest.ok_or(SignatureError::Malformed)?;
    if version.is_empty() || version.len() > 16 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    let signed_ms: i64 = version.parse().map_err(|_| SignatureError::Malformed)?;
    let mut bytes = [0u8; 32];
    if digest.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    hex::decode_to_slice(digest, &mut bytes).map_err(|_| SignatureError::Malformed)?;
    Ok((signed_ms, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-api-key";
    const BODY: &[u8] = br#"{"event":"call_ended"}"#;
    const TS: i64 = 1_700_000_000_000;
    const DIGEST: &str = "07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e";

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    #[test]
    fn design_vector() {
        assert_eq!(sign(KEY, BODY, TS), format!("v={TS},d={DIGEST}"));
        assert_eq!(
            verify(KEY, &format!("v={TS},d={DIGEST}"), BODY, at(TS)),
            Ok(())
        );
        // Order of the two fields does not matter.
        assert_eq!(
            verify(KEY, &format!("d={DIGEST},v={TS}"), BODY, at(TS)),
            Ok(())
        );
    }

    #[test]
    fn missing_header() {
        let key = SigningKey::new(Some("test-api-key"));
        assert_eq!(
            key.verify_request(None, BODY, at(TS)),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn malformed_headers() {
        for header in [
            "",
            "garbage",
            &format!("v={TS}"),
            &format!("d={DIGEST}"),
            &format!("v={TS};d={DIGEST}"),
            &format!("v=,d={DIGEST}"),
            &format!("v=-1,d={DIGEST}"),
            &format!("v=1e12,d={DIGEST}"),
            &format!("v={TS},d={DIGEST},x=1"),
            &format!("v={TS},v={TS},d={DIGEST}"),
            &format!("t={TS},d={DIGEST}"),
            &format!("v={TS},d=sha256:{DIGEST}"),
        ] {
            assert_eq!(
                verify(KEY, header, BODY, at(TS)),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn wrong_hex_length() {
        for digest in [&DIGEST[..62], &DIGEST[..63], &format!("{DIGEST}00"), ""] {
            assert_eq!(
                verify(KEY, &format!("v={TS},d={digest}"), BODY, at(TS)),
                Err(SignatureError::Malformed),
                "{digest}"
            );
        }
    }

    #[test]
    fn non_hex_digest() {
        let digest = format!("{}zz", &DIGEST[..62]);
        assert_eq!(
            verify(KEY, &format!("v={TS},d={digest}"), BODY, at(TS)),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn wrong_digest_or_key() {
        let mut other = DIGEST.to_string();
        other.replace_range(0..1, "1");
        assert_eq!(
            verify(KEY, &format!("v={TS},d={other}"), BODY, at(TS)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other-key", &format!("v={TS},d={DIGEST}"), BODY, at(TS)),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the digest.
        assert_eq!(
            verify(KEY, &format!("v={},d={DIGEST}", TS + 1), BODY, at(TS)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_beyond_five_minutes_either_way() {
        let header = format!("v={TS},d={DIGEST}");
        for now in [TS + MAX_SKEW_MS, TS - MAX_SKEW_MS] {
            assert_eq!(verify(KEY, &header, BODY, at(now)), Ok(()), "{now}");
        }
        for now in [TS + MAX_SKEW_MS + 1, TS - MAX_SKEW_MS - 1] {
            assert_eq!(
                verify(KEY, &header, BODY, at(now)),
                Err(SignatureError::Stale),
                "{now}"
            );
        }
    }

    #[test]
    fn body_altered() {
        let header = format!("v={TS},d={DIGEST}");
        for body in [
            &br#"{"event":"call_ended" }"#[..],
            br#"{"event":"call_endee"}"#,
            br#"{"event":"call_ended"}
"#,
            b"",
        ] {
            assert_eq!(
                verify(KEY, &header, body, at(TS)),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn a_missing_key_refuses_every_request_unless_explicitly_opened() {
        let signed_value = format!("v={TS},d={DIGEST}");
        let signed = Some(signed_value.as_str());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        for key in [
            SigningKey::from_vars("RETELL_API_KEY", env(&[])),
            SigningKey::from_vars("RETELL_API_KEY", env(&[("RETELL_API_KEY", "")])),
            SigningKey::from_vars("RETELL_API_KEY", env(&[("ALLOW_UNAUTHENTICATED", "yes")])),
        ] {
            assert!(key.is_enabled());
            for headers in [None, signed] {
                assert_eq!(
                    key.verify_request(headers, BODY, at(TS)),
                    Err(SignatureError::NotConfigured)
                );
            }
            assert_eq!(format!("{key:?}"), "SigningKey(missing RETELL_API_KEY)");
        }
        let open =
            SigningKey::from_vars("RETELL_API_KEY", env(&[("ALLOW_UNAUTHENTICATED", "true")]));
        assert!(!open.is_enabled());
        assert_eq!(open.verify_request(None, BODY, at(TS)), Ok(()));
        let set = SigningKey::from_vars(
            "RETELL_API_KEY",
            env(&[
                ("RETELL_API_KEY", "test-api-key"),
                ("ALLOW_UNAUTHENTICATED", "true"),
            ]),
        );
        assert_eq!(set.verify_request(signed, BODY, at(TS)), Ok(()));
        assert_eq!(
            set.verify_request(None, BODY, at(TS)),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn an_open_key_accepts_anything() {
        let disabled = SigningKey::new(Some(""));
        assert!(!disabled.is_enabled());
        assert_eq!(disabled.verify_request(None, BODY, at(TS)), Ok(()));
        let key = SigningKey::new(Some("test-api-key"));
        let header = format!("v={TS},d={DIGEST}");
        assert_eq!(key.verify_request(Some(&header), BODY, at(TS)), Ok(()));
        assert!(!format!("{key:?}").contains("test-api-key"));
    }
}

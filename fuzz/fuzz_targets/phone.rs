//! Phone numbers as providers write them: parsed to E.164 or refused with
//! a reason; the E.164 form parses to itself; masks keep four digits. The
//! tolerant reader reads anything but empty or withheld text, its key form
//! carries no `#` or control character, and its E.164 form is valid.
#![no_main]

use callhooks::phone::{is_unsafe_char, is_withheld_marker, redact, PhoneNumber, MAX_KEY_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    match PhoneNumber::read(&input) {
        None => {
            let trimmed = input.trim_matches(|c: char| c.is_whitespace() || is_unsafe_char(c));
            assert!(trimmed.is_empty() || is_withheld_marker(trimmed), "{input:?}");
        }
        Some(number) => {
            let key = number.as_str();
            assert!(!key.is_empty() && !key.contains('#'), "{key:?}");
            assert!(!key.chars().any(is_unsafe_char), "{key:?}");
            assert!(key.chars().count() <= MAX_KEY_CHARS, "{key:?}");
            assert!(input.starts_with(number.original()));
            if let Some(e164) = number.e164() {
                assert_eq!(PhoneNumber::parse(e164).as_ref(), Ok(&number));
            }
            let masked = number.masked();
            assert!(masked.chars().count() >= number.digits().chars().count());
            let _ = redact(&input, &[Some(&number)]);
        }
    }
    match PhoneNumber::parse(&input) {
        Ok(number) => {
            let text = number.as_str();
            let digits = number.digits();
            assert_eq!(&text[1..], digits);
            assert!(text.starts_with('+') && !digits.starts_with('0'));
            assert!((8..=15).contains(&digits.len()), "{text}");
            assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{text}");
            assert_eq!(PhoneNumber::parse(text).as_ref(), Ok(&number));
            assert_eq!(
                PhoneNumber::parse_caller_id(&input),
                Ok(Some(number.clone()))
            );
            let json = serde_json::to_string(&number).unwrap();
            assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), number);

            let masked = number.masked();
            assert_eq!(masked.len(), text.len());
            assert!(masked.ends_with(&digits[digits.len() - 4..]));
            assert_eq!(masked.bytes().filter(u8::is_ascii_digit).count(), 4);
            assert_eq!(redact(&input, &[Some(&number)]).len(), input.len());
        }
        Err(error) => {
            assert!(!error.0.is_empty());
            match PhoneNumber::parse_caller_id(&input) {
                Ok(None) => {}
                Ok(Some(number)) => panic!("{input:?} refused but read as {number}"),
                Err(again) => assert_eq!(again, error),
            }
        }
    }
});

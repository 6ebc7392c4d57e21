//! VoXML, Voxtelesys's call-control XML (Twilio's TwiML names): the few
//! verbs callhooks answers with, written by quick-xml so every interpolated
//! value (a greeting with `<`, `&` or quotes, a callback URL with `&`) is
//! escaped and can neither break nor inject markup.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

/// The media type of every VoXML answer.
pub const CONTENT_TYPE: &str = "application/xml";

/// One instruction of a `<Response>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    /// Text spoken to the caller.
    Say(String),
    /// Rings `numbers` at once; the first to answer takes the call. When the
    /// dial ends, Voxtelesys requests `action` with the outcome.
    Dial {
        numbers: Vec<String>,
        timeout_s: u32,
        action: String,
        method: String,
    },
    /// Records the caller after a beep, then requests `action` with the
    /// recording.
    Record {
        action: String,
        method: String,
        max_length_s: u32,
    },
    Hangup,
}

/// `<?xml ...?><Response>...</Response>` for these verbs (`<Response/>`
/// when there are none).
pub fn render(verbs: &[Verb]) -> String {
    let mut writer = Writer::new(Vec::new());
    // Writing into a Vec cannot fail; the results are checked by tests.
    let _ = write_response(&mut writer, verbs);
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

fn write_response(writer: &mut Writer<Vec<u8>>, verbs: &[Verb]) -> std::io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    if verbs.is_empty() {
        return writer.write_event(Event::Empty(BytesStart::new("Response")));
    }
    writer.write_event(Event::Start(BytesStart::new("Response")))?;
    for verb in verbs {
        match verb {
            Verb::Say(text) => text_element(writer, BytesStart::new("Say"), text)?,
            Verb::Dial {
                numbers,
                timeout_s,
                action,
                method,
            } => {
                let timeout = timeout_s.to_string();
                let action = xml_chars(action);
                let dial = BytesStart::new("Dial").with_attributes([
                    ("timeout", timeout.as_str()),
                    ("action", action.as_str()),
                    ("method", method.as_str()),
                ]);
                writer.write_event(Event::Start(dial))?;
                for number in numbers {
                    text_element(writer, BytesStart::new("Number"), number)?;
                }
                writer.write_event(Event::End(BytesEnd::new("Dial")))?;
            }
            Verb::Record {
                action,
                method,
                max_length_s,
            } => {
                let max_length = max_length_s.to_string();
                let action = xml_chars(action);
                let record = BytesStart::new("Record").with_attributes([
                    ("action", action.as_str()),
                    ("method", method.as_str()),
                    ("maxLength", max_length.as_str()),
                    ("playBeep", "true"),
                ]);
                writer.write_event(Event::Empty(record))?;
            }
            Verb::Hangup => writer.write_event(Event::Empty(BytesStart::new("Hangup")))?,
        }
    }
    writer.write_event(Event::End(BytesEnd::new("Response")))
}

fn text_element(
    writer: &mut Writer<Vec<u8>>,
    start: BytesStart<'_>,
    text: &str,
) -> std::io::Result<()> {
    let end = start.to_end().into_owned();
    writer.write_event(Event::Start(start))?;
    let text = xml_chars(text);
    writer.write_event(Event::Text(BytesText::new(&text)))?;
    writer.write_event(Event::End(end))
}

/// Drops the characters XML 1.0 forbids even escaped (control characters
/// other than tab and line breaks, U+FFFE, U+FFFF): escaping cannot make
/// them well-formed, and a caller cannot hear them anyway.
fn xml_chars(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{D7FF}').contains(&c)
                || ('\u{E000}'..='\u{FFFD}').contains(&c)
                || c >= '\u{10000}'
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event as XmlEvent;
    use quick_xml::Reader;

    /// Every element name, attribute and text of a document, in order;
    /// panics on malformed XML.
    fn parse(xml: &str) -> Vec<String> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let mut out = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                XmlEvent::Start(e) | XmlEvent::Empty(e) => {
                    out.push(format!("<{}", String::from_utf8_lossy(e.name().as_ref())));
                    for attr in e.attributes() {
                        let attr = attr.unwrap();
                        out.push(format!(
                            "@{}={}",
                            String::from_utf8_lossy(attr.key.as_ref()),
                            attr.unescape_value().unwrap()
                        ));
                    }
                }
                XmlEvent::Text(t) => out.push(t.unescape().unwrap().into_owned()),
                XmlEvent::Eof => return out,
                _ => {}
            }
        }
    }

    #[test]
    fn empty_response_is_self_closing() {
        let xml = render(&[]);
        assert_eq!(xml, r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
        assert_eq!(parse(&xml), vec!["<Response"]);
    }

    #[test]
    fn forwarding_answer_has_say_then_dial_with_action() {
        let xml = render(&[
            Verb::Say("Thanks for calling".into()),
            Verb::Dial {
                numbers: vec!["+14155550100".into(), "+14155550101".into()],
                timeout_s: 25,
                action: "https://h/voxtelesys/dial?token=a&b".into(),
                method: "POST".into(),
            },
        ]);
        assert_eq!(
            parse(&xml),
            vec![
                "<Response",
                "<Say",
                "Thanks for calling",
                "<Dial",
                "@timeout=25",
                "@action=https://h/voxtelesys/dial?token=a&b",
                "@method=POST",
                "<Number",
                "+14155550100",
                "<Number",
                "+14155550101",
            ]
        );
        assert!(xml.contains("token=a&amp;b"));
    }

    #[test]
    fn hostile_text_is_escaped_not_injected() {
        let hostile = r#"Hi</Say><Hangup/><Say a="1">'&"<![CDATA[x]]>"#;
        let xml = render(&[Verb::Say(hostile.into()), Verb::Hangup]);
        let parsed = parse(&xml);
        assert_eq!(parsed, vec!["<Response", "<Say", hostile, "<Hangup"]);
    }

    #[test]
    fn characters_xml_forbids_are_dropped() {
        let xml = render(&[Verb::Say("a\u{0}b\u{1b}c\td\u{FFFF}é😀".into())]);
        assert_eq!(parse(&xml)[2], "abc\td\u{e9}😀");
    }

    #[test]
    fn record_carries_action_and_max_length() {
        let xml = render(&[Verb::Record {
            action: "https://h/voxtelesys/recording".into(),
            method: "GET".into(),
            max_length_s: 90,
        }]);
        assert_eq!(
            parse(&xml),
            vec![
                "<Response",
                "<Record",
                "@action=https://h/voxtelesys/recording",
                "@method=GET",
                "@maxLength=90",
                "@playBeep=true",
            ]
        );
    }
}

//! VoXML, Voxtelesys's call-control XML (Twilio's TwiML names): a
//! provider's [`CallAnswer`] as the few verbs callhooks answers with, their
//! `action` URLs pointing back at our own callbacks, written by quick-xml so
//! every interpolated value (a greeting with `<`, `&` or quotes, a callback
//! URL with `&`) is escaped and can neither break nor inject markup.

use crate::providers::voxtelesys::{CallAnswer, Hook, Method};
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

/// The VoXML document of an answer, its callbacks at `links`.
pub fn render_answer(answer: &CallAnswer, links: &CallbackLinks) -> String {
    render(&verbs(answer, links))
}

/// The verbs that say an answer, in order, its callbacks at `links`.
pub fn verbs(answer: &CallAnswer, links: &CallbackLinks) -> Vec<Verb> {
    verbs_with(
        answer,
        &links.url(Hook::Dial),
        &links.url(Hook::Recording),
        &links.method,
    )
}

/// The verbs that say an answer, in order: a `<Dial>` reports to
/// `dial_action`, a `<Record>` to `recording_action`, both requested with
/// `method`. TwiML is the same document with Twilio's own callbacks
/// (`crate::twiml`).
pub fn verbs_with(
    answer: &CallAnswer,
    dial_action: &str,
    recording_action: &str,
    method: &str,
) -> Vec<Verb> {
    let say = |text: &Option<String>| text.iter().map(|t| Verb::Say(t.clone())).collect();
    match answer {
        CallAnswer::Nothing => Vec::new(),
        CallAnswer::HangUp { message } => {
            let mut verbs: Vec<Verb> = say(message);
            verbs.push(Verb::Hangup);
            verbs
        }
        CallAnswer::Forward {
            greeting,
            numbers,
            ring_timeout_s,
        } => {
            let mut verbs: Vec<Verb> = say(greeting);
            verbs.push(Verb::Dial {
                numbers: numbers.clone(),
                timeout_s: *ring_timeout_s,
                action: dial_action.to_string(),
                method: method.to_string(),
            });
            verbs
        }
        CallAnswer::Voicemail {
            greeting,
            prompt,
            max_length_s,
        } => {
            let mut verbs: Vec<Verb> = say(greeting);
            verbs.push(Verb::Say(prompt.clone()));
            verbs.push(Verb::Record {
                action: recording_action.to_string(),
                method: method.to_string(),
                max_length_s: *max_length_s,
            });
            verbs
        }
    }
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

pub(crate) fn text_element(
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
pub(crate) fn xml_chars(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{D7FF}').contains(&c)
                || ('\u{E000}'..='\u{FFFD}').contains(&c)
                || c >= '\u{10000}'
        })
        .collect()
}

/// Where a request came in, as plain text from its headers and API
/// Gateway's context (the function reads them off the request).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The `Host` header: what the provider called.
    pub host: Option<&'a str>,
    /// API Gateway's `domainName`.
    pub domain_name: Option<&'a str>,
    /// API Gateway's stage (`$default` for none).
    pub stage: Option<&'a str>,
    /// `X-Forwarded-Proto`.
    pub forwarded_proto: Option<&'a str>,
}

/// Where the VoXML's `action` callbacks point: absolute URLs on the host
/// and stage the request came in on, with the request's method, carrying
/// the `token` query parameter when the request authenticated with one (or
/// Voxtelesys's callbacks would be refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackLinks {
    /// `https://host[/stage]`, no trailing slash.
    pub origin: String,
    pub token: Option<String>,
    pub method: String,
}

impl CallbackLinks {
    pub fn url(&self, hook: Hook) -> String {
        let mut url = format!("{}/voxtelesys/{}", self.origin, hook.as_str());
        if let Some(token) = &self.token {
            url.push_str("?token=");
            url.extend(form_urlencoded::byte_serialize(token.as_bytes()));
        }
        url
    }

    /// From where the request came in: API Gateway's `domainName` (what
    /// the platform says it served, never what a client wrote), else, for a
    /// local run whose context names only a loopback host, the Host header
    /// (which carries the local port); the stage unless it is `$default`; the scheme from
    /// `X-Forwarded-Proto`, else http for a local host and https for any
    /// other; the request's method; and the `token` the request
    /// authenticated with, if it used the query parameter.
    pub fn new(origin: &Origin, method: Method, token: Option<&str>) -> Self {
        let is_local = |host: &str| {
            ["localhost", "127.0.0.1", "[::1]"]
                .iter()
                .any(|l| host == *l || host.starts_with(&format!("{l}:")))
        };
        let deployed = origin.domain_name.filter(|d| is_host(d) && !is_local(d));
        let local_host = origin.host.filter(|h| is_host(h) && is_local(h));
        let host = deployed
            .or(local_host)
            .or(origin.domain_name.filter(|d| is_host(d)))
            .unwrap_or("localhost");
        let local = is_local(host);
        let scheme = match origin.forwarded_proto {
            Some("http") => "http",
            Some("https") => "https",
            _ if local => "http",
            _ => "https",
        };
        let mut origin_url = format!("{scheme}://{host}");
        if let Some(stage) = origin.stage.filter(|s| {
            *s != "$default"
                && !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            origin_url.push('/');
            origin_url.push_str(stage);
        }
        CallbackLinks {
            origin: origin_url,
            token: token.map(str::to_string),
            method: method.as_str().to_string(),
        }
    }
}

/// A host name, IPv4 or bracketed IPv6 address, with an optional port.
fn is_host(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event as XmlEvent;
    use quick_xml::Reader;

    #[test]
    fn callbacks_point_at_the_platforms_domain_not_the_clients_host() {
        let origin = |host, domain_name| Origin {
            host,
            domain_name,
            stage: Some("$default"),
            forwarded_proto: None,
        };
        let deployed = CallbackLinks::new(
            &origin(
                Some("evil.example"),
                Some("abc.execute-api.us-east-1.amazonaws.com"),
            ),
            Method::Post,
            None,
        );
        assert_eq!(
            deployed.origin,
            "https://abc.execute-api.us-east-1.amazonaws.com"
        );
        // make dev: the context says localhost, the Host header has the port.
        let local = CallbackLinks::new(
            &origin(Some("127.0.0.1:9000"), Some("localhost")),
            Method::Get,
            Some("t"),
        );
        assert_eq!(local.origin, "http://127.0.0.1:9000");
        // A Host that is not local never wins over a local context.
        let spoofed = CallbackLinks::new(
            &origin(Some("evil.example"), Some("localhost")),
            Method::Get,
            None,
        );
        assert_eq!(spoofed.origin, "http://localhost");
    }

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

    fn links(token: Option<&str>) -> CallbackLinks {
        CallbackLinks {
            origin: "https://api.example.com/prod".into(),
            token: token.map(str::to_string),
            method: "POST".into(),
        }
    }

    #[test]
    fn a_forward_greets_then_dials_with_an_absolute_action() {
        let answer = CallAnswer::Forward {
            greeting: Some("Hello <b> & \"co\"".into()),
            numbers: vec!["+14155550100".into(), "+14155550101".into()],
            ring_timeout_s: 25,
        };
        let verbs = verbs(&answer, &links(Some("a b&c")));
        assert_eq!(
            verbs,
            vec![
                Verb::Say("Hello <b> & \"co\"".into()),
                Verb::Dial {
                    numbers: vec!["+14155550100".into(), "+14155550101".into()],
                    timeout_s: 25,
                    action: "https://api.example.com/prod/voxtelesys/dial?token=a+b%26c".into(),
                    method: "POST".into(),
                },
            ]
        );
        assert!(render_answer(&answer, &links(Some("a b&c")))
            .contains("Hello &lt;b&gt; &amp; &quot;co&quot;"));
    }

    #[test]
    fn voicemail_hang_up_and_nothing_are_their_verbs() {
        let voicemail = CallAnswer::Voicemail {
            greeting: None,
            prompt: "Leave it".into(),
            max_length_s: 90,
        };
        assert_eq!(
            verbs(&voicemail, &links(None)),
            vec![
                Verb::Say("Leave it".into()),
                Verb::Record {
                    action: "https://api.example.com/prod/voxtelesys/recording".into(),
                    method: "POST".into(),
                    max_length_s: 90,
                },
            ]
        );
        let greeted = CallAnswer::Voicemail {
            greeting: Some("Hi".into()),
            prompt: "Leave it".into(),
            max_length_s: 90,
        };
        assert_eq!(
            verbs(&greeted, &links(None))[..2],
            [Verb::Say("Hi".into()), Verb::Say("Leave it".into())]
        );
        assert_eq!(
            verbs(
                &CallAnswer::HangUp {
                    message: Some("Sorry".into())
                },
                &links(None)
            ),
            vec![Verb::Say("Sorry".into()), Verb::Hangup]
        );
        assert_eq!(
            verbs(&CallAnswer::HangUp { message: None }, &links(None)),
            vec![Verb::Hangup]
        );
        assert_eq!(
            render_answer(&CallAnswer::Nothing, &links(None)),
            render(&[])
        );
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

//! TwiML, Twilio's call-control XML: a [`CallAnswer`] (the decision shared
//! with Voxtelesys, `crate::call_answer`) as the verbs Twilio documents for
//! it: `<Say>`, `<Dial timeout action method><Number>`, `<Record action
//! method maxLength playBeep>`, `<Hangup/>`, or an empty `<Response/>`
//! (also the answer to an inbound SMS and to every status callback). The
//! `action` URLs point back at `/twilio/dial` and `/twilio/recording` on
//! the public base URL. Written by quick-xml, so every interpolated value
//! (a hostile greeting, a URL with `&`) is escaped.

use crate::call_answer::CallAnswer;
use crate::providers::twilio::signature::PublicBaseUrl;
use crate::providers::twilio::Hook;
use crate::voxml::{self, Verb};

/// The media type of every TwiML answer.
pub const CONTENT_TYPE: &str = "text/xml";

/// Our callbacks are requested with POST: form parameters Twilio signs.
const CALLBACK_METHOD: &str = "POST";

/// Where the `action` callbacks point: absolute public URLs of the dial and
/// recording routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackLinks {
    pub dial: String,
    pub recording: String,
}

impl CallbackLinks {
    /// From the configured `PublicBaseUrl` when there is one (its
    /// connection-override fragment kept, so Twilio's callbacks carry it
    /// too), else from `origin`, the request's `https://host[/stage]`.
    pub fn new(base: Option<&PublicBaseUrl>, origin: &str) -> Self {
        let url = |hook: Hook| match base {
            Some(base) => base.url(hook.path(), ""),
            None => format!("{}{}", origin.trim_end_matches('/'), hook.path()),
        };
        CallbackLinks {
            dial: url(Hook::Dial),
            recording: url(Hook::Recording),
        }
    }
}

/// The TwiML document of an answer, its callbacks at `links`: the same
/// verbs as VoXML (`crate::voxml`), whose names are Twilio's.
pub fn render_answer(answer: &CallAnswer, links: &CallbackLinks) -> String {
    voxml::render(&verbs(answer, links))
}

/// The empty `<Response/>`: inbound messages and status callbacks.
pub fn empty_response() -> String {
    voxml::render(&[])
}

/// The verbs that say an answer, in order.
pub fn verbs(answer: &CallAnswer, links: &CallbackLinks) -> Vec<Verb> {
    voxml::verbs_with(answer, &links.dial, &links.recording, CALLBACK_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event as XmlEvent;
    use quick_xml::Reader;

    /// Every element name, attribute and text of a document, in order;
    /// fails the test on malformed XML.
    fn parse(xml: &str) -> Vec<String> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let mut out = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                XmlEvent::Start(e) | XmlEvent::Empty(e) => {
                    out.push(format!("<{}", String::from_utf8_lossy(e.name().as_ref())));
                    for attr in e.attributes() {
                        let attr = attr.expect("a well-formed attribute");
                        out.push(format!(
                            "@{}={}",
                            String::from_utf8_lossy(attr.key.as_ref()),
                            attr.unescape_value().expect("escaped value")
                        ));
                    }
                }
                XmlEvent::Text(t) => out.push(t.unescape().expect("escaped text").into_owned()),
                XmlEvent::Eof => return out,
                _ => {}
            }
        }
    }

    fn links() -> CallbackLinks {
        CallbackLinks::new(None, "https://abc.execute-api.us-east-1.amazonaws.com/prod")
    }

    #[test]
    fn an_empty_response_answers_messages_and_status_callbacks() {
        let xml = empty_response();
        assert_eq!(xml, r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
        assert_eq!(render_answer(&CallAnswer::Nothing, &links()), xml);
        assert_eq!(parse(&xml), vec!["<Response"]);
    }

    #[test]
    fn forward_says_the_greeting_then_dials_with_its_action() {
        let answer = CallAnswer::Forward {
            greeting: Some("Welcome".into()),
            numbers: vec!["+14155550100".into(), "+14155550101".into()],
            ring_timeout_s: 25,
        };
        let xml = render_answer(&answer, &links());
        assert_eq!(
            parse(&xml),
            vec![
                "<Response",
                "<Say",
                "Welcome",
                "<Dial",
                "@timeout=25",
                "@action=https://abc.execute-api.us-east-1.amazonaws.com/prod/twilio/dial",
                "@method=POST",
                "<Number",
                "+14155550100",
                "<Number",
                "+14155550101",
            ]
        );
    }

    #[test]
    fn voicemail_prompts_then_records_with_a_beep() {
        let answer = CallAnswer::Voicemail {
            greeting: None,
            prompt: "Leave a message".into(),
            max_length_s: 90,
        };
        assert_eq!(
            parse(&render_answer(&answer, &links())),
            vec![
                "<Response",
                "<Say",
                "Leave a message",
                "<Record",
                "@action=https://abc.execute-api.us-east-1.amazonaws.com/prod/twilio/recording",
                "@method=POST",
                "@maxLength=90",
                "@playBeep=true",
            ]
        );
    }

    #[test]
    fn hang_up_says_its_message_if_any() {
        let with_message = CallAnswer::HangUp {
            message: Some("Closed".into()),
        };
        assert_eq!(
            parse(&render_answer(&with_message, &links())),
            vec!["<Response", "<Say", "Closed", "<Hangup"]
        );
        assert_eq!(
            render_answer(&CallAnswer::hang_up(), &links()),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#
        );
    }

    #[test]
    fn hostile_greetings_are_escaped_never_markup() {
        let hostile = r#"</Say><Dial>+19005550000</Dial><Say a="x">&amp; "quoted" 'single'"#;
        let answer = CallAnswer::HangUp {
            message: Some(format!("{hostile}\u{0}\u{1b}")),
        };
        let xml = render_answer(&answer, &links());
        assert!(!xml.contains("<Dial>"), "{xml}");
        // Control characters XML cannot hold are dropped; the rest is said
        // exactly as written.
        assert_eq!(parse(&xml), vec!["<Response", "<Say", hostile, "<Hangup"]);
    }

    #[test]
    fn urls_with_ampersands_and_fragments_are_escaped_in_attributes() {
        let base = PublicBaseUrl::parse("https://hooks.example.com/a&b#rc=2&ct=1000").unwrap();
        let links = CallbackLinks::new(Some(&base), "https://ignored.example");
        assert_eq!(
            links.dial,
            "https://hooks.example.com/a&b/twilio/dial#rc=2&ct=1000"
        );
        let answer = CallAnswer::Forward {
            greeting: None,
            numbers: vec!["+14155550100".into()],
            ring_timeout_s: 20,
        };
        let xml = render_answer(&answer, &links);
        assert!(
            xml.contains("a&amp;b/twilio/dial#rc=2&amp;ct=1000"),
            "{xml}"
        );
        assert!(parse(&xml).contains(&format!("@action={}", links.dial)));
        let voicemail = CallAnswer::Voicemail {
            greeting: None,
            prompt: "p".into(),
            max_length_s: 60,
        };
        assert!(parse(&render_answer(&voicemail, &links))
            .contains(&format!("@action={}", links.recording)));
    }
}

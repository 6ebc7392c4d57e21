//! One delivery as plain data: which route it came in on, its bytes and the
//! few request details a provider's reader needs. Built once at the edge
//! (see [`super::edge`]) after the request authenticated, and again by the
//! spillway from a spilled copy, so both read it the same way.

use super::decode::BodyDecoding;
use crate::event::Provider;
use crate::providers::voxtelesys::Hook;
use crate::time::Timestamp;

/// A webhook route: where a delivery came in, and so who sent it and how
/// it is read. [`Route::ALL`] is the one list of routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    ZonitelCall,
    ZonitelSms,
    SalpreEvents,
    Voxtelesys(Hook),
    RetellInbound,
    /// Retell's call events: joined to their call by reads, so the retell
    /// function reads them itself; only an unreadable one comes this way.
    RetellEvents,
}

impl Route {
    pub const ALL: [Route; 9] = [
        Route::ZonitelCall,
        Route::ZonitelSms,
        Route::SalpreEvents,
        Route::Voxtelesys(Hook::Voice),
        Route::Voxtelesys(Hook::Status),
        Route::Voxtelesys(Hook::Recording),
        Route::Voxtelesys(Hook::Dial),
        Route::RetellInbound,
        Route::RetellEvents,
    ];

    /// The route's path, as API Gateway serves it.
    pub fn path(self) -> &'static str {
        match self {
            Route::ZonitelCall => "/zonitel/calls",
            Route::ZonitelSms => "/zonitel/sms",
            Route::SalpreEvents => "/salpre/events",
            Route::Voxtelesys(Hook::Voice) => "/voxtelesys/voice",
            Route::Voxtelesys(Hook::Status) => "/voxtelesys/status",
            Route::Voxtelesys(Hook::Recording) => "/voxtelesys/recording",
            Route::Voxtelesys(Hook::Dial) => "/voxtelesys/dial",
            Route::RetellInbound => "/retell/inbound",
            Route::RetellEvents => "/retell/events",
        }
    }

    /// The route of a path; `None` for a path no webhook serves.
    pub fn of_path(path: &str) -> Option<Route> {
        let path = path.trim_end_matches('/');
        Route::ALL
            .into_iter()
            .find(|route| path.ends_with(route.path()))
    }

    pub fn provider(self) -> Provider {
        match self {
            Route::ZonitelCall | Route::ZonitelSms => Provider::Zonitel,
            Route::SalpreEvents => Provider::Salpre,
            Route::Voxtelesys(_) => Provider::Voxtelesys,
            Route::RetellInbound | Route::RetellEvents => Provider::Retell,
        }
    }

    /// The environment variable holding the secret this route checks.
    pub fn secret_variable(self) -> &'static str {
        match self.provider() {
            Provider::Zonitel => "ZONITEL_WEBHOOK_TOKEN",
            Provider::Salpre => "SALPRE_WEBHOOK_TOKEN",
            Provider::Voxtelesys => "VOXTELESYS_WEBHOOK_TOKEN",
            Provider::Retell => "RETELL_API_KEY",
            Provider::Twilio => "TWILIO_AUTH_TOKEN",
        }
    }
}

/// One authenticated delivery, within the size limit, as it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub route: Route,
    /// POST (a body) or GET (parameters in the query string: Voxtelesys).
    pub is_post: bool,
    /// The Content-Type header as sent, if any. Only a hint: senders
    /// mislabel, so bodies are read by what they are.
    pub content_type: Option<String>,
    /// The query string without its `token` parameters: a secret is never
    /// kept.
    pub query: String,
    /// The body to read: as it came, or decoded at the edge from its
    /// Content-Encoding and charset (see `decoding`).
    pub body: Vec<u8>,
    /// What the edge did to the body before anything read it.
    pub decoding: BodyDecoding,
    /// The sender's User-Agent, kept with an unrecognized delivery to tell
    /// who sent it.
    pub user_agent: Option<String>,
    pub received_at: Timestamp,
}

impl Delivery {
    /// What a provider parses: the body without a UTF-8 byte order mark (some
    /// senders write one), or, for a GET, the query string.
    pub fn payload(&self) -> &[u8] {
        let bytes = if self.is_post {
            self.body.as_slice()
        } else {
            self.query.as_bytes()
        };
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    }

    /// The payload as text, when it is text.
    pub fn payload_text(&self) -> Option<&str> {
        std::str::from_utf8(self.payload()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_found_by_its_path_with_or_without_a_stage() {
        for route in Route::ALL {
            assert_eq!(Route::of_path(route.path()), Some(route));
            assert_eq!(
                Route::of_path(&format!("/prod{}", route.path())),
                Some(route)
            );
            assert_eq!(Route::of_path(&format!("{}/", route.path())), Some(route));
        }
        assert_eq!(Route::of_path("/voxtelesys/other"), None);
        assert_eq!(Route::of_path("/"), None);
    }

    #[test]
    fn every_provider_has_a_route() {
        // Twilio's routes join the table when the route table wires them
        // (issue 25); until then it is the one provider without one.
        for provider in crate::event::Provider::ALL
            .into_iter()
            .filter(|p| *p != crate::event::Provider::Twilio)
        {
            assert!(
                Route::ALL.iter().any(|r| r.provider() == provider),
                "{provider}"
            );
        }
    }

    #[test]
    fn payload_drops_a_byte_order_mark_and_reads_a_get_from_its_query() {
        let mut delivery = Delivery {
            route: Route::ZonitelCall,
            is_post: true,
            content_type: None,
            query: "CallSid=CA1".into(),
            body: b"\xEF\xBB\xBF{}".to_vec(),
            decoding: BodyDecoding::AsSent,
            user_agent: None,
            received_at: Timestamp::from_millisecond(0).unwrap(),
        };
        assert_eq!(delivery.payload(), b"{}");
        delivery.is_post = false;
        assert_eq!(delivery.payload_text(), Some("CallSid=CA1"));
    }
}

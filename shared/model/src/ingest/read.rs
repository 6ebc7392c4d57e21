//! Reading a delivery with its route's reader (the route table's): the
//! normalized event and what it writes, or why it could not be read. The
//! webhooks and the spillway read through here alike.

use super::delivery::Delivery;
use crate::providers::{voxtelesys, ReadError};

pub use crate::providers::Reading;

/// Why a delivery could not be read: kept with it as an unrecognized
/// delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub reason: String,
}

impl From<ReadError> for Unreadable {
    fn from(error: ReadError) -> Self {
        Unreadable {
            reason: error.to_string(),
        }
    }
}

/// Reads a delivery of any route into its event and plan.
pub fn read(delivery: &Delivery, retention_days: u32) -> Result<Reading, Unreadable> {
    Ok((delivery.route.entry().read)(
        &delivery.as_payload(),
        retention_days,
    )?)
}

/// A Voxtelesys callback (its answer depends on it, not only its reading).
pub fn read_voxtelesys(
    delivery: &Delivery,
    hook: voxtelesys::Hook,
) -> Result<voxtelesys::Callback, Unreadable> {
    Ok(voxtelesys::read_callback(hook, &delivery.as_payload())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_table::Route;
    use crate::time::Timestamp;

    fn delivery(route: Route, body: &str) -> Delivery {
        Delivery {
            route,
            is_post: true,
            content_type: Some("application/json".into()),
            query: String::new(),
            body: body.as_bytes().to_vec(),
            decoding: Default::default(),
            user_agent: None,
            received_at: Timestamp::from_millisecond(1_795_449_082_000).unwrap(),
        }
    }

    #[test]
    fn a_form_on_a_json_route_is_read_as_its_fields_and_named() {
        let recording = read(
            &delivery(
                Route::ZonitelCall,
                "caller_id_name=Ann&caller_id_number=%2B14155552671&destination_number=%2B18339664835",
            ),
            30,
        )
        .unwrap();
        assert_eq!(recording.event.from.unwrap().as_str(), "+14155552671");
        assert_eq!(recording.event.anomalies.len(), 1);
        let event_item = &recording.plan.puts.last().unwrap().item;
        assert!(event_item.contains_key(crate::store::plan::ANOMALIES));
    }

    #[test]
    fn a_byte_order_mark_is_read_past_and_kept_in_the_raw_body() {
        let body = "\u{feff}{\"caller_id_number\": \"+14155552671\", \"destination_number\": \"+18339664835\"}";
        let recording = read(&delivery(Route::ZonitelCall, body), 30).unwrap();
        assert!(recording.event.raw.starts_with('\u{feff}'));
    }

    #[test]
    fn what_no_reader_understands_is_unreadable_with_a_reason() {
        for body in ["not json at all", "[1,2]", "{\"unrelated\": true}", ""] {
            let error = read(&delivery(Route::ZonitelCall, body), 30).unwrap_err();
            assert!(!error.reason.is_empty(), "{body:?}");
        }
        let mut binary = delivery(Route::SalpreEvents, "");
        binary.body = vec![0xff, 0xfe, 0x00];
        assert!(read(&binary, 30).unwrap_err().reason.contains("UTF-8"));
    }

    #[test]
    fn a_retell_call_event_is_not_read_without_its_join() {
        let error = read(&delivery(Route::RetellEvents, "{}"), 30).unwrap_err();
        assert!(error.reason.contains("join"));
    }
}

//! Reads and deletes for the `callhooks` command: what an operator asks
//! of the table (list the numbers, look at a number's recent calls since a
//! moment, read one call's summary item whole, delete a document). Webhooks
//! never call these.

use super::plan::Item;
use super::sdk::{self, from_sdk_item, SdkItem};
use super::{keys, store_error, CallSummary, SmsSummary, SortKeyRange, Store, StoreError};
use crate::config::{Contact, NumberConfig};
use crate::event::Channel;
use crate::phone::PhoneNumber;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use aws_sdk_dynamodb::types::{AttributeValue as SdkValue, ReturnValue};

/// One entry of a number's timeline (access pattern 3): a call or a message.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineEntry {
    Call(CallSummary),
    Sms(SmsSummary),
}

impl TimelineEntry {
    /// A summary item as the timeline indexes return it.
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        match item.get(keys::ITEM_TYPE).and_then(|v| v.as_s().ok()) {
            Some(kind) if kind == Channel::Sms.as_str() => {
                Ok(SmsSummary::from_item(item).map(Self::Sms)?)
            }
            _ => Ok(CallSummary::from_item(item).map(Self::Call)?),
        }
    }

    pub fn first_seen_at(&self) -> &str {
        match self {
            TimelineEntry::Call(c) => &c.first_seen_at,
            TimelineEntry::Sms(m) => &m.first_seen_at,
        }
    }
}

impl Store {
    /// Access pattern 3 from a moment on: the calls and messages first seen
    /// at or after `since_key` (a [`crate::time::to_key`] string; `None`:
    /// any time) from or to `number`, newest first, at most `limit`. Both
    /// indexes are read concurrently (pages followed until `limit` items or
    /// the bound) and merged; a call from the number to itself counts once.
    pub async fn timeline_since(
        &self,
        number: &PhoneNumber,
        since_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.timeline_window(number, since_key, None, limit).await
    }

    /// [`Self::timeline_since`], first seen before `until_key` too (`None`:
    /// up to now): the next older page after one that ended at it.
    pub async fn timeline_window(
        &self,
        number: &PhoneNumber,
        since_key: Option<&str>,
        until_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let limit = limit.max(1);
        let window = Window::new(since_key, until_key);
        let (from, to) = tokio::join!(
            self.query_timeline(
                keys::GSI1,
                keys::GSI1PK,
                keys::GSI1SK,
                number,
                &window,
                limit
            ),
            self.query_timeline(
                keys::GSI2,
                keys::GSI2PK,
                keys::GSI2SK,
                number,
                &window,
                limit
            )
        );
        let sort_key = |item: &Item, attr: &str| {
            item.get(attr)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let mut merged: Vec<(String, Item)> = from?
            .into_iter()
            .map(|i| (sort_key(&i, keys::GSI1SK), i))
            .chain(to?.into_iter().map(|i| (sort_key(&i, keys::GSI2SK), i)))
            .collect();
        merged.sort_by(|a, b| b.0.cmp(&a.0));
        merged.dedup_by(|a, b| a.1.get(keys::PK) == b.1.get(keys::PK));
        merged.truncate(limit);
        merged
            .iter()
            .map(|(_, item)| TimelineEntry::from_item(item))
            .collect()
    }

    /// The recent-activity pattern for one UTC day (GSI3): the calls and
    /// messages first seen that day, at or after `since_key` if given,
    /// newest first; pages followed until `limit` (`None`: the whole day).
    pub async fn day_activity(
        &self,
        day: jiff::civil::Date,
        since_key: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.day_activity_window(day, &Window::new(since_key, None), limit)
            .await
    }

    async fn day_activity_window(
        &self,
        day: jiff::civil::Date,
        window: &Window,
        limit: Option<usize>,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start: Option<SdkItem> = None;
        loop {
            let page_limit = limit.map(|l| i32::try_from(l - entries.len()).unwrap_or(i32::MAX));
            let range = window.range(keys::GSI3SK);
            let output = self
                .newest_first(keys::GSI3, keys::GSI3PK, keys::day_pk_of(day), range)
                .set_limit(page_limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            for item in sdk::items(output.items) {
                entries.push(TimelineEntry::from_item(&item)?);
            }
            let full = limit.is_some_and(|l| entries.len() >= l);
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && !full => start = Some(key),
                _ => return Ok(entries),
            }
        }
    }

    /// The calls and messages of every number, newest first (the recent-
    /// activity pattern): day partitions from `today` back to `since_key`'s
    /// day (UTC), one query each, until `limit` entries that `keep` (if
    /// any) accepts.
    /// No scan: each day is one partition of GSI3.
    pub async fn recent_activity(
        &self,
        today: jiff::civil::Date,
        since_key: &str,
        limit: usize,
        keep: Option<&dyn Fn(&TimelineEntry) -> bool>,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.recent_activity_window(today, since_key, None, limit, keep)
            .await
    }

    /// [`Self::recent_activity`] of what was first seen before `until_key`
    /// too (`None`: up to `today`): the next older page, starting from
    /// `until_key`'s day.
    pub async fn recent_activity_window(
        &self,
        today: jiff::civil::Date,
        since_key: &str,
        until_key: Option<&str>,
        limit: usize,
        keep: Option<&dyn Fn(&TimelineEntry) -> bool>,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let day_of = |key: &str| {
            key.get(..10)
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        };
        let first_day = day_of(since_key).unwrap_or(today);
        let window = Window::new(Some(since_key), until_key);
        let mut found = Vec::new();
        let mut day = until_key.and_then(day_of).unwrap_or(today).min(today);
        while day >= first_day && found.len() < limit {
            // Without a filter a day needs no more than what is still
            // missing; with one, the whole day is read.
            let wanted = keep.is_none().then(|| limit - found.len());
            let entries = self.day_activity_window(day, &window, wanted).await?;
            found.extend(
                entries
                    .into_iter()
                    .filter(|e| keep.is_none_or(|keep| keep(e))),
            );
            day = match day.yesterday() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn query_timeline(
        &self,
        index: &str,
        partition_attr: &str,
        sort_attr: &str,
        number: &PhoneNumber,
        window: &Window,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<SdkItem> = None;
        loop {
            let range = window.range(sort_attr);
            let output = self
                .newest_first(index, partition_attr, keys::phone_pk(number), range)
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            // GSI1 also holds the number's contact record (see `keys`).
            items.extend(
                sdk::items(output.items)
                    .into_iter()
                    .filter(keys::is_conversation),
            );
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && items.len() < limit => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Access pattern 2, the whole item: the typed summary leaves out the
    /// attributes only some providers set (recording, dial outcome...).
    pub async fn call_summary_item(
        &self,
        provider: crate::event::Provider,
        call_id: &str,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(
                keys::PK,
                SdkValue::S(keys::conversation_pk(Channel::Call, provider, call_id)),
            )
            .key(keys::SK, SdkValue::S(keys::SUMMARY_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.item.as_ref().map(from_sdk_item))
    }

    /// Every number configuration (the `numbers list` pattern), ordered by
    /// number: a Scan of the table filtered on `item_type` (see
    /// [`keys::NUMBER_CONFIG_ITEM_TYPE`]), pages followed. It reads the
    /// whole table, events included: for an operator now and then, not for
    /// a webhook.
    pub async fn number_configs(&self) -> Result<Vec<NumberConfig>, StoreError> {
        let mut configs: Vec<NumberConfig> = Vec::new();
        let mut start: Option<SdkItem> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#type = :type")
                .expression_attribute_names("#type", keys::ITEM_TYPE)
                .expression_attribute_values(
                    ":type",
                    SdkValue::S(keys::NUMBER_CONFIG_ITEM_TYPE.into()),
                )
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            for item in sdk::items(output.items) {
                configs.push(super::documents::document_of(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        configs.sort_by(|a, b| a.number.as_str().cmp(b.number.as_str()));
        Ok(configs)
    }

    /// Deletes a number's configuration; returns the one that was stored
    /// (`None`: there was none, nothing changed).
    pub async fn delete_number_config(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<NumberConfig>, StoreError> {
        self.delete_document(keys::number_config_pk(number), keys::CONFIG_SK)
            .await
    }

    /// Deletes a contact record; returns the one that was stored.
    pub async fn delete_contact(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<Contact>, StoreError> {
        self.delete_document(keys::contact_pk(number), keys::CONTACT_SK)
            .await
    }

    async fn delete_document<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(keys::PK, SdkValue::S(pk))
            .key(keys::SK, SdkValue::S(sk.into()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(store_error)?;
        match output.attributes {
            Some(item) if !item.is_empty() => {
                super::documents::document_of(from_sdk_item(&item)).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// One unrecognized delivery as `callhooks unrecognized list` shows it: what
/// came, where, when and why it was not understood (the body stays in the
/// table; its size is shown).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UnrecognizedDelivery {
    /// The digest naming it (`UNRECOGNIZED#<provider>#<id>` in the table).
    pub id: String,
    pub route: String,
    pub provider: String,
    pub reason: String,
    pub received_at: String,
    pub body_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl UnrecognizedDelivery {
    pub fn from_item(item: &Item) -> Self {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        UnrecognizedDelivery {
            id: text(keys::PK)
                .and_then(|pk| keys::unrecognized_id(&pk).map(str::to_string))
                .unwrap_or_default(),
            route: text("route").unwrap_or_default(),
            provider: text("provider").unwrap_or_default(),
            reason: text("reason").unwrap_or_default(),
            received_at: text("received_at").unwrap_or_default(),
            body_bytes: item
                .get("body_bytes")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            content_type: text("content_type"),
            user_agent: text("user_agent"),
        }
    }
}

impl Store {
    /// Unrecognized deliveries received at or after `since_key` (any time
    /// when `None`), newest first, at most `limit` (GSI1, one partition).
    pub async fn unrecognized_deliveries(
        &self,
        since_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<UnrecognizedDelivery>, StoreError> {
        self.unrecognized_window(since_key, None, limit).await
    }

    /// [`Self::unrecognized_deliveries`] received before `until_key` too
    /// (`None`: up to now): the next older page.
    pub async fn unrecognized_window(
        &self,
        since_key: Option<&str>,
        until_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<UnrecognizedDelivery>, StoreError> {
        let window = Window::new(since_key, until_key);
        let range = window.range(keys::GSI1SK);
        let output = self
            .newest_first(
                keys::GSI1,
                keys::GSI1PK,
                keys::UNRECOGNIZED_INDEX_PK.into(),
                range,
            )
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(store_error)?;
        Ok(sdk::items(output.items)
            .iter()
            .map(UnrecognizedDelivery::from_item)
            .collect())
    }
}

/// The operator's `--since` and `--until` on sort keys that start with a
/// [`crate::time::to_key`] moment: from `since` (included) to `until`
/// (excluded), either open.
struct Window {
    since: Option<String>,
    /// The largest sort key before `until`: the moment a millisecond
    /// earlier, then `~` (after every suffix a key carries).
    below: Option<String>,
}

/// The smallest sort key of the window when only its end is given: every
/// moment key starts with a digit.
const LOWEST_MOMENT_KEY: &str = "0";

impl Window {
    fn new(since_key: Option<&str>, until_key: Option<&str>) -> Self {
        let below = until_key.map(|until| {
            let earlier = until
                .parse::<crate::time::Timestamp>()
                .ok()
                .and_then(|at| at.checked_sub(jiff::SignedDuration::from_millis(1)).ok())
                .map(crate::time::to_key)
                // Not a moment: everything sorting before it.
                .unwrap_or_else(|| until.to_string());
            format!("{earlier}~")
        });
        Window {
            since: since_key.map(keys::timeline_lower_bound),
            below,
        }
    }

    fn range<'a>(&'a self, attr: &'a str) -> SortKeyRange<'a> {
        match (&self.since, &self.below) {
            (None, None) => SortKeyRange::All,
            (Some(from), None) => SortKeyRange::AtLeast {
                attr,
                from: from.clone(),
            },
            (since, Some(upper)) => SortKeyRange::Between {
                attr,
                lower: since.as_deref().unwrap_or(LOWEST_MOMENT_KEY),
                upper,
            },
        }
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn a_window_ends_just_before_until_whatever_follows_the_moment() {
        let window = Window::new(
            Some("2026-11-20T00:00:00.000Z"),
            Some("2026-11-23T15:51:22.123Z"),
        );
        let SortKeyRange::Between { lower, upper, .. } = window.range("SK") else {
            panic!("a bounded window");
        };
        assert_eq!(lower, "2026-11-20T00:00:00.000Z");
        assert!(upper < "2026-11-23T15:51:22.123Z");
        assert!(upper > "2026-11-23T15:51:22.122Z#CALL#zonitel#x");
        let open = Window::new(None, Some("2026-11-23T15:51:22.123Z"));
        assert!(matches!(
            open.range("SK"),
            SortKeyRange::Between { lower: "0", .. }
        ));
        assert!(matches!(
            Window::new(None, None).range("SK"),
            SortKeyRange::All
        ));
    }
}

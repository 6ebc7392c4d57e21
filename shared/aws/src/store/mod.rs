//! DynamoDB storage: the key design ([`keys`]), what a delivery writes
//! ([`plan`]), the client ([`Store`]) that writes it idempotently
//! ([`write`]), the configuration documents ([`documents`]), the
//! access-pattern reads ([`reads`]) and the records they return
//! ([`records`]).

pub mod counts;
pub mod documents;
pub mod operator;
pub mod reads;
pub mod sdk;
pub mod write;

pub use callhooks_model::store::{keys, plan, records, transaction, units};
pub use reads::{assemble_parts, json_at_pointer, RAW_PART_ITEM_TYPE, TRANSCRIPT_POINTER};
pub use records::{
    CallSummary, CallerRecords, LifecycleState, SmsRecord, SmsStatusEntry, SmsSummary,
};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;
use std::fmt;

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Recorded,
    /// Already recorded (a retry): nothing was written.
    Duplicate,
}

/// The metrics line counts a write by what became of it.
impl From<WriteOutcome> for crate::metrics::RequestOutcome {
    fn from(outcome: WriteOutcome) -> Self {
        match outcome {
            WriteOutcome::Recorded => crate::metrics::RequestOutcome::Recorded,
            WriteOutcome::Duplicate => crate::metrics::RequestOutcome::Duplicate,
        }
    }
}

/// Storage did not do what was asked. Webhooks answer 503 so the provider
/// retries; the message is for logs, never for the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<records::RecordError> for StoreError {
    fn from(error: records::RecordError) -> Self {
        StoreError(error.to_string())
    }
}

impl StoreError {
    /// DynamoDB refused the request itself (an item over 400 KB, an invalid
    /// attribute): sending it again can only fail again, so the delivery
    /// must be kept in another shape rather than retried.
    pub fn is_refusal(&self) -> bool {
        self.0.starts_with("ValidationException")
            || self.0.contains("ValidationError")
            || self.0.contains("ItemCollectionSizeLimitExceeded")
    }
}

pub(crate) fn store_error<
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
>(
    error: SdkError<E, R>,
) -> StoreError {
    match error.as_service_error() {
        Some(service) => StoreError(format!(
            "{}: {}",
            service.code().unwrap_or("unknown"),
            service.message().unwrap_or("")
        )),
        // Not `{error:?}`: the debug form can carry the raw HTTP response.
        None => {
            StoreError(aws_smithy_types::error::display::DisplayErrorContext(&error).to_string())
        }
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    /// Where deliveries go when the table cannot take them.
    spillway: Option<std::sync::Arc<crate::ingest::spill::Spillway>>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            spillway: None,
        }
    }

    /// The same store, spilling to `spillway` when the table fails.
    pub fn with_spillway(mut self, spillway: crate::ingest::spill::Spillway) -> Self {
        self.spillway = Some(std::sync::Arc::new(spillway));
        self
    }

    pub fn spillway(&self) -> Option<&crate::ingest::spill::Spillway> {
        self.spillway.as_deref()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Which part of an index partition a query reads, by its sort key.
pub(crate) enum SortKeyRange<'a> {
    /// The whole partition.
    All,
    /// Sort keys (`attr`) from `from` on.
    AtLeast { attr: &'a str, from: String },
    /// Sort keys (`attr`) from `lower` to `upper`, both included.
    Between {
        attr: &'a str,
        lower: &'a str,
        upper: &'a str,
    },
}

impl Store {
    /// A newest-first query of the partition `partition_attr = pk` of
    /// `index`, within `range`, asking for the capacity it consumed; the
    /// caller adds its limit and paging.
    pub(crate) fn newest_first(
        &self,
        index: &str,
        partition_attr: &str,
        pk: String,
        range: SortKeyRange<'_>,
    ) -> QueryFluentBuilder {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .index_name(index)
            .expression_attribute_names("#pk", partition_attr)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .scan_index_forward(false);
        match range {
            SortKeyRange::All => request.key_condition_expression("#pk = :pk"),
            SortKeyRange::AtLeast { attr, from } => request
                .key_condition_expression("#pk = :pk AND #sk >= :from")
                .expression_attribute_names("#sk", attr)
                .expression_attribute_values(":from", AttributeValue::S(from)),
            SortKeyRange::Between { attr, lower, upper } => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lower AND :upper")
                .expression_attribute_names("#sk", attr)
                .expression_attribute_values(":lower", AttributeValue::S(lower.into()))
                .expression_attribute_values(":upper", AttributeValue::S(upper.into())),
        }
    }
}

fn non_empty<K, V>(
    map: std::collections::HashMap<K, V>,
) -> Option<std::collections::HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

//! The table as plain data: the key design ([`keys`]), what a delivery
//! writes ([`plan`]), the records the reads return ([`records`]) and what
//! requests cost ([`units`]). The client that executes plans and reads is
//! the AWS crate's `store::Store`.

pub mod keys;
pub mod plan;
pub mod records;
pub mod transaction;
pub mod units;

pub use records::{CallSummary, CallerRecords, SmsRecord, SmsStatusEntry, SmsSummary};

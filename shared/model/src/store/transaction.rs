//! How a [`WritePlan`] goes to DynamoDB within `TransactWriteItems`' limits
//! (100 actions, 4 MB): a value split across part items (a long raw body, a
//! long SMS text) is written *outside* the transaction, first, and
//! idempotently; the transaction holds the small items (the event with its
//! `raw_parts` count, the guards, the summaries), which decide whether the
//! delivery is new. So a body as large as the platform delivers (6 MB) is
//! kept whole, and the transaction stays small whatever arrives.
//!
//! Parts written before a transaction that then finds a duplicate are the
//! same bytes under the same keys (a retry), or, where a duplicate's event
//! key differs, parts that no event names: the write removes those it
//! created unless their owner is in the table, so a retry writes nothing.
//! Should that fail, reads never splice a part into an event that does not
//! count it ([`super::reads::assemble_parts`]), and they expire with the
//! events.

use super::keys;
use super::plan::{item_bytes, GuardedPut, SummaryUpdate, WritePlan, MAX_TRANSACTION_BYTES};

/// DynamoDB's most actions in one `TransactWriteItems`.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;

/// Whether a sort key is a part's: `<owner>#PART#<index>` (see
/// [`keys::part_sk`]). Key parts from outside have their `#` escaped
/// ([`keys::key_part`]), so no other key has this shape.
pub fn is_part_sk(sk: &str) -> bool {
    sk.rsplit_once(keys::PART_SK_MARKER)
        .is_some_and(|(owner, index)| {
            !owner.is_empty() && !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit())
        })
}

/// A plan in the order [`super::Store::write`] sends it.
#[derive(Debug, PartialEq)]
pub struct Staged<'p> {
    /// Part items, each its own PutItem, first; none carries a condition
    /// of the plan's (a part decides nothing), so each is put only where it
    /// is absent: a retry finds it written.
    pub part_puts: Vec<&'p GuardedPut>,
    /// Part updates (an SMS text's pieces: first value wins), each its own
    /// UpdateItem, first.
    pub part_updates: Vec<&'p SummaryUpdate>,
    /// Then, in one request (a conditional PutItem when it is one put, else
    /// one transaction): everything that decides.
    pub puts: Vec<&'p GuardedPut>,
    pub updates: Vec<&'p SummaryUpdate>,
}

impl<'p> Staged<'p> {
    pub fn of(plan: &'p WritePlan) -> Self {
        let (part_puts, puts) = plan
            .puts
            .iter()
            .partition(|put| put.condition.is_none() && item_sk(put).is_some_and(is_part_sk));
        let (part_updates, updates) = plan.updates.iter().partition(|u| is_part_sk(&u.sk));
        Staged {
            part_puts,
            part_updates,
            puts,
            updates,
        }
    }

    /// Whether the deciding request is a transaction (one put alone is not).
    pub fn is_transaction(&self) -> bool {
        !(self.updates.is_empty() && self.puts.len() == 1)
    }

    pub fn action_count(&self) -> usize {
        self.puts.len() + self.updates.len()
    }

    /// An upper estimate of the deciding request's size, as DynamoDB counts
    /// it against the transaction limit.
    pub fn transaction_bytes(&self) -> usize {
        let puts: usize = self.puts.iter().map(|p| item_bytes(&p.item)).sum();
        let updates: usize = self.updates.iter().map(|u| u.bytes()).sum();
        puts + updates
    }

    /// The deciding request within DynamoDB's transaction limits, or what
    /// it exceeds.
    pub fn check_limits(&self) -> Result<(), OverLimit> {
        if self.action_count() > MAX_TRANSACTION_ACTIONS {
            return Err(OverLimit::Actions(self.action_count()));
        }
        if self.transaction_bytes() > MAX_TRANSACTION_BYTES {
            return Err(OverLimit::Bytes(self.transaction_bytes()));
        }
        Ok(())
    }
}

/// The DynamoDB transaction limit a deciding request exceeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverLimit {
    #[error("{0} actions in one transaction; DynamoDB takes {MAX_TRANSACTION_ACTIONS}")]
    Actions(usize),
    #[error("{0} bytes in one transaction; DynamoDB takes {MAX_TRANSACTION_BYTES}")]
    Bytes(usize),
}

fn item_sk(put: &GuardedPut) -> Option<&str> {
    put.item
        .get(keys::SK)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

#[cfg(test)]
mod tests;

//! One alert's way out, through the [`ledger`](super::ledger): claim it,
//! publish it, mark it published; or, after the last attempt, keep it as
//! failed in the ledger and in the dead-letter queue. An operator's replay
//! goes the same way. SNS and the queue are traits, so tests can make them
//! fail in every way over plain data.

use super::ledger::{AlertState, Claim, Ledger, LedgerEntry, MAX_PUBLISH_ATTEMPTS};
use super::outgoing::{dead_letter_body, LedgerKey, Outgoing, MAX_BODY_BYTES};
use super::Alert;
use crate::store::StoreError;
use crate::time::Timestamp;
use std::future::Future;
use std::time::Duration;

/// Publishes one message to the alerts topic; the answer is the message id
/// SNS gave. An error may still mean SNS took it (a lost response): the
/// ledger then publishes again, with the same `alert_id`.
pub trait Publisher: Sync {
    fn publish(&self, message: &Outgoing)
        -> impl Future<Output = Result<String, SendError>> + Send;
}

/// Takes the dead-letter copy of an alert (the whole message as JSON).
pub trait DeadLetters: Sync {
    fn send(&self, body: String) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// Why SNS or SQS did not take a message. Its text is what the ledger
/// keeps as the alert's last error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The service answered with an error.
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// No answer: the request was not built, sent or answered.
    #[error("{0}")]
    Unanswered(String),
}

/// The clock the ledger's leases are read against: the real one, moved
/// by `skew` (tests move it past a lease).
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    pub skew: jiff::SignedDuration,
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        now.checked_add(self.skew).unwrap_or(now)
    }
}

/// How an alert was handled; each one means its stream record is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// SNS accepted it now.
    Published {
        alert_id: String,
        sns_message_id: String,
        attempt: u32,
        /// Bytes cut from the detail (and other free text) to fit SNS.
        cut_bytes: u64,
    },
    /// An earlier attempt published it: nothing was sent.
    AlreadyPublished {
        alert_id: String,
        sns_message_id: Option<String>,
    },
    /// Every attempt failed: kept whole in the ledger, and in the
    /// dead-letter queue when there is one, until an operator replays it.
    KeptFailed {
        alert_id: String,
        attempts: u32,
        error: String,
        dead_lettered: bool,
    },
}

/// Not handled yet: the record is reported failed and Lambda retries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotYet(pub String);

/// Room after a lease wait for the publish and the ledger write.
const ROOM_AFTER_WAIT: Duration = Duration::from_secs(15);

/// Where an alert goes, and when this invocation must be done.
pub struct AlertDispatch<'a, P, D> {
    pub ledger: &'a Ledger,
    pub publisher: &'a P,
    /// `None`: failed alerts are kept in the ledger only.
    pub dead_letters: Option<&'a D>,
    pub clock: Clock,
    /// The invocation's deadline: a claim held by a crashed attempt is
    /// waited for when its lease ends before this (less room to publish).
    pub deadline: Option<Timestamp>,
}

impl<P: Publisher, D: DeadLetters> AlertDispatch<'_, P, D> {
    /// Publishes `alert` at most once through the ledger.
    pub async fn deliver(&self, alert: &Alert) -> Result<Delivered, NotYet> {
        let message = Outgoing::for_alert(alert);
        let ledger_error = |e: StoreError| NotYet(format!("alert ledger: {e}"));
        let mut claim = self
            .ledger
            .claim(alert, &message, self.clock.now())
            .await
            .map_err(ledger_error)?;
        if let Claim::Busy(entry) = &claim {
            if let Some(wait) = self.lease_wait(entry) {
                tracing::info!(
                    alert_id = %entry.alert_id,
                    "alert claimed by an earlier attempt; waiting {} ms for its lease",
                    wait.as_millis()
                );
                tokio::time::sleep(wait).await;
                claim = self
                    .ledger
                    .claim(alert, &message, self.clock.now())
                    .await
                    .map_err(ledger_error)?;
            }
        }
        match claim {
            Claim::Claimed(entry) => self.attempt(&message, &entry).await,
            Claim::Published(entry) => Ok(Delivered::AlreadyPublished {
                alert_id: entry.alert_id,
                sns_message_id: entry.sns_message_id,
            }),
            Claim::Failed(entry) => {
                // Kept as failed before; if its dead-letter copy did not
                // go out then, it goes now.
                let dead_lettered = entry.dead_lettered || {
                    let error = entry.last_error.clone().unwrap_or_default();
                    let body = dead_letter_body(
                        &entry.outgoing().fitted(MAX_BODY_BYTES),
                        &entry.key(),
                        entry.attempts,
                        &error,
                    );
                    self.dead_letter(&entry.key(), body).await?
                };
                Ok(Delivered::KeptFailed {
                    alert_id: entry.alert_id,
                    attempts: entry.attempts,
                    error: entry.last_error.unwrap_or_default(),
                    dead_lettered,
                })
            }
            Claim::Busy(entry) => Err(NotYet(format!(
                "alert {} is being published by another attempt (claimed until {} ms)",
                entry.alert_id,
                entry.lease_until.unwrap_or_default()
            ))),
        }
    }

    /// How long to wait for another attempt's lease, if this invocation
    /// has the time to wait and then publish.
    fn lease_wait(&self, entry: &LedgerEntry) -> Option<Duration> {
        let deadline = self.deadline?;
        let now = self.clock.now().as_millisecond();
        let until = entry.lease_until?;
        let wait = Duration::from_millis(u64::try_from(until - now).ok()? + 100);
        let done_by = now + (wait + ROOM_AFTER_WAIT).as_millis() as i64;
        (done_by < deadline.as_millisecond()).then_some(wait)
    }

    async fn attempt(&self, message: &Outgoing, entry: &LedgerEntry) -> Result<Delivered, NotYet> {
        let key = entry.key();
        let attempt = entry.attempts;
        let fitted = message.fitted(MAX_BODY_BYTES);
        match self.publisher.publish(&fitted).await {
            Ok(sns_message_id) => {
                self.record_published(&key, attempt, &sns_message_id, false)
                    .await;
                Ok(Delivered::Published {
                    alert_id: message.alert_id.clone(),
                    sns_message_id,
                    attempt,
                    cut_bytes: fitted.cut_bytes(),
                })
            }
            Err(error) if attempt < MAX_PUBLISH_ATTEMPTS => {
                let error = error.to_string();
                if let Err(e) = self
                    .ledger
                    .release(&key, attempt, &error, self.clock.now())
                    .await
                {
                    tracing::warn!(alert_id = %message.alert_id, "lease not released: {e}");
                }
                Err(NotYet(format!(
                    "publish attempt {attempt} of {MAX_PUBLISH_ATTEMPTS} failed: {error}"
                )))
            }
            Err(error) => {
                let error = error.to_string();
                let kept = self
                    .ledger
                    .mark_failed(&key, attempt, &error, self.clock.now(), AlertState::Failed)
                    .await;
                let body = dead_letter_body(&fitted, &key, attempt, &error);
                let dead_lettered = match (self.dead_letter(&key, body).await, &kept) {
                    (Ok(sent), _) => sent,
                    // Kept in the ledger: the next attempt sends the copy.
                    (Err(NotYet(e)), Ok(())) => return Err(NotYet(e)),
                    (Err(NotYet(e)), Err(ledger)) => {
                        return Err(NotYet(format!("{e}; alert ledger: {ledger}")))
                    }
                };
                if let Err(e) = kept {
                    if !dead_lettered {
                        return Err(NotYet(format!("alert ledger: {e}")));
                    }
                    tracing::error!(
                        alert_id = %message.alert_id,
                        "alert kept in the dead-letter queue only, its ledger item not marked failed: {e}"
                    );
                }
                Ok(Delivered::KeptFailed {
                    alert_id: message.alert_id.clone(),
                    attempts: attempt,
                    error,
                    dead_lettered,
                })
            }
        }
    }

    /// Marks it published. SNS has the message whatever the ledger says:
    /// a failed mark is logged, never retried into a second publish (the
    /// item stays in progress, and `alerts list` shows it stalled).
    async fn record_published(&self, key: &LedgerKey, attempt: u32, id: &str, replayed: bool) {
        match self
            .ledger
            .mark_published(key, attempt, id, self.clock.now(), replayed)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                ledger_sk = %key.sk,
                sns_message_id = id,
                "published after the claim ran out: another attempt took it over and may publish it too"
            ),
            Err(e) => tracing::error!(
                ledger_sk = %key.sk,
                sns_message_id = id,
                "published, but the ledger was not marked: {e}"
            ),
        }
    }

    /// Sends a dead-letter copy and notes it in the ledger. `Ok(false)`:
    /// there is no queue.
    async fn dead_letter(&self, key: &LedgerKey, body: String) -> Result<bool, NotYet> {
        let Some(queue) = self.dead_letters else {
            return Ok(false);
        };
        queue
            .send(body)
            .await
            .map_err(|e| NotYet(format!("dead-letter queue: {e}")))?;
        if let Err(e) = self.ledger.mark_dead_lettered(key).await {
            tracing::warn!(ledger_sk = %key.sk, "dead-letter copy sent, not noted: {e}");
        }
        Ok(true)
    }

    /// An operator's replay of a stored alert: published again through
    /// the ledger with `"replayed": true`. A published alert only when
    /// `again`; one being published right now never.
    pub async fn replay(&self, key: &LedgerKey, again: bool) -> Result<Replayed, StoreError> {
        let entry = match self
            .ledger
            .claim_for_replay(key, self.clock.now(), again)
            .await?
        {
            Claim::Claimed(entry) => entry,
            Claim::Published(entry) => return Ok(Replayed::AlreadyPublished(entry)),
            Claim::Busy(entry) | Claim::Failed(entry) => return Ok(Replayed::Busy(entry)),
        };
        let back_to = if entry.sns_message_id.is_some() {
            AlertState::Published
        } else {
            AlertState::Failed
        };
        let message = match Outgoing::replay(&entry.alert_id, &entry.subject, &entry.message) {
            Ok(message) => message.fitted(MAX_BODY_BYTES),
            Err(error) => {
                let error = error.to_string();
                self.ledger
                    .mark_failed(key, entry.attempts, &error, self.clock.now(), back_to)
                    .await?;
                return Ok(Replayed::Failed(entry, error));
            }
        };
        match self.publisher.publish(&message).await {
            Ok(id) => {
                self.record_published(key, entry.attempts, &id, true).await;
                Ok(Replayed::Published(entry, id))
            }
            Err(error) => {
                let error = error.to_string();
                self.ledger
                    .mark_failed(key, entry.attempts, &error, self.clock.now(), back_to)
                    .await?;
                Ok(Replayed::Failed(entry, error))
            }
        }
    }
}

/// What a replay did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replayed {
    /// Sent again: the SNS message id.
    Published(LedgerEntry, String),
    /// Published before, and not asked to send it again.
    AlreadyPublished(LedgerEntry),
    /// Another attempt holds it now.
    Busy(LedgerEntry),
    /// SNS refused it again; it stays as it was.
    Failed(LedgerEntry, String),
}

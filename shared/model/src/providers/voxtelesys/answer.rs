//! What a Voxtelesys call hears: each hook's request mapped to the one
//! decision of `crate::call_answer`, which `crate::voxml` writes as VoXML
//! with the URLs of our own callbacks.

use super::{Callback, Hook};
use crate::call_answer::{answer_dial, answer_voice, CallAnswer};
use crate::config::NumberConfig;

impl Callback {
    /// The answer, derived from the request and the number's configuration
    /// only (never from what storage holds), so a retry gets the same
    /// answer as the first delivery.
    pub fn answer(&self, config: Option<&NumberConfig>, default_message: &str) -> CallAnswer {
        let vox = config.and_then(|c| c.voxtelesys.as_ref());
        match self.hook {
            Hook::Voice => answer_voice(vox, default_message),
            Hook::Dial => answer_dial(vox, self.params.dial_call_status.as_deref()),
            // The recording hook is the `<Record>` action: the call is over.
            Hook::Recording => CallAnswer::hang_up(),
            Hook::Status => CallAnswer::Nothing,
        }
    }
}

//! One module per provider: its wire types as the provider documents them,
//! and their mapping to the normalized model. Pure. Each provider's protocol
//! and our answers: `docs/providers/<name>.md`.

pub mod retell;
pub mod salpre;
pub mod voxtelesys;
pub mod zonitel;
pub mod zonitel_sms;

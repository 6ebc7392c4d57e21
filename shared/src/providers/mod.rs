//! One module per provider: its wire types as documented in
//! `../shared/seeds`, and their mapping to the normalized model. Pure.

pub mod retell;
pub mod salpre;
pub mod voxtelesys;
pub mod zonitel;
pub mod zonitel_sms;

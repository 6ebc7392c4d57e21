//! A delivery as plain data ([`delivery`]), its reading by the route's
//! provider ([`read`]) and, when nothing can read it, its unrecognized
//! record ([`unrecognized`]). The HTTP edge and the writes are the AWS
//! crate's `ingest`.

pub mod decode;
pub mod delivery;
pub mod identity;
pub mod read;
pub mod unrecognized;

pub use delivery::{Delivery, Route};
pub use identity::Identity;

//! POST /zonitel/calls: any body, through the pipeline's own steps (accept, read,
//! plan, or keep as unrecognized): see `callhooks_fuzz::through_pipeline`.
#![no_main]

use callhooks::ingest::Route;
use callhooks_fuzz::{check, through_pipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| check(through_pipeline(Route::ZonitelCall, body)));

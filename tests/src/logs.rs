//! Log lines of the code under test, captured per test.
//!
//! The capture is the test thread's own subscriber (`set_default`), so a
//! test sees only what ran on its thread: a `#[tokio::test]` runtime runs
//! the handler there. One thing is process-wide: tracing caches per log
//! statement whether any subscriber wants it. While a capture is the only
//! subscriber ever made, tracing decides that from the subscriber of the
//! thread that reaches a statement first, and a test on another thread
//! (with none) would turn the statement off for the capture. A global
//! subscriber that takes nothing, set once before any capture, makes
//! tracing ask every live subscriber instead.

use std::io::Write;
use std::sync::{Arc, Mutex, Once};

/// Log lines written by the code under test, as bytes.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Captures INFO and above on this thread, as JSON lines: what a deployed
/// function logs. Captures until the guard is dropped.
pub fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    static GLOBAL_TAKES_NOTHING: Once = Once::new();
    GLOBAL_TAKES_NOTHING.call_once(|| {
        tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())
            .expect("no global subscriber in the tests");
    });
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

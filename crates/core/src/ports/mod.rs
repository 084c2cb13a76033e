//! Ports: what the domain needs from the outside world, as small async traits.

pub mod chat;
pub mod embedder;
pub mod index;
pub mod links;
pub mod queue;
pub mod table_store;
pub mod telegram;
pub mod web;

pub use queue::{OutgoingMessage, Queue, QueueError, QueueSpec, Receipt, ReceivedMessage};
pub use table_store::{
    Attrs, BatchOp, Condition, Cursor, Index, Item, Key, Page, Query, SkRange, StoreError, TableStore, Write,
};
pub use embedder::{EmbedError, EmbedKind, Embedder, TagError, Tagger};
pub use index::{
    ChunkPayload, CollectionInfo, IndexError, IndexFilter, IndexHit, IndexQuery, IndexedChunk, KeywordEncoder, SearchIndex,
    SparseVector,
};
pub use chat::{ChatAnswer, ChatError, ChatMessage, ChatModel};
pub use telegram::{LiveEvent, QrLogin, RemoteChannel, RemoteMessage, TelegramConnector, TelegramError, TelegramUser};
pub use web::{WebResult, WebSearch, WebSearchError};
pub use links::{LinkError, LinkReader};

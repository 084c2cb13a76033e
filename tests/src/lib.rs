//! Test support for Siftgram's end-to-end tests: `TestSystem` gives each test its own namespace
//! (temp dir, or table and queue names on LocalStack) on either backend, so tests run in
//! parallel; the conformance suites run the same cases against both backends.

pub mod answers;
pub mod conformance;
pub mod lambda;
pub mod bot;
pub mod search;
pub mod sessions;
pub mod stories;
mod recording;
mod system;

pub use recording::RecordingStore;
pub use system::{TestSystem, localstack_endpoint};

/// Expands to one `#[tokio::test]` per case, each on a fresh system from `$make`.
#[macro_export]
macro_rules! suite {
    ($make:path; $module:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                #[allow(unused_mut)]
                let mut system = $make().await;
                { use $module as cases; cases::$case(&mut system).await; }
                system.cleanup().await;
            }
        )*
    };
}

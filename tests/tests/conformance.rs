//! The port conformance suites and the repositories, run against both backends: the embedded
//! store in a temp dir, and DynamoDB + SQS on LocalStack (which must be running; see README).

/// Every suite, on the backend that `$make` builds.
macro_rules! every_suite {
    ($backend:ident, $make:path) => {
        mod $backend {
            mod table_store {
                siftgram_tests::table_store_conformance!($make);
            }
            mod queue {
                siftgram_tests::queue_conformance!($make);
            }
            mod repositories {
                siftgram_tests::repository_conformance!($make);
            }
        }
    };
}

every_suite!(embedded, siftgram_tests::TestSystem::embedded);
every_suite!(localstack, siftgram_tests::TestSystem::localstack);

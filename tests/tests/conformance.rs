//! The port conformance suites and the repositories, run against both backends: the embedded
//! store in a temp dir, and DynamoDB + SQS on LocalStack (which must be running; see README).

use siftgram_tests::{queue_conformance, repository_conformance, table_store_conformance};

mod embedded {
    use super::*;
    use siftgram_tests::TestSystem;
    mod table_store {
        super::table_store_conformance!(super::TestSystem::embedded);
    }
    mod queue {
        super::queue_conformance!(super::TestSystem::embedded);
    }
    mod repositories {
        super::repository_conformance!(super::TestSystem::embedded);
    }
}

mod localstack {
    use super::*;
    use siftgram_tests::TestSystem;
    mod table_store {
        super::table_store_conformance!(super::TestSystem::localstack);
    }
    mod queue {
        super::queue_conformance!(super::TestSystem::localstack);
    }
    mod repositories {
        super::repository_conformance!(super::TestSystem::localstack);
    }
}

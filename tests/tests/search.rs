//! Indexing and retrieval stories on the embedded store and on LocalStack's DynamoDB + SQS.

mod embedded {
    siftgram_tests::search_stories!(siftgram_tests::TestSystem::embedded);
    mod links {
        siftgram_tests::link_stories!(siftgram_tests::TestSystem::embedded);
    }
}

mod localstack {
    siftgram_tests::search_stories!(siftgram_tests::TestSystem::localstack);
    mod links {
        siftgram_tests::link_stories!(siftgram_tests::TestSystem::localstack);
    }
}

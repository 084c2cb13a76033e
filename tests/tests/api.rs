//! API stories on the embedded store and on LocalStack's DynamoDB + SQS.

mod embedded {
    siftgram_tests::api_stories!(siftgram_tests::TestSystem::embedded);
}

mod localstack {
    siftgram_tests::api_stories!(siftgram_tests::TestSystem::localstack);
}

//! Bot stories through the webhook intake, the real handler tree and a fake Bot API, on the
//! embedded store and on LocalStack's DynamoDB + SQS.

mod embedded {
    siftgram_tests::bot_stories!(siftgram_tests::TestSystem::embedded);
    mod admin {
        siftgram_tests::bot_admin_stories!(siftgram_tests::TestSystem::embedded);
    }
}

mod localstack {
    siftgram_tests::bot_stories!(siftgram_tests::TestSystem::localstack);
    mod admin {
        siftgram_tests::bot_admin_stories!(siftgram_tests::TestSystem::localstack);
    }
}

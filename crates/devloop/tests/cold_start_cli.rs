//! `siftgram-dev cold-start` (the binary) against LocalStack with a directory holding no
//! packages: it says which package is missing and how to build it, and fails. (The measurement
//! itself is tested beside the bot's binary, functions/bot/tests/lambda_start.rs; CI runs it on
//! the scheduler's zip through scripts/package-lambdas.sh, which takes this binary.)

mod localstack {
    #[test]
    fn cold_start_without_packages_names_the_command_that_builds_them() {
        let empty = std::env::temp_dir().join(format!("siftgram-no-zips-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let endpoint = std::env::var("SIFTGRAM_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_siftgram-dev"))
            .args(["cold-start", empty.to_str().unwrap(), "1", "scheduler"])
            .env("AWS_ENDPOINT_URL", endpoint)
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("scheduler.zip (run scripts/package-lambdas.sh scheduler)"), "{stderr}");
        assert!(stderr.contains("no packages in"), "{stderr}");
    }
}

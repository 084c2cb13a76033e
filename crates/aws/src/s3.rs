use crate::describe;

/// An S3 client; path-style addressing so LocalStack needs no wildcard DNS.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// Creates the bucket if it does not exist yet.
pub async fn ensure_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), String> {
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    match client.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
        Err(e) => Err(describe(&e)),
    }
}

/// One file of a static website.
pub struct SiteFile<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: std::borrow::Cow<'a, [u8]>,
}

/// Publishes `files` to `bucket` as a website (`index` as its index document), each with its
/// content type, and pages revalidated on every load (they change with deployments).
pub async fn publish_site(client: &aws_sdk_s3::Client, bucket: &str, index: &str, files: &[SiteFile<'_>]) -> Result<(), String> {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{IndexDocument, WebsiteConfiguration};
    ensure_bucket(client, bucket).await?;
    for file in files {
        client
            .put_object()
            .bucket(bucket)
            .key(file.name)
            .content_type(file.content_type)
            .cache_control("no-cache")
            .body(ByteStream::from(file.bytes.to_vec()))
            .send()
            .await
            .map_err(|e| format!("{}: {}", file.name, describe(&e)))?;
    }
    let index = IndexDocument::builder().suffix(index).build().map_err(|e| e.to_string())?;
    client
        .put_bucket_website()
        .bucket(bucket)
        .website_configuration(WebsiteConfiguration::builder().index_document(index).build())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(())
}

# The Mini App pages: a private bucket (`siftgram miniapp upload` fills it) behind CloudFront
# with origin access control, so Telegram opens them over https and the bucket stays private.

locals {
  site_bucket = one(module.manifest.buckets)
}

resource "aws_s3_bucket" "site" {
  # checkov:skip=CKV_AWS_144: the pages are rebuilt from the repository; no cross-region copy needed
  # checkov:skip=CKV_AWS_145: CloudFront's origin access cannot read SSE-KMS objects without extra key grants; SSE-S3 is on
  # checkov:skip=CKV2_AWS_62: nothing reacts to uploads of the pages
  # checkov:skip=CKV_AWS_18: CloudFront's access logs cover the reads
  bucket = local.site_bucket
}

resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = aws_s3_bucket.site.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    id     = "old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_cloudfront_origin_access_control" "site" {
  name                              = "${var.name_prefix}miniapp"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "site" {
  name = "${var.name_prefix}miniapp"
  security_headers_config {
    content_type_options {
      override = true
    }
    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

resource "aws_cloudfront_distribution" "site" {
  # checkov:skip=CKV_AWS_68: no WAF for static pages that hold no data
  # checkov:skip=CKV_AWS_86: access logging needs a log bucket the operator chooses
  # checkov:skip=CKV_AWS_310: one origin; the pages are useless while S3 is down anyway
  # checkov:skip=CKV_AWS_374: Telegram's users are everywhere
  # checkov:skip=CKV2_AWS_47: no WAF (see CKV_AWS_68)
  # checkov:skip=CKV2_AWS_32: the response headers policy is attached below
  # checkov:skip=CKV2_AWS_42: the default certificate; a custom domain is the operator's choice
  # checkov:skip=CKV_AWS_174: with the default *.cloudfront.net certificate the minimum TLS version cannot be set; a custom domain's certificate sets TLSv1.2_2021
  enabled             = true
  default_root_object = "login.html"
  origin {
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_id                = "pages"
    origin_access_control_id = aws_cloudfront_origin_access_control.site.id
  }
  default_cache_behavior {
    target_origin_id           = "pages"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = "658327ea-f89d-4fab-a63d-7e88639e58f6" # AWS managed CachingOptimized
    response_headers_policy_id = aws_cloudfront_response_headers_policy.site.id
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  viewer_certificate {
    cloudfront_default_certificate = true
    minimum_protocol_version       = "TLSv1.2_2021"
  }
}

data "aws_iam_policy_document" "site" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.site.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "site" {
  bucket = aws_s3_bucket.site.id
  policy = data.aws_iam_policy_document.site.json
}

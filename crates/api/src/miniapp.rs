//! The Mini App pages (`infra/miniapp/`), compiled in: the standalone node serves them at
//! `/miniapp/`, and the cloud upload puts the very same bytes in the website bucket.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub struct StaticFile {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! file {
    ($name:literal, $type:literal) => {
        StaticFile { name: $name, content_type: $type, bytes: include_bytes!(concat!("../../../infra/miniapp/", $name)) }
    };
}

/// Every file of the Mini Apps.
pub const FILES: &[StaticFile] = &[
    file!("login.html", "text/html; charset=utf-8"),
    file!("admin.html", "text/html; charset=utf-8"),
    file!("app.js", "text/javascript; charset=utf-8"),
    file!("app.css", "text/css; charset=utf-8"),
    file!("config.js", "text/javascript; charset=utf-8"),
    file!("telegram-web-app.js", "text/javascript; charset=utf-8"),
];

/// `config.js` telling the pages where the API is (the cloud: API Gateway's URL).
pub fn config_js(api_base: &str) -> String {
    format!("// Where the API is (written by the upload).\nwindow.SIFTGRAM_API_BASE = window.SIFTGRAM_API_BASE || {};\n", serde_json::Value::from(api_base.trim_end_matches('/')))
}

pub fn file(name: &str) -> Option<&'static StaticFile> {
    FILES.iter().find(|f| f.name == name)
}

/// Scripts and styles from this origin only (the pages inline theirs); API calls to it too.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

async fn serve(Path(name): Path<String>) -> Response {
    let Some(f) = file(&name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = f.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(f.content_type));
    // Pages change with deployments; they are small.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `/miniapp/<file>` (public: the pages hold no data; everything they show comes from the
/// authenticated API).
pub fn router() -> Router {
    Router::new().route("/miniapp/{name}", get(serve)).route("/miniapp/", get(|| async { Redirect::to("/miniapp/login.html") }))
}

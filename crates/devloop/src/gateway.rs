//! The API Gateway stand-in: HTTP requests become REST API (v1) proxy events for the function
//! whose route in `infra/functions.json` takes them, and the function's response goes back as
//! the HTTP response. Like API Gateway, a path no route takes is answered 403 "Missing
//! Authentication Token", and bodies over 10 MB are refused.

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lambda_http::Body as LambdaBody;
use serde_json::{Value, json};
use siftgram_core::schema::HttpRoute;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway's payload limit.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A function behind an HTTP route (the function crate's `handle`).
#[async_trait]
pub trait HttpFunction: Send + Sync {
    async fn call(&self, request: lambda_http::Request) -> Result<lambda_http::Response<LambdaBody>, String>;
}

#[derive(Clone)]
pub struct ApiGateway {
    routes: Vec<(HttpRoute, Arc<dyn HttpFunction>)>,
    stage: String,
}

impl ApiGateway {
    /// The shipped routes, each to the function of that name in `functions`; refused when a
    /// routed function is missing.
    pub fn from_manifest(stage: &str, functions: &[(&str, Arc<dyn HttpFunction>)]) -> Result<ApiGateway, String> {
        let mut routes = Vec::new();
        for f in siftgram_core::schema::functions().map_err(|e| e.to_string())? {
            for route in f.http {
                let (_, function) = functions.iter().find(|(name, _)| *name == f.name).ok_or_else(|| format!("no function {:?} for its route {} {}", f.name, route.method, route.path))?;
                routes.push((route, function.clone()));
            }
        }
        Ok(ApiGateway { routes, stage: stage.to_owned() })
    }

    /// Serve with `into_make_service_with_connect_info::<SocketAddr>()` (the source IP goes in
    /// the event).
    pub fn router(self) -> axum::Router {
        axum::Router::new().fallback(proxy).with_state(Arc::new(self))
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"message": message}))).into_response()
}

/// API Gateway's two views of repeated names: the last value of each, and all of them.
fn single_and_multi<'a>(pairs: impl Iterator<Item = (&'a str, String)>) -> (Value, Value) {
    let mut single = serde_json::Map::new();
    let mut multi: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, value) in pairs {
        single.insert(name.to_owned(), json!(value));
        multi.entry(name.to_owned()).or_default().push(json!(value));
    }
    (Value::Object(single), json!(multi))
}

fn headers_json(headers: &HeaderMap) -> (Value, Value) {
    single_and_multi(headers.iter().map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes()).into_owned())))
}

/// Null for no query string, as API Gateway sends it.
fn query_json(query: Option<&str>) -> (Value, Value) {
    let Some(query) = query.filter(|q| !q.is_empty()) else { return (Value::Null, Value::Null) };
    single_and_multi(query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k, v.to_owned())
    }))
}

async fn proxy(State(gateway): State<Arc<ApiGateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip().to_string());
    let (method, path) = (parts.method.as_str().to_owned(), parts.uri.path().to_owned());
    let Some((route, function)) = gateway.routes.iter().find(|(r, _)| r.matches(&method, &path)) else {
        return refuse(StatusCode::FORBIDDEN, "Missing Authentication Token");
    };
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long"),
    };
    let (headers, multi_headers) = headers_json(&parts.headers);
    let (query, multi_query) = query_json(parts.uri.query());
    let proxy_param = route.path.strip_suffix("{proxy+}").and_then(|prefix| path.strip_prefix(prefix)).map(|rest| json!({"proxy": rest}));
    let (text, base64) = match std::str::from_utf8(&body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &body), true),
    };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let event = json!({
        "resource": route.path, "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": multi_headers,
        "queryStringParameters": query, "multiValueQueryStringParameters": multi_query,
        "pathParameters": proxy_param, "stageVariables": null,
        "requestContext": {
            "accountId": "000000000000", "resourceId": "devloop", "stage": gateway.stage, "requestId": format!("devloop-{now_ms}"),
            "identity": {"sourceIp": peer.unwrap_or_else(|| "127.0.0.1".to_owned())},
            "resourcePath": route.path, "httpMethod": method, "apiId": "devloop",
            "path": format!("/{}{}", gateway.stage, path), "protocol": "HTTP/1.1", "requestTimeEpoch": now_ms,
        },
        "body": if body.is_empty() { Value::Null } else { json!(text) }, "isBase64Encoded": base64,
    });
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("the stand-in built an event the runtime refuses: {e}")),
    };
    match function.call(request).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let bytes = match body {
                LambdaBody::Empty => Vec::new(),
                LambdaBody::Text(t) => t.into_bytes(),
                LambdaBody::Binary(b) => b,
                _ => Vec::new(),
            };
            let mut out = Response::new(Body::from(bytes));
            *out.status_mut() = parts.status;
            *out.headers_mut() = parts.headers;
            out
        }
        // What API Gateway answers when the integration fails.
        Err(error) => {
            tracing::error!(%error, path = %path, "function failed");
            refuse(StatusCode::BAD_GATEWAY, "Internal server error")
        }
    }
}

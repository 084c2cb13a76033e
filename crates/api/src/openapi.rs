//! The OpenAPI 3.1 document: paths and schemas come from the handlers' annotations; added
//! here are the security schemes and the error responses every route can give.

use crate::error::ErrorBody;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, OpenApiBuilder, RefOr, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

pub use crate::routes::openapi;

pub(crate) fn base() -> OpenApi {
    let info = utoipa::openapi::InfoBuilder::new()
        .title("Siftgram API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Siftgram's API for its Mini Apps and for automation. Mini App callers send `Authorization: tma <initData>`; \
             automation sends `Authorization: Bearer <API key>` (made in the admin panel). Errors are JSON `{error, message, field?}`.",
        ))
        .build();
    OpenApiBuilder::new().info(info).build()
}

/// Adds what every operation shares: both ways to authenticate, and the error responses.
pub(crate) fn finish(mut doc: OpenApi) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.security_schemes.insert("tma".into(), RefOr::T(SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description("Authorization", "tma <Telegram.WebApp.initData>")))));
    components.security_schemes.insert("api_key".into(), RefOr::T(SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("sg_<id>_<secret>").build())));
    components.schemas.insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    let errors: [(&str, &str); 9] = [
        ("400", "Invalid input (the field is named)"),
        ("401", "Missing, forged, expired or revoked credentials"),
        ("403", "Not allowed (or a limit of the tier)"),
        ("404", "Not found"),
        ("409", "Conflicts with the current state"),
        ("413", "Body over 64 KiB"),
        ("415", "Body is not JSON"),
        ("429", "Rate or daily limit reached"),
        ("503", "Temporarily unavailable"),
    ];
    let security = vec![SecurityRequirement::new("tma", Vec::<String>::new()), SecurityRequirement::new("api_key", Vec::<String>::new())];
    for item in doc.paths.paths.values_mut() {
        for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
            add_errors(op, &errors);
            op.security = Some(security.clone());
        }
    }
    doc
}

fn add_errors(op: &mut Operation, errors: &[(&str, &str)]) {
    for (code, description) in errors {
        let content = ContentBuilder::new().schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ErrorBody::name())))).build();
        let response = ResponseBuilder::new().description(*description).content("application/json", content).build();
        op.responses.responses.entry((*code).into()).or_insert(RefOr::T(response));
    }
}

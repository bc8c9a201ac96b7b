//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "exoskin",
        description = "Exosome skincare, in numbers: the HTTP API of the web app. Documents equal the CLI's `--json` output."
    ),
    paths(
        crate::api::simulate,
        crate::api::label,
        crate::api::label_ocr,
        crate::api::trial,
        crate::api::power,
        crate::api::claims,
        crate::api::verify,
        crate::api::qr,
        crate::api::job,
        crate::api::cancel,
        crate::api::events,
        crate::api::openapi,
    ),
    components(schemas(crate::jobs::ErrorBody, crate::jobs::JobView, crate::jobs::Status))
)]
struct Doc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

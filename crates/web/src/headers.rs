//! The headers every response carries: no inline script, no framing by
//! other sites, no referrer leaking a dispatch id, no caching of pages.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// The Content-Security-Policy: everything from this origin only, no
/// inline script or style, PDFs embedded only by our own pages.
pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
object-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The PDF previews are the one thing our own pages embed.
const CSP_EMBEDDABLE: &str = "default-src 'none'; frame-ancestors 'self'";

/// Adds the security headers (a response that may be embedded by our own
/// pages says so with `X-Frame-Options: SAMEORIGIN` already set).
pub async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let embeddable = headers
        .get(header::X_FRAME_OPTIONS)
        .is_some_and(|v| v == "SAMEORIGIN");
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if embeddable { CSP_EMBEDDABLE } else { CSP }),
    );
    if !embeddable {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

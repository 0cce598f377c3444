//! The stylesheet, compiled into the binary: no CDN, nothing fetched.

use axum::http::header;
use axum::response::IntoResponse;

const STYLE: &str = include_str!("../../assets/style.css");

/// `/assets/style.css`.
pub async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

const COMPOSE_JS: &str = include_str!("../../assets/compose.js");

/// `/assets/compose.js`: the recipient filter (the form works without it).
pub async fn compose_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        COMPOSE_JS,
    )
}

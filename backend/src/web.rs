//! Serves the built web client: its files, and `index.html` for every client-side route.
//!
//! trunk names each built asset after a hash of its content (`app-3f9c…_bg.wasm`), so those
//! can be cached for a year; `index.html` names the current hashes and must be revalidated on
//! every load, or a deployment would keep serving the old client.

use std::path::{Path, PathBuf};

use gallery_types::ErrorCode;
use poem::{
    Body, Endpoint, FromRequest, IntoResponse, Request, Response,
    endpoint::{StaticFileEndpoint, StaticFilesEndpoint},
    http::{HeaderValue, Method, header},
    web::StaticFileRequest,
};

use crate::{csp, error::ApiError};

/// `Cache-Control` for content-hashed assets: their URL changes whenever their bytes do.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for everything else: use the cached copy only after revalidating its ETag.
const CACHE_REVALIDATE: &str = "no-cache";

/// File extensions of assets. A missing path with one of these is a 404, not a client route,
/// so a stale `<script>` reference fails loudly instead of loading HTML as JavaScript.
const ASSET_EXTENSIONS: &[&str] = &[
    "js",
    "mjs",
    "wasm",
    "css",
    "map",
    "json",
    "webmanifest",
    "ico",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "webp",
    "svg",
    "woff",
    "woff2",
    "txt",
    "xml",
];

/// Where the Max mini-app bridge script comes from: the one script from elsewhere the page
/// may run.
const MAX_BRIDGE_ORIGIN: &str = "https://st.max.ru";

/// The precompressed copies a build leaves beside each hashed asset (`scripts/lib.sh`
/// `build_web`), best first: the file name's suffix and the `Content-Encoding` it is sent with.
const PRECOMPRESSED: [(&str, &str); 2] = [(".br", "br"), (".gz", "gzip")];

/// The web client endpoint, nested at `/`.
pub struct WebClient {
    dir: PathBuf,
    files: StaticFilesEndpoint,
    index: StaticFileEndpoint,
    built: bool,
    content_security_policy: String,
}

impl WebClient {
    /// Serves the client built into `dir`. A missing build is logged and answered with 503,
    /// so the API still runs (deployments where nginx serves the client have none).
    /// `frame_ancestors` are the sites that may show the app in a frame (Max's web client).
    pub fn new(dir: &Path, frame_ancestors: &[String]) -> Self {
        let index_path: PathBuf = dir.join("index.html");
        let index_html = std::fs::read_to_string(&index_path).ok();
        if index_html.is_none() {
            tracing::warn!(dir = %dir.display(), "no web client build found; `/` will answer 503 (build it with `trunk build` in web/)");
        }
        Self {
            dir: dir.to_owned(),
            files: StaticFilesEndpoint::new(dir),
            index: StaticFileEndpoint::new(index_path).no_cache(true),
            built: index_html.is_some(),
            content_security_policy: content_security_policy(
                index_html.as_deref().unwrap_or_default(),
                frame_ancestors,
            ),
        }
    }

    /// The `Content-Security-Policy` every response carries.
    pub fn content_security_policy(&self) -> &str {
        &self.content_security_policy
    }
}

/// What the page may load and who may frame it: its own files, the Max bridge script, the
/// inline loader trunk writes into `index.html` (allowed by its hash, so no other inline script
/// runs), WebAssembly, inline `style` attributes (the photo viewer's size), images from
/// itself, `data:` and `blob:` (upload previews) and `https:` (avatars: the `photo_url` Max
/// signs into initData lives on Max's servers); connections to itself only (the API and the
/// socket). Nothing may embed it but itself and `frame_ancestors`.
fn content_security_policy(index_html: &str, frame_ancestors: &[String]) -> String {
    let script_hashes = csp::inline_script_hashes(index_html);
    let frame_ancestors = frame_ancestors
        .iter()
        .map(|origin| format!(" {origin}"))
        .collect::<String>();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {MAX_BRIDGE_ORIGIN}{script_hashes}; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data: blob: https:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'self'{frame_ancestors}"
    )
}

/// The contents of the page's inline `<script>` elements (those without `src`), exactly as
/// the browser hashes them.
impl Endpoint for WebClient {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        if !self.built {
            return Ok(ApiError::unavailable("the web client has not been built").into_response());
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut refused = ApiError::new(
                ErrorCode::MethodNotAllowed,
                "the web client answers GET and HEAD only",
            )
            .into_response();
            refused
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Ok(refused);
        }
        // poem's static file endpoints answer GET only; HEAD is GET without the body.
        let head = request.method() == Method::HEAD;
        if head {
            request.set_method(Method::GET);
        }

        let path = request.uri().path().to_owned();
        let last_segment = path.rsplit('/').next().unwrap_or_default();
        let mut response = if is_asset_name(last_segment) {
            let hashed = is_content_hashed(last_segment);
            let precompressed = match hashed && path == format!("/{last_segment}") {
                true => self.precompressed(&request, last_segment).await?,
                false => None,
            };
            let mut response = match precompressed {
                Some(response) => response,
                None => self.files.call(request).await?,
            };
            let cache = if hashed {
                CACHE_FOREVER
            } else {
                CACHE_REVALIDATE
            };
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            response
        } else {
            self.index.call(request).await?
        };

        if head {
            response.set_body(Body::empty());
        }
        Ok(response)
    }
}

impl WebClient {
    /// The precompressed copy of the asset `name` the client accepts (brotli before gzip),
    /// if the build left one: sent with its `Content-Encoding` and the asset's own type.
    async fn precompressed(&self, request: &Request, name: &str) -> poem::Result<Option<Response>> {
        let accepted = request
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let Some((path, encoding)) = PRECOMPRESSED.iter().find_map(|(suffix, encoding)| {
            let path = self.dir.join(format!("{name}{suffix}"));
            (accepts(accepted, encoding) && path.is_file()).then_some((path, *encoding))
        }) else {
            return Ok(None);
        };
        let file = StaticFileRequest::from_request_without_body(request).await?;
        let mut response = file
            .create_response(&path, true, false)
            .map_err(poem::Error::from)?
            .into_response();
        let content_type = mime_guess::from_path(name).first_or_octet_stream();
        let headers = response.headers_mut();
        if let Ok(content_type) = HeaderValue::from_str(content_type.essence_str()) {
            headers.insert(header::CONTENT_TYPE, content_type);
        }
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        Ok(Some(response))
    }
}

/// Whether an `Accept-Encoding` value accepts `encoding` (named, and not with `q=0`).
fn accepts(accept_encoding: &str, encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let named = parts
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case(encoding));
        let refused = parts.any(|parameter| {
            parameter
                .strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        named && !refused
    })
}

/// Whether a path's last segment names an asset file rather than a client-side route.
fn is_asset_name(segment: &str) -> bool {
    segment.rsplit_once('.').is_some_and(|(_, extension)| {
        ASSET_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
    })
}

/// Whether a file name carries trunk's content hash: `<stem>-<16+ hex digits>[_bg].<ext>`.
fn is_content_hashed(file_name: &str) -> bool {
    let stem = file_name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() >= 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_content_hashed("gallery-web-5c1f0a9e7d3b2a41.js"));
        assert!(is_content_hashed("gallery-web-5c1f0a9e7d3b2a41_bg.wasm"));
        assert!(is_content_hashed("style-0123456789abcdef.css"));
        assert!(!is_content_hashed("favicon.ico"));
        assert!(!is_content_hashed("gallery-web.js"));
        assert!(!is_content_hashed("my-photo.png"));
    }

    #[test]
    fn the_policy_allows_the_bridge_and_the_inline_loader_and_no_other_inline_code() {
        let html = r#"<head><script src="https://st.max.ru/js/max-web-app.js"></script>
<script type="module">import init from '/app-0123456789abcdef.js';</script></head>"#;
        let policy = content_security_policy(html, &["https://web.max.ru".to_owned()]);
        let hashes = csp::inline_script_hashes(html);
        assert!(
            policy.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' https://st.max.ru{hashes};"
            )),
            "{policy}"
        );
        assert!(
            policy.ends_with("frame-ancestors 'self' https://web.max.ru"),
            "{policy}"
        );
        let directive = |name: &str| {
            policy
                .split("; ")
                .find(|directive| directive.split(' ').next() == Some(name))
                .unwrap_or_default()
                .to_owned()
        };
        for name in ["script-src", "style-src"] {
            assert!(
                !directive(name).contains("'unsafe-inline'"),
                "no inline script or style element: {policy}"
            );
        }
        assert_eq!(
            directive("img-src"),
            "img-src 'self' data: blob: https:",
            "avatars are on Max's servers, over https only"
        );
    }

    #[test]
    fn accept_encoding_is_read_with_its_refusals() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("br;q=0.5, gzip", "br"));
        assert!(!accepts("gzip", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(!accepts("", "gzip"));
    }

    #[test]
    fn client_routes_are_not_assets() {
        assert!(is_asset_name("app-0123456789abcdef.js"));
        assert!(is_asset_name("LOGO.PNG"));
        assert!(!is_asset_name(""));
        assert!(!is_asset_name("settings"));
        assert!(!is_asset_name("ivan.petrov"));
    }
}

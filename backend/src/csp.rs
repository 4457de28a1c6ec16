//! Content-Security-Policy: each page the server renders sends one that allows exactly its own
//! inline scripts (by their hashes); every other response gets the web client's.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, header},
};
use sha2::{Digest, Sha256};

/// The `'sha256-…'` sources of every inline `<script>` of `html`, each preceded by a space.
pub fn inline_script_hashes(html: &str) -> String {
    inline_scripts(html)
        .iter()
        .map(|script| format!(" 'sha256-{}'", STANDARD.encode(Sha256::digest(script))))
        .collect()
}

/// The bodies of the `<script>` elements of `html` that have no `src`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after_tag = &rest[start..];
        let Some(tag_end) = after_tag.find('>') else {
            break;
        };
        let tag = &after_tag[..tag_end];
        let body = &after_tag[tag_end + 1..];
        let Some(body_end) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            scripts.push(&body[..body_end]);
        }
        rest = &body[body_end..];
    }
    scripts
}

/// Middleware: responses that set no policy of their own get `default`.
pub async fn default_policy<E: Endpoint>(
    next: Arc<E>,
    request: Request,
    default: HeaderValue,
) -> poem::Result<Response> {
    let mut response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    if !response
        .headers()
        .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, default);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inline_scripts_are_hashed() {
        let html = r#"<head><script src="https://st.max.ru/js/max-web-app.js"></script>
<script type="module">
import init from '/app-0123456789abcdef.js';
</script></head>"#;
        let script = "\nimport init from '/app-0123456789abcdef.js';\n";
        assert_eq!(inline_scripts(html), [script]);
        let hash = STANDARD.encode(Sha256::digest(script));
        assert_eq!(inline_script_hashes(html), format!(" 'sha256-{hash}'"));
    }
}

//! QR codes of the app's share links, rendered by the server as SVG: an object's provenance
//! page, a claim link, a profile, a sign-in request — as a page of the app or as a Max deep
//! link (`https://max.ru/<bot>?startapp=…`), which opens it in the mini-app.

use poem_openapi::{ApiResponse, OpenApi, param::Query, payload::PlainText};
use qrcode::{QrCode, render::svg};

use crate::{api::ApiTag, error::ApiError, error_responses};

/// The URLs worth a QR code: a Max deep link with its start parameter, or a page of the app
/// that a code is shown for. The parameter's validator repeats it (attributes take literals
/// only); a test holds the two equal.
#[cfg(test)]
const SHARE_URL_PATTERN: &str = r"^(https://max\.ru/[A-Za-z0-9_]{1,64}\?startapp=[A-Za-z0-9_-]{1,64}|https?://[A-Za-z0-9.:\[\]-]{1,255}/(objects/[0-9]{1,15}|photos/[0-9]{1,15}|claim/[A-Za-z0-9_-]{1,64}|approve/[A-Za-z0-9_-]{1,64}|users/[A-Za-z0-9_]{1,32}))$";

/// The smallest side of the drawn code, in SVG units.
const MIN_SIDE: u32 = 256;

error_responses! {
    /// Errors of `GET /api/qr-code`.
    pub enum QrCodeError {}
}

/// A QR code.
#[derive(ApiResponse)]
pub enum QrCodeImage {
    /// The code as SVG (it never changes for a URL: cached for a day).
    #[oai(status = 200, content_type = "image/svg+xml")]
    Svg(PlainText<String>, #[oai(header = "Cache-Control")] String),
}

/// QR codes.
#[derive(Debug, Default)]
pub struct ShareApi;

#[OpenApi(tag = "ApiTag::Ownership")]
impl ShareApi {
    /// A QR code of a share link
    ///
    /// `url` is a Max deep link (`https://max.ru/<bot>?startapp=<param>`) or a page of this
    /// app: `/objects/{id}`, `/photos/{id}`, `/claim/{token}`, `/approve/{id}` or
    /// `/users/{handle}` on its host.
    #[oai(path = "/qr-code", method = "get", operation_id = "get_qr_code")]
    async fn qr_code(
        &self,
        #[oai(validator(
            max_length = 400,
            pattern = r"^(https://max\.ru/[A-Za-z0-9_]{1,64}\?startapp=[A-Za-z0-9_-]{1,64}|https?://[A-Za-z0-9.:\[\]-]{1,255}/(objects/[0-9]{1,15}|photos/[0-9]{1,15}|claim/[A-Za-z0-9_-]{1,64}|approve/[A-Za-z0-9_-]{1,64}|users/[A-Za-z0-9_]{1,32}))$"
        ))]
        url: Query<String>,
    ) -> Result<QrCodeImage, QrCodeError> {
        Ok(QrCodeImage::Svg(
            PlainText(qr_svg(&url.0)?),
            "public, max-age=86400".to_owned(),
        ))
    }
}

/// `text` as an SVG QR code.
pub fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = QrCode::new(text.as_bytes()).map_err(|error| {
        tracing::error!(%error, "cannot make a QR code");
        ApiError::internal()
    })?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(MIN_SIDE, MIN_SIDE)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_urls_are_told_from_others() {
        let pattern = regex::Regex::new(SHARE_URL_PATTERN).unwrap();
        for url in [
            "https://max.ru/gallery_bot?startapp=claim_AbC-d_9",
            "https://max.ru/gallery_bot?startapp=o_17",
            "http://127.0.0.1:8080/objects/17",
            "https://gallery.example/claim/AbC-d_9",
            "https://gallery.example/users/anna_k",
            "https://gallery.example/approve/x1Y2",
        ] {
            assert!(pattern.is_match(url), "{url}");
        }
        for url in [
            "https://evil.example/login",
            "javascript:alert(1)",
            "https://max.ru/gallery_bot?startapp=a&x=1",
            "https://gallery.example/objects/17?next=https://evil.example",
        ] {
            assert!(!pattern.is_match(url), "{url}");
        }
    }

    #[test]
    fn the_spec_states_the_same_pattern() {
        let spec = poem_openapi::OpenApiService::new(ShareApi, "share", "1").spec();
        let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let parameter = &spec["paths"]["/qr-code"]["get"]["parameters"][0];
        assert_eq!(parameter["schema"]["pattern"], SHARE_URL_PATTERN);
    }

    #[test]
    fn a_code_is_an_svg() {
        let svg = qr_svg("https://max.ru/gallery_bot?startapp=o_17").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    }
}

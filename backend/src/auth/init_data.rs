//! Validation of Max mini-app `initData`, exactly as Max documents it
//! (dev.max.ru/docs/webapps/validation). Pure: no I/O, no clock, so it is easy to test and
//! fuzz.
//!
//! ```text
//! secret = HMAC_SHA256(key = "WebAppData", msg = bot_token)
//! hash   = hex(HMAC_SHA256(key = secret, msg = data_check_string))
//! ```
//! where the check string is every `key=value` pair except `hash`, URL-decoded, sorted by key
//! and joined with `\n`.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `auth_date` may come more than this far ahead of our clock: clocks drift, not by much.
pub const MAX_FUTURE_SKEW_SECONDS: i64 = 300;

/// An `auth_date` above this is in milliseconds: in seconds it would be past the year 5000.
const MILLISECONDS_THRESHOLD: i64 = 100_000_000_000;

/// Why initData was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitDataError {
    /// It cannot be parsed, or lacks `hash`, `auth_date` or `user`.
    #[error("initData is malformed: {0}")]
    Malformed(&'static str),
    /// The hash does not match: not signed by our bot, or changed after signing.
    #[error("initData signature does not match")]
    BadSignature,
    /// Signed, but too old or too far in the future.
    #[error("initData is expired or not yet valid")]
    Expired,
}

impl From<InitDataError> for crate::error::ApiError {
    fn from(error: InitDataError) -> Self {
        use gallery_types::ErrorCode;
        let code = match error {
            InitDataError::Malformed(_) => ErrorCode::InitDataMalformed,
            InitDataError::BadSignature => ErrorCode::InitDataInvalid,
            InitDataError::Expired => ErrorCode::InitDataExpired,
        };
        crate::error::ApiError::new(code, error.to_string())
    }
}

/// The Max user, as initData's `user` JSON describes them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MaxUser {
    pub id: i64,
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub language_code: Option<String>,
    #[serde(default)]
    pub photo_url: Option<String>,
}

/// What validated initData tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidInitData {
    pub user: MaxUser,
    /// Seconds since the epoch (normalised from milliseconds if need be).
    pub auth_date: i64,
    /// The deep-link payload the mini-app was opened with, if any.
    pub start_param: Option<String>,
}

/// Validates `init_data` signed with `bot_token`, as of `now_unix`, accepting data at most
/// `max_age_seconds` old.
pub fn validate(
    init_data: &str,
    bot_token: &str,
    now_unix: i64,
    max_age_seconds: i64,
) -> Result<ValidInitData, InitDataError> {
    let fields = parse_fields(init_data)?;
    let hash = fields
        .get("hash")
        .ok_or(InitDataError::Malformed("no hash"))?;
    let auth_date = fields
        .get("auth_date")
        .ok_or(InitDataError::Malformed("no auth_date"))?;
    let user = fields
        .get("user")
        .ok_or(InitDataError::Malformed("no user"))?;
    let hash = decode_hash(hash)?;

    let check_string = fields
        .iter()
        .filter(|(key, _)| key.as_str() != "hash")
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut mac = HmacSha256::new_from_slice(&secret_key(bot_token)).expect("HMAC takes any key");
    mac.update(check_string.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&hash)
        .map_err(|_| InitDataError::BadSignature)?;

    let auth_date = parse_auth_date(auth_date)?;
    let age = now_unix - auth_date;
    if age > max_age_seconds || -age > MAX_FUTURE_SKEW_SECONDS {
        return Err(InitDataError::Expired);
    }

    let user: MaxUser = serde_json::from_str(user)
        .map_err(|_| InitDataError::Malformed("user is not valid JSON"))?;
    Ok(ValidInitData {
        user,
        auth_date,
        start_param: fields.get("start_param").cloned(),
    })
}

/// Signs `fields` (already-decoded `key=value` pairs) for `bot_token` and returns the
/// query string a Max client would hand over. For `gallery sign-init-data` and tests.
pub fn sign(fields: &[(&str, &str)], bot_token: &str) -> String {
    let sorted: BTreeMap<&str, &str> = fields.iter().copied().collect();
    let check_string = sorted
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut mac = HmacSha256::new_from_slice(&secret_key(bot_token)).expect("HMAC takes any key");
    mac.update(check_string.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in fields {
        query.append_pair(key, value);
    }
    query.append_pair("hash", &hash);
    query.finish()
}

fn secret_key(bot_token: &str) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(b"WebAppData").expect("HMAC takes any key");
    mac.update(bot_token.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Splits initData into its decoded fields, refusing any key given twice.
///
/// Max hands over either a plain query string or the whole string URL-encoded once more
/// (its docs show `auth_date%3D...%26user%3D%257B...`): a string with no `=` at all but an
/// encoded one is the latter, and is decoded once first.
fn parse_fields(init_data: &str) -> Result<BTreeMap<String, String>, InitDataError> {
    let init_data = init_data.trim();
    if init_data.is_empty() {
        return Err(InitDataError::Malformed("empty"));
    }
    let decoded;
    let query = if !init_data.contains('=') && init_data.to_ascii_uppercase().contains("%3D") {
        decoded = percent_decode(init_data)?;
        decoded.as_str()
    } else {
        init_data
    };

    let mut fields = BTreeMap::new();
    for pair in query.split('&') {
        let (key, value) = pair
            .split_once('=')
            .ok_or(InitDataError::Malformed("a field without '='"))?;
        let key = percent_decode(key)?;
        let value = percent_decode(value)?;
        if key.is_empty() {
            return Err(InitDataError::Malformed("a field without a name"));
        }
        if fields.insert(key, value).is_some() {
            return Err(InitDataError::Malformed("a field is given twice"));
        }
    }
    Ok(fields)
}

/// Strict URL decoding (`%XX` and `+` for space, as in query strings); a broken escape is
/// malformed input rather than something to guess about.
fn percent_decode(text: &str) -> Result<String, InitDataError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let escape = bytes
                    .get(index + 1..index + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or(InitDataError::Malformed("a broken %-escape"))?;
                out.push(escape);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| InitDataError::Malformed("not UTF-8"))
}

fn decode_hash(hash: &str) -> Result<Vec<u8>, InitDataError> {
    if hash.len() != 64 {
        return Err(InitDataError::Malformed("hash is not 64 hex digits"));
    }
    hex::decode(hash).map_err(|_| InitDataError::Malformed("hash is not 64 hex digits"))
}

fn parse_auth_date(value: &str) -> Result<i64, InitDataError> {
    let number: i64 = value
        .parse()
        .map_err(|_| InitDataError::Malformed("auth_date is not a number"))?;
    if number <= 0 {
        return Err(InitDataError::Malformed(
            "auth_date is not a positive number",
        ));
    }
    Ok(if number > MILLISECONDS_THRESHOLD {
        number / 1000
    } else {
        number
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123:test-token";
    const NOW: i64 = 1_764_374_351;
    const DAY: i64 = 86_400;

    fn signed(auth_date: &str) -> String {
        sign(
            &[
                ("auth_date", auth_date),
                ("user", r#"{"id":7,"first_name":"Ann"}"#),
                ("start_param", "login_abc"),
            ],
            TOKEN,
        )
    }

    #[test]
    fn what_sign_produces_validates() {
        let valid = validate(&signed(&NOW.to_string()), TOKEN, NOW, DAY).unwrap();
        assert_eq!(valid.user.id, 7);
        assert_eq!(valid.start_param.as_deref(), Some("login_abc"));
    }

    #[test]
    fn milliseconds_are_normalised_to_seconds() {
        let valid = validate(&signed(&format!("{NOW}000")), TOKEN, NOW, DAY).unwrap();
        assert_eq!(valid.auth_date, NOW);
    }

    #[test]
    fn the_age_limits_are_inclusive_at_their_bounds() {
        let at_max_age = (NOW - DAY).to_string();
        assert!(validate(&signed(&at_max_age), TOKEN, NOW, DAY).is_ok());
        let past_max_age = (NOW - DAY - 1).to_string();
        assert_eq!(
            validate(&signed(&past_max_age), TOKEN, NOW, DAY),
            Err(InitDataError::Expired)
        );
        let at_skew = (NOW + MAX_FUTURE_SKEW_SECONDS).to_string();
        assert!(validate(&signed(&at_skew), TOKEN, NOW, DAY).is_ok());
        let past_skew = (NOW + MAX_FUTURE_SKEW_SECONDS + 1).to_string();
        assert_eq!(
            validate(&signed(&past_skew), TOKEN, NOW, DAY),
            Err(InitDataError::Expired)
        );
    }

    #[test]
    fn another_token_is_a_bad_signature() {
        assert_eq!(
            validate(&signed(&NOW.to_string()), "other", NOW, DAY),
            Err(InitDataError::BadSignature)
        );
    }

    #[test]
    fn broken_escapes_and_duplicates_are_malformed() {
        for input in ["a=%zz", "a=1&a=1", "noequals", "=x", "%%%zz&&=="] {
            assert!(
                matches!(
                    validate(input, TOKEN, NOW, DAY),
                    Err(InitDataError::Malformed(_))
                ),
                "{input}"
            );
        }
    }
}

//! Access tokens (short-lived JWTs) and refresh tokens (opaque, stored hashed).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Who issues our tokens, and for whom: checked on every token so a JWT minted for another
/// service with the same secret is refused.
pub const ISSUER: &str = "max-photo-gallery";
pub const AUDIENCE: &str = "max-photo-gallery-api";

/// Clock skew tolerated on `exp` and `iat`.
const LEEWAY_SECONDS: u64 = 5;

/// The `typ` claim: an access token is never accepted where a different kind is expected.
const ACCESS_TYPE: &str = "access";

/// A JWT secret shorter than this is refused: HS256 is only as strong as its key.
pub const MIN_SECRET_BYTES: usize = 32;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user's id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// A unique id per token.
    pub jti: Uuid,
    /// Always `access`.
    pub typ: String,
    /// The session (refresh-token family) this token belongs to.
    pub sid: Uuid,
}

/// Why a token was refused. The client only learns that it was (401).
#[derive(Debug, thiserror::Error)]
#[error("invalid access token: {0}")]
pub struct InvalidToken(String);

/// Signs and checks access tokens with one HS256 secret.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl AccessTokens {
    pub fn new(secret: &SecretString, ttl: Duration) -> Self {
        let secret = secret.expose_secret().as_bytes();
        // Pinned to HS256: a token naming any other algorithm (`none` included) is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// How long an access token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues an access token for `user_id` in session `session_id`.
    pub fn issue(&self, user_id: i64, session_id: Uuid) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: Uuid::new_v4(),
            typ: ACCESS_TYPE.to_owned(),
            sid: session_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Checks signature, algorithm, `iss`, `aud`, `exp`, `iat` and `typ`; returns the claims.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, InvalidToken> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|error| InvalidToken(error.to_string()))?;
        let claims = data.claims;
        if claims.typ != ACCESS_TYPE {
            return Err(InvalidToken(format!("typ is {:?}", claims.typ)));
        }
        let now = chrono::Utc::now().timestamp();
        if claims.iat > now + LEEWAY_SECONDS as i64 {
            return Err(InvalidToken("issued in the future".into()));
        }
        Ok(claims)
    }

    /// The user id of a valid token.
    pub fn user_id(claims: &AccessClaims) -> Result<i64, InvalidToken> {
        claims
            .sub
            .parse()
            .map_err(|_| InvalidToken("sub is not a user id".into()))
    }
}

/// A fresh opaque refresh token: 32 random bytes, URL-safe base64. Prefixed so that it can
/// never be mistaken for (or parsed as) a JWT.
pub fn new_refresh_token() -> String {
    format!("rt_{}", random_urlsafe(32))
}

/// `n` random bytes as URL-safe base64 without padding.
pub fn random_urlsafe(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a secret token: its SHA-256. The tokens are 256 random bits, so
/// a fast hash is enough (no dictionary to guess from), and a leaked table grants nothing.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        AccessTokens::new(
            &SecretString::from("0123456789abcdef0123456789abcdef"),
            Duration::from_secs(900),
        )
    }

    #[test]
    fn an_issued_token_verifies() {
        let tokens = tokens();
        let session = Uuid::new_v4();
        let claims = tokens.verify(&tokens.issue(42, session)).unwrap();
        assert_eq!(AccessTokens::user_id(&claims).unwrap(), 42);
        assert_eq!(claims.sid, session);
    }

    #[test]
    fn a_refresh_token_is_not_an_access_token() {
        assert!(tokens().verify(&new_refresh_token()).is_err());
    }
}

//! The one error shape every failing request answers with.

use serde::{Deserialize, Serialize};

/// `{"code": "...", "message": "..."}`: the body of every error response.
///
/// `code` is the stable, machine-readable contract (clients branch on it and translate it);
/// `message` is an English explanation for developers and logs, never shown as-is to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ErrorBody {
    /// What went wrong, as a stable snake_case code.
    pub code: ErrorCode,
    /// A human-readable explanation in English.
    pub message: String,
}

/// Every error code the API can answer with.
///
/// Codes are part of the public contract: add new ones freely, never rename or reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum ErrorCode {
    /// The request is malformed: unparsable body, bad parameter, missing field.
    BadRequest,
    /// A text (in the path, the query, or the body) holds a NUL character.
    InvalidText,
    /// No valid credentials were presented.
    Unauthorized,
    /// The credentials are valid but do not allow this.
    Forbidden,
    /// No such route or resource.
    NotFound,
    /// The route exists but not for this HTTP method.
    MethodNotAllowed,
    /// The request conflicts with the current state.
    Conflict,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// The body's media type is not accepted here.
    UnsupportedMediaType,
    /// The request is well-formed but its content is refused.
    UnprocessableEntity,
    /// Too many requests: wait for `Retry-After` seconds.
    RateLimited,
    /// Something failed on the server; details are in the server's log.
    Internal,
    /// A dependency (the database, usually) is not reachable right now.
    ServiceUnavailable,
    /// initData cannot be parsed or lacks a required field.
    InitDataMalformed,
    /// initData's signature does not match the configured bot token.
    InitDataInvalid,
    /// initData is older than allowed, or dated in the future.
    InitDataExpired,
    /// The access token is missing, malformed, expired or its session has ended.
    InvalidToken,
    /// The refresh token is unknown, expired or its session has ended.
    InvalidRefreshToken,
    /// The refresh token was already used: its whole session has been ended.
    RefreshTokenReused,
    /// Wrong handle or password.
    InvalidCredentials,
    /// The current password given does not match.
    WrongPassword,
    /// Setting or removing a password without the current one needs Max's initData of this
    /// account from the last ten minutes.
    FreshSignInRequired,
    /// The new password breaks the rules (8–128 characters).
    WeakPassword,
    /// The handle breaks the rules (3–32 letters, digits or `_`, starting with a letter).
    InvalidHandle,
    /// Somebody already has this handle.
    HandleTaken,
    /// The account has no handle yet, and this needs one (password sign-in asks for it).
    HandleRequired,
    /// A profile field is too long or empty.
    InvalidProfile,
    /// The sign-in request expired or was already used.
    QrLoginGone,
    /// The sign-in request was already approved.
    QrLoginAlreadyApproved,
    /// The number picked is not the one the computer shows: the request is cancelled.
    QrLoginMismatch,
    /// These image bytes are already in the gallery.
    DuplicatePhoto,
    /// The upload is not a JPEG, PNG, GIF or WebP image.
    UnsupportedImage,
    /// The image is too large in pixels, sides or frames, or cannot be decoded.
    InvalidImage,
    /// The upload exceeds the size limit.
    FileTooLarge,
    /// The user's photos would take more than their storage quota.
    QuotaExceeded,
    /// The upload did not arrive within the time allowed.
    UploadTimeout,
    /// A photo field breaks its rules (length, tag count).
    InvalidPhoto,
    /// Only the current owner may do this.
    NotOwner,
    /// Nobody can give something to themselves (a gift, an offer to oneself).
    InvalidRecipient,
    /// An offer gives and asks for nothing, or names an object on both sides.
    InvalidOffer,
    /// An object in the offer is not owned by the side that would give it.
    ObjectNotOwned,
    /// Something in the offer changed hands meanwhile: the offer is now `invalidated`.
    OfferInvalidated,
    /// The offer is no longer pending (accepted, declined, cancelled, countered, expired or
    /// invalidated).
    OfferClosed,
    /// Only the offer's recipient (accept, decline) or proposer (cancel) may do this.
    NotOfferParty,
    /// The claim link was used, revoked or has expired.
    ClaimLinkGone,
    /// The owner cannot claim their own link.
    CannotClaimOwnLink,
    /// This `Idempotency-Key` was used for a different request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyKeyInUse,
    /// The WebSocket ticket is unknown, expired, already used, or its session has ended.
    InvalidTicket,
    /// The WebSocket `Origin` is not one this server accepts.
    ForbiddenOrigin,
    /// A WebSocket message is not valid JSON or not a known message.
    InvalidMessage,
}

impl ErrorCode {
    /// The HTTP status every response with this code has: one status per code, so a client
    /// that knows the code knows the status, and the server cannot answer a code with the
    /// wrong one.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest | InvalidText | InvalidMessage => 400,
            Unauthorized | InitDataMalformed | InitDataInvalid | InitDataExpired | InvalidToken
            | InvalidRefreshToken | RefreshTokenReused | InvalidCredentials | InvalidTicket => 401,
            Forbidden | WrongPassword | FreshSignInRequired | QrLoginMismatch | NotOwner
            | ForbiddenOrigin | NotOfferParty | CannotClaimOwnLink => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            Conflict
            | HandleTaken
            | HandleRequired
            | QrLoginAlreadyApproved
            | DuplicatePhoto
            | ObjectNotOwned
            | OfferInvalidated
            | OfferClosed
            | IdempotencyKeyInUse => 409,
            QrLoginGone | ClaimLinkGone => 410,
            UploadTimeout => 408,
            PayloadTooLarge | FileTooLarge | QuotaExceeded => 413,
            UnsupportedMediaType | UnsupportedImage => 415,
            UnprocessableEntity | WeakPassword | InvalidHandle | InvalidProfile | InvalidImage
            | InvalidPhoto | InvalidRecipient | InvalidOffer | IdempotencyKeyReused => 422,
            RateLimited => 429,
            Internal => 500,
            ServiceUnavailable => 503,
        }
    }

    /// The code a bare HTTP status maps to, for errors that carry nothing more specific.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            422 => Self::UnprocessableEntity,
            429 => Self::RateLimited,
            503 => Self::ServiceUnavailable,
            _ if (400..500).contains(&status) => Self::BadRequest,
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire() {
        let body = ErrorBody {
            code: ErrorCode::MethodNotAllowed,
            message: "nope".into(),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"code":"method_not_allowed","message":"nope"}"#
        );
    }

    #[test]
    fn statuses_without_a_code_of_their_own_fall_back_by_class() {
        assert_eq!(ErrorCode::from_status(404), ErrorCode::NotFound);
        assert_eq!(ErrorCode::from_status(418), ErrorCode::BadRequest);
        assert_eq!(ErrorCode::from_status(502), ErrorCode::Internal);
        assert_eq!(ErrorCode::from_status(503), ErrorCode::ServiceUnavailable);
    }

    #[test]
    fn a_generic_code_and_its_status_map_both_ways() {
        for status in [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503] {
            assert_eq!(ErrorCode::from_status(status).status(), status);
        }
    }
}

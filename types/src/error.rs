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

/// Declares [`ErrorCode`]: each code once, with its name on the wire and its HTTP status.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal, $status:literal;)*) => {
        /// Every error code the API can answer with.
        ///
        /// Codes are part of the public contract: add new ones freely, never rename or reuse
        /// one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
        #[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it is written on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The HTTP status every response with this code has: one status per code, so a
            /// client that knows the code knows the status, and the server cannot answer a
            /// code with the wrong one.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }
        }
    };
}

error_codes! {
    /// The request is malformed: unparsable body, bad parameter, missing field.
    BadRequest => "bad_request", 400;
    /// A text (in the path, the query, or the body) holds a NUL character.
    InvalidText => "invalid_text", 400;
    /// No valid credentials were presented.
    Unauthorized => "unauthorized", 401;
    /// The credentials are valid but do not allow this.
    Forbidden => "forbidden", 403;
    /// No such route or resource.
    NotFound => "not_found", 404;
    /// The route exists but not for this HTTP method.
    MethodNotAllowed => "method_not_allowed", 405;
    /// The request conflicts with the current state.
    Conflict => "conflict", 409;
    /// The body is larger than allowed.
    PayloadTooLarge => "payload_too_large", 413;
    /// The body's media type is not accepted here.
    UnsupportedMediaType => "unsupported_media_type", 415;
    /// The request is well-formed but its content is refused.
    UnprocessableEntity => "unprocessable_entity", 422;
    /// Too many requests: wait for `Retry-After` seconds.
    RateLimited => "rate_limited", 429;
    /// Something failed on the server; details are in the server's log.
    Internal => "internal", 500;
    /// A dependency (the database, usually) is not reachable right now.
    ServiceUnavailable => "service_unavailable", 503;
    /// initData cannot be parsed or lacks a required field.
    InitDataMalformed => "init_data_malformed", 401;
    /// initData's signature does not match the configured bot token.
    InitDataInvalid => "init_data_invalid", 401;
    /// initData is older than allowed, or dated in the future.
    InitDataExpired => "init_data_expired", 401;
    /// The access token is missing, malformed, expired or its session has ended.
    InvalidToken => "invalid_token", 401;
    /// The refresh token is unknown, expired or its session has ended.
    InvalidRefreshToken => "invalid_refresh_token", 401;
    /// The refresh token was already used: its whole session has been ended.
    RefreshTokenReused => "refresh_token_reused", 401;
    /// Wrong handle or password.
    InvalidCredentials => "invalid_credentials", 401;
    /// The current password given does not match.
    WrongPassword => "wrong_password", 403;
    /// Setting or removing a password without the current one needs Max's initData of this
    /// account from the last ten minutes.
    FreshSignInRequired => "fresh_sign_in_required", 403;
    /// The new password breaks the rules (8–128 characters).
    WeakPassword => "weak_password", 422;
    /// The handle breaks the rules (3–32 letters, digits or `_`, starting with a letter).
    InvalidHandle => "invalid_handle", 422;
    /// Somebody already has this handle.
    HandleTaken => "handle_taken", 409;
    /// The account has no handle yet, and this needs one (password sign-in asks for it).
    HandleRequired => "handle_required", 409;
    /// A profile field is too long or empty.
    InvalidProfile => "invalid_profile", 422;
    /// The sign-in request expired or was already used.
    QrLoginGone => "qr_login_gone", 410;
    /// The sign-in request was already approved.
    QrLoginAlreadyApproved => "qr_login_already_approved", 409;
    /// The number picked is not the one the computer shows: the request is cancelled.
    QrLoginMismatch => "qr_login_mismatch", 403;
    /// These image bytes are already in the gallery.
    DuplicatePhoto => "duplicate_photo", 409;
    /// The upload is not a JPEG, PNG, GIF or WebP image.
    UnsupportedImage => "unsupported_image", 415;
    /// The image is too large in pixels, sides or frames, or cannot be decoded.
    InvalidImage => "invalid_image", 422;
    /// The upload exceeds the size limit.
    FileTooLarge => "file_too_large", 413;
    /// The user's photos would take more than their storage quota.
    QuotaExceeded => "quota_exceeded", 413;
    /// The upload did not arrive within the time allowed.
    UploadTimeout => "upload_timeout", 408;
    /// A photo field breaks its rules (length, tag count).
    InvalidPhoto => "invalid_photo", 422;
    /// Only the current owner may do this.
    NotOwner => "not_owner", 403;
    /// Nobody can give something to themselves (a gift, an offer to oneself).
    InvalidRecipient => "invalid_recipient", 422;
    /// An offer gives and asks for nothing, or names an object on both sides.
    InvalidOffer => "invalid_offer", 422;
    /// An object in the offer is not owned by the side that would give it.
    ObjectNotOwned => "object_not_owned", 409;
    /// Something in the offer changed hands meanwhile: the offer is now `invalidated`.
    OfferInvalidated => "offer_invalidated", 409;
    /// The offer is no longer pending (accepted, declined, cancelled, countered, expired or
    /// invalidated).
    OfferClosed => "offer_closed", 409;
    /// Only the offer's recipient (accept, decline) or proposer (cancel) may do this.
    NotOfferParty => "not_offer_party", 403;
    /// The claim link was used, revoked or has expired.
    ClaimLinkGone => "claim_link_gone", 410;
    /// The owner cannot claim their own link.
    CannotClaimOwnLink => "cannot_claim_own_link", 403;
    /// This `Idempotency-Key` was used for a different request.
    IdempotencyKeyReused => "idempotency_key_reused", 422;
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyKeyInUse => "idempotency_key_in_use", 409;
    /// The profile is private and the viewer has no approved request: others see its name only.
    ProfilePrivate => "profile_private", 403;
    /// The profile is public: there is nothing to ask for.
    ProfilePublic => "profile_public", 409;
    /// Nobody asks to see their own profile.
    OwnProfile => "own_profile", 422;
    /// An open request to this profile exists already (pending, or approved).
    RequestExists => "request_exists", 409;
    /// The request is not in a state this can be done in (only a pending one is approved,
    /// rejected or withdrawn; only an approved one revoked).
    RequestClosed => "request_closed", 409;
    /// Only the profile's owner (approve, reject, revoke) or the requester (withdraw) may do
    /// this.
    NotRequestParty => "not_request_party", 403;
    /// The last request was rejected, or its access revoked, recently: asking again waits for
    /// the cooling-off time (see `Retry-After`).
    RequestCoolingOff => "request_cooling_off", 429;
    /// The WebSocket ticket is unknown, expired, already used, or its session has ended.
    InvalidTicket => "invalid_ticket", 401;
    /// The WebSocket `Origin` is not one this server accepts.
    ForbiddenOrigin => "forbidden_origin", 403;
    /// A WebSocket message is not valid JSON or not a known message.
    InvalidMessage => "invalid_message", 400;
}

/// Written as its name.
impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Read from its name, by looking it up (smaller in the web client than a derived reader).
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == name)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, &[]))
    }
}

impl ErrorCode {
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
    fn every_code_reads_back_and_is_its_name_in_snake_case() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
            let debug = format!("{code:?}");
            let mut snake = String::new();
            for (index, letter) in debug.chars().enumerate() {
                if letter.is_uppercase() && index > 0 {
                    snake.push('_');
                }
                snake.push(letter.to_ascii_lowercase());
            }
            assert_eq!(code.as_str(), snake);
        }
        assert!(serde_json::from_str::<ErrorCode>(r#""no_such_code""#).is_err());
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

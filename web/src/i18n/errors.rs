//! What to tell a person when an API call fails.

use gallery_types::ErrorCode;

use super::Text;
use crate::api::ApiFailure;

/// The interface text for a failed call.
pub fn failure_text(failure: &ApiFailure) -> Text {
    match failure {
        ApiFailure::Network => Text::ErrorNetwork,
        ApiFailure::Decode => Text::ErrorGeneric,
        ApiFailure::Status { .. } => match failure.code() {
            Some(ErrorCode::InvalidCredentials) => Text::ErrorInvalidCredentials,
            Some(ErrorCode::RateLimited) => Text::ErrorRateLimited,
            Some(ErrorCode::HandleTaken) => Text::ErrorHandleTaken,
            Some(ErrorCode::InvalidHandle) => Text::ErrorInvalidHandle,
            Some(ErrorCode::HandleRequired) => Text::ErrorHandleRequired,
            Some(ErrorCode::InvalidProfile) => Text::ErrorInvalidProfile,
            Some(ErrorCode::WeakPassword) => Text::ErrorWeakPassword,
            Some(ErrorCode::WrongPassword) => Text::ErrorWrongPassword,
            Some(ErrorCode::FreshSignInRequired) => Text::ErrorFreshSignInRequired,
            Some(ErrorCode::QrLoginGone) => Text::ErrorQrGone,
            Some(ErrorCode::QrLoginMismatch) => Text::ErrorQrMismatch,
            Some(ErrorCode::FileTooLarge | ErrorCode::PayloadTooLarge) => Text::ErrorFileTooLarge,
            Some(ErrorCode::QuotaExceeded) => Text::ErrorQuotaExceeded,
            Some(ErrorCode::UploadTimeout) => Text::ErrorUploadTimeout,
            Some(ErrorCode::UnsupportedImage | ErrorCode::UnsupportedMediaType) => {
                Text::ErrorUnsupportedImage
            }
            Some(ErrorCode::InvalidImage) => Text::ErrorInvalidImage,
            Some(ErrorCode::InvalidPhoto) => Text::ErrorInvalidPhoto,
            Some(ErrorCode::DuplicatePhoto) => Text::ErrorDuplicatePhoto,
            Some(ErrorCode::NotOwner) => Text::ErrorNotOwner,
            Some(ErrorCode::OfferInvalidated) => Text::ErrorOfferInvalidated,
            Some(ErrorCode::OfferClosed) => Text::ErrorOfferClosed,
            Some(ErrorCode::InvalidOffer) => Text::ErrorInvalidOffer,
            Some(ErrorCode::ObjectNotOwned) => Text::ErrorObjectNotOwned,
            Some(ErrorCode::InvalidRecipient) => Text::ErrorInvalidRecipient,
            Some(ErrorCode::ClaimLinkGone) => Text::ErrorClaimLinkGone,
            Some(ErrorCode::ProfilePrivate) => Text::ErrorProfilePrivate,
            Some(ErrorCode::ProfilePublic) => Text::ErrorProfilePublic,
            Some(ErrorCode::RequestExists) => Text::ErrorRequestExists,
            Some(ErrorCode::RequestClosed) => Text::ErrorRequestClosed,
            Some(ErrorCode::RequestCoolingOff) => Text::ErrorRequestCoolingOff,
            Some(ErrorCode::NotRequestParty) => Text::ErrorNotRequestParty,
            Some(ErrorCode::CannotClaimOwnLink) => Text::OwnClaimLink,
            Some(ErrorCode::OwnProfile) => Text::ErrorOwnProfile,
            Some(ErrorCode::QrLoginAlreadyApproved) => Text::ErrorQrGone,
            Some(
                ErrorCode::InvalidToken
                | ErrorCode::InvalidRefreshToken
                | ErrorCode::RefreshTokenReused
                | ErrorCode::InvalidTicket,
            ) => Text::ErrorSessionEnded,
            Some(
                ErrorCode::InitDataMalformed
                | ErrorCode::InitDataInvalid
                | ErrorCode::InitDataExpired,
            ) => Text::ErrorMaxSignIn,
            Some(ErrorCode::Unauthorized) => Text::ErrorSignInRequired,
            Some(ErrorCode::Forbidden | ErrorCode::ForbiddenOrigin | ErrorCode::NotOfferParty) => {
                Text::ErrorNotAllowed
            }
            Some(ErrorCode::NotFound) => Text::ErrorNotFound,
            Some(ErrorCode::Conflict | ErrorCode::IdempotencyKeyInUse) => Text::ErrorConflict,
            Some(ErrorCode::ServiceUnavailable) => Text::ErrorBusy,
            Some(
                ErrorCode::BadRequest
                | ErrorCode::InvalidText
                | ErrorCode::UnprocessableEntity
                | ErrorCode::IdempotencyKeyReused,
            ) => Text::ErrorInvalidInput,
            // The server failed, or the app asked wrongly: nothing the person can act on.
            Some(ErrorCode::Internal | ErrorCode::MethodNotAllowed | ErrorCode::InvalidMessage)
            | None => Text::ErrorGeneric,
        },
    }
}

#[cfg(test)]
mod tests {
    use gallery_types::{ErrorBody, Language};

    use super::*;

    fn failed(status: u16, code: Option<ErrorCode>) -> ApiFailure {
        ApiFailure::Status {
            status,
            body: code.map(|code| ErrorBody {
                code,
                message: "from the server".into(),
            }),
        }
    }

    #[test]
    fn codes_the_person_can_act_on_get_their_own_words() {
        let cases = [
            (ErrorCode::InvalidCredentials, Text::ErrorInvalidCredentials),
            (ErrorCode::RateLimited, Text::ErrorRateLimited),
            (ErrorCode::HandleTaken, Text::ErrorHandleTaken),
            (ErrorCode::FileTooLarge, Text::ErrorFileTooLarge),
            (ErrorCode::PayloadTooLarge, Text::ErrorFileTooLarge),
            (ErrorCode::UnsupportedImage, Text::ErrorUnsupportedImage),
            (ErrorCode::DuplicatePhoto, Text::ErrorDuplicatePhoto),
            (ErrorCode::RefreshTokenReused, Text::ErrorSessionEnded),
        ];
        for (code, text) in cases {
            assert_eq!(failure_text(&failed(400, Some(code))), text, "{code:?}");
        }
    }

    #[test]
    fn failures_without_a_known_code_say_something_general() {
        assert_eq!(failure_text(&ApiFailure::Network), Text::ErrorNetwork);
        assert_eq!(failure_text(&ApiFailure::Decode), Text::ErrorGeneric);
        assert_eq!(failure_text(&failed(502, None)), Text::ErrorGeneric);
        assert_eq!(
            failure_text(&failed(500, Some(ErrorCode::Internal))),
            Text::ErrorGeneric
        );
    }

    #[test]
    fn every_error_code_has_words_of_its_own_in_both_languages() {
        let mut texts = vec![Text::ErrorNetwork, Text::ErrorGeneric];
        for &code in ErrorCode::ALL {
            let text = failure_text(&failed(code.status(), Some(code)));
            // Only the server's own failures say something general.
            if !matches!(
                code,
                ErrorCode::Internal | ErrorCode::MethodNotAllowed | ErrorCode::InvalidMessage
            ) {
                assert_ne!(text, Text::ErrorGeneric, "{code:?}");
            }
            texts.push(text);
        }
        for text in texts {
            let (ru, en) = (text.in_lang(Language::Ru), text.in_lang(Language::En));
            assert!(!ru.is_empty() && !en.is_empty() && ru != en, "{text:?}");
        }
    }
}

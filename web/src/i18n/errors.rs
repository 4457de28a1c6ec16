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
            Some(ErrorCode::InvalidProfile) => Text::ErrorInvalidProfile,
            Some(ErrorCode::WeakPassword) => Text::ErrorWeakPassword,
            Some(ErrorCode::WrongPassword) => Text::ErrorWrongPassword,
            Some(ErrorCode::QrLoginGone) => Text::ErrorQrGone,
            Some(ErrorCode::FileTooLarge | ErrorCode::PayloadTooLarge) => Text::ErrorFileTooLarge,
            Some(ErrorCode::UnsupportedImage | ErrorCode::UnsupportedMediaType) => {
                Text::ErrorUnsupportedImage
            }
            Some(ErrorCode::InvalidImage) => Text::ErrorInvalidImage,
            Some(ErrorCode::InvalidPhoto) => Text::ErrorInvalidPhoto,
            Some(ErrorCode::DuplicatePhoto) => Text::ErrorDuplicatePhoto,
            Some(ErrorCode::NotOwner) => Text::ErrorNotOwner,
            Some(
                ErrorCode::InvalidToken
                | ErrorCode::InvalidRefreshToken
                | ErrorCode::RefreshTokenReused,
            ) => Text::ErrorSessionEnded,
            _ => Text::ErrorGeneric,
        },
    }
}

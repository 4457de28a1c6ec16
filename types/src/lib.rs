//! The wire contract of Max Photo Gallery.
//!
//! Every JSON body the server sends or accepts is defined here once and compiled into both the
//! server (with the `openapi` feature, which also derives the OpenAPI schemas) and the web
//! client (WebAssembly, serde only).

mod auth;
mod error;
mod ownership;
mod photos;
mod profiles;
mod realtime;
mod status;
mod text;
mod timestamp;
mod users;

pub use auth::{
    AuthOptions, ChangePasswordRequest, DevSignInRequest, LogoutRequest, MaxSignInRequest,
    PasswordSignInRequest, QrApproveRequest, QrLoginCreated, QrLoginPending, QrLoginRequestInfo,
    RefreshRequest, RemovePasswordRequest, SessionInfo, SignInMethod, SignedOutEverywhere,
    TokenResponse,
};
pub use error::{ErrorBody, ErrorCode};
pub use ownership::{
    ClaimLink, ClaimLinkState, ClaimPreview, CreateClaimLinkRequest, CreateOfferRequest,
    GiftRequest, HistoryEntry, HistoryKind, HistoryParty, HistoryVerification, ObjectHistory,
    OfferBox, OfferItem, OfferPage, OfferState, TradeOffer, Transfer,
};
pub use photos::{
    DuplicatePhoto, Photo, PhotoPage, PhotoSort, PhotoUrls, SearchResults, UpdatePhotoRequest,
    UserSummary,
};
pub use profiles::{
    CollectionTab, CreateProfileRequest, Profile, ProfileAccess, ProfileCounts, ProfileRequest,
    ProfileRequestBox, ProfileRequestPage, ProfileRequestState,
};
pub use realtime::{
    ClaimCompleted, ClientMessage, Event, EventPage, FavoriteCount, GiftReceived,
    ObjectTransferred, OfferChanged, PhotoCreated, PhotoDeleted, PhotoHidden, PhotoUpdated,
    ProfileRequestChanged, ProfileVisibility, SequencedEvent, ServerMessage, SessionsRevoked,
    WsTicket, close_code,
};
pub use status::{DatabaseState, ServiceStatus};
pub use text::{
    Bio, DisplayName, Handle, Message, NewPassword, PhotoDescription, PhotoTitle, Tag, Tags,
    TagsField, Text,
};
pub use users::{Language, Me, UpdateMeRequest};

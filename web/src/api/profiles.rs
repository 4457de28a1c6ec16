//! Profile calls: anybody's profile and collection, and profile requests.

use gallery_types::{
    CreateProfileRequest, Profile, ProfileRequest, ProfileRequestBox, ProfileRequestPage,
    ProfileRequestState,
};
use gloo_net::http::Request;

use super::{Api, ApiFailure, receive, send};

impl Api {
    /// `GET /api/users/{user}`: `user` is an id or a handle.
    pub async fn profile(&self, user: &str) -> Result<Profile, ApiFailure> {
        receive(self.authorized(Request::get(&format!("/api/users/{user}")))).await
    }

    /// `POST /api/profile-requests`.
    pub async fn ask_to_see(
        &self,
        request: &CreateProfileRequest,
    ) -> Result<ProfileRequest, ApiFailure> {
        send(
            self.authorized(Request::post("/api/profile-requests")),
            request,
        )
        .await
    }

    /// `GET /api/profile-requests?box=…[&state=…]`, newest first.
    pub async fn profile_requests(
        &self,
        box_: ProfileRequestBox,
        state: Option<ProfileRequestState>,
    ) -> Result<ProfileRequestPage, ApiFailure> {
        let box_ = match box_ {
            ProfileRequestBox::Incoming => "incoming",
            ProfileRequestBox::Outgoing => "outgoing",
        };
        let mut request = Request::get("/api/profile-requests").query([("box", box_)]);
        if let Some(state) = state {
            request = request.query([("state", state.as_str())]);
        }
        receive(self.authorized(request)).await
    }

    /// `POST /api/profile-requests/{id}/{action}`.
    pub async fn act_on_profile_request(
        &self,
        id: i64,
        action: RequestAction,
    ) -> Result<ProfileRequest, ApiFailure> {
        let url = format!("/api/profile-requests/{id}/{}", action.path());
        receive(self.authorized(Request::post(&url))).await
    }
}

/// What a side does to a profile request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    Approve,
    Reject,
    Withdraw,
    Revoke,
}

impl RequestAction {
    fn path(self) -> &'static str {
        match self {
            RequestAction::Approve => "approve",
            RequestAction::Reject => "reject",
            RequestAction::Withdraw => "withdraw",
            RequestAction::Revoke => "revoke",
        }
    }
}

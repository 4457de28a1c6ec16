//! Ownership calls: gifts, claim links, trade offers, an object and its history.
//!
//! The calls that change hands carry a fresh `Idempotency-Key`: should the browser send one
//! again (a retried request after a dropped connection), the server answers it once.

use gallery_types::{
    ClaimLink, ClaimPreview, CreateClaimLinkRequest, CreateOfferRequest, GiftRequest,
    HistoryVerification, ObjectHistory, OfferBox, OfferPage, Photo, TradeOffer, Transfer,
};
use gloo_net::http::{Request, RequestBuilder};

use super::{Api, ApiFailure, expect_nothing, receive, send};

/// A key that no earlier request of this browser used.
fn idempotency_key() -> String {
    let random = || (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!(
        "{:x}-{:08x}{:08x}{:08x}",
        js_sys::Date::now() as u64,
        random(),
        random(),
        random()
    )
}

fn once(request: RequestBuilder) -> RequestBuilder {
    request.header("Idempotency-Key", &idempotency_key())
}

impl Api {
    /// `GET /api/objects/{id}`.
    pub async fn object(&self, id: i64) -> Result<Photo, ApiFailure> {
        receive(self.authorized(Request::get(&format!("/api/objects/{id}")))).await
    }

    /// `GET /api/objects/{id}/history`.
    pub async fn history(&self, id: i64) -> Result<ObjectHistory, ApiFailure> {
        receive(self.authorized(Request::get(&format!("/api/objects/{id}/history")))).await
    }

    /// `GET /api/objects/{id}/history/verify`.
    pub async fn verify_history(&self, id: i64) -> Result<HistoryVerification, ApiFailure> {
        let url = format!("/api/objects/{id}/history/verify");
        receive(self.authorized(Request::get(&url))).await
    }

    /// `POST /api/transfers`.
    pub async fn give(&self, gift: &GiftRequest) -> Result<Transfer, ApiFailure> {
        send(once(self.authorized(Request::post("/api/transfers"))), gift).await
    }

    /// `POST /api/claim-links`.
    pub async fn create_claim_link(
        &self,
        request: &CreateClaimLinkRequest,
    ) -> Result<ClaimLink, ApiFailure> {
        send(self.authorized(Request::post("/api/claim-links")), request).await
    }

    /// `DELETE /api/claim-links/{id}`.
    pub async fn revoke_claim_link(&self, id: i64) -> Result<(), ApiFailure> {
        expect_nothing(self.authorized(Request::delete(&format!("/api/claim-links/{id}")))).await
    }

    /// `GET /api/claims/{token}`.
    pub async fn preview_claim(&self, token: &str) -> Result<ClaimPreview, ApiFailure> {
        receive(self.authorized(Request::get(&format!("/api/claims/{token}")))).await
    }

    /// `POST /api/claims/{token}`.
    pub async fn claim(&self, token: &str) -> Result<Transfer, ApiFailure> {
        let request = once(self.authorized(Request::post(&format!("/api/claims/{token}"))));
        receive(request).await
    }

    /// `GET /api/offers?box=…`, newest first, before offer `before`.
    pub async fn offers(
        &self,
        box_: OfferBox,
        before: Option<i64>,
    ) -> Result<OfferPage, ApiFailure> {
        let box_ = match box_ {
            OfferBox::Incoming => "incoming",
            OfferBox::Outgoing => "outgoing",
            OfferBox::History => "history",
        };
        let mut request = Request::get("/api/offers").query([("box", box_)]);
        if let Some(before) = before {
            request = request.query([("before", before.to_string())]);
        }
        receive(self.authorized(request)).await
    }

    /// `POST /api/offers`.
    pub async fn make_offer(&self, offer: &CreateOfferRequest) -> Result<TradeOffer, ApiFailure> {
        send(once(self.authorized(Request::post("/api/offers"))), offer).await
    }

    /// `POST /api/offers/{id}/counter`.
    pub async fn counter_offer(
        &self,
        id: i64,
        offer: &CreateOfferRequest,
    ) -> Result<TradeOffer, ApiFailure> {
        let url = format!("/api/offers/{id}/counter");
        send(self.authorized(Request::post(&url)), offer).await
    }

    /// `POST /api/offers/{id}/{action}`: `accept`, `decline` or `cancel`.
    pub async fn act_on_offer(
        &self,
        id: i64,
        action: OfferAction,
    ) -> Result<TradeOffer, ApiFailure> {
        let url = format!("/api/offers/{id}/{}", action.path());
        let request = self.authorized(Request::post(&url));
        let request = match action {
            OfferAction::Accept => once(request),
            OfferAction::Decline | OfferAction::Cancel => request,
        };
        receive(request).await
    }
}

/// What a party does to a pending offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferAction {
    Accept,
    Decline,
    Cancel,
}

impl OfferAction {
    fn path(self) -> &'static str {
        match self {
            OfferAction::Accept => "accept",
            OfferAction::Decline => "decline",
            OfferAction::Cancel => "cancel",
        }
    }
}

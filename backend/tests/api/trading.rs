//! Objects changing hands: gifts, claim links, trade offers, the history and its verification.

use std::time::Duration;

use image::DynamicImage;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{SignedIn, TestApp, database_url, spawn_app},
    images::{png, two_tone},
    photos::upload,
};

/// An answer: its status and its JSON body (null when it has none).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The body, after checking the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }

    /// Checks an error answer's status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
    }
}

/// Sends `body` (if any) as `user` (anonymous without one).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    user: Option<&SignedIn>,
    body: Option<Value>,
) -> Answer {
    let mut request = app.client.request(method, app.url(path));
    if let Some(user) = user {
        request = request.bearer_auth(&user.access_token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request failed");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, body }
}

/// Uploads a small photo of `user`'s (distinct for each `seed`); returns it.
pub async fn mint(app: &TestApp, user: &SignedIn, seed: u32) -> Value {
    let bytes = png(&DynamicImage::ImageRgb8(two_tone(24, 16, seed)));
    upload(app, user, bytes, &format!("Object {seed}")).await
}

/// The id of `photo`'s art object.
pub fn object_of(photo: &Value) -> i64 {
    photo["object_id"].as_i64().unwrap()
}

/// The owner's id of object `object_id`, as its owner (or anyone, for a public one) sees it.
pub async fn owner_of(app: &TestApp, object_id: i64, viewer: &SignedIn) -> i64 {
    call(
        app,
        Method::GET,
        &format!("/api/objects/{object_id}"),
        Some(viewer),
        None,
    )
    .await
    .expect(200)["owner"]["id"]
        .as_i64()
        .unwrap()
}

pub async fn gift(app: &TestApp, from: &SignedIn, object_id: i64, to: &SignedIn) -> Answer {
    let body = json!({ "object_id": object_id, "to_user_id": to.user_id(), "message": "for you" });
    call(app, Method::POST, "/api/transfers", Some(from), Some(body)).await
}

pub async fn offer(
    app: &TestApp,
    from: &SignedIn,
    to: &SignedIn,
    give: &[i64],
    ask: &[i64],
) -> Answer {
    let body = json!({ "recipient_id": to.user_id(), "give": give, "ask": ask });
    call(app, Method::POST, "/api/offers", Some(from), Some(body)).await
}

/// The events `user` may see after `after`.
pub async fn events(app: &TestApp, user: Option<&SignedIn>, after: i64) -> Vec<Value> {
    let page = call(
        app,
        Method::GET,
        &format!("/api/events?after={after}"),
        user,
        None,
    )
    .await
    .expect(200);
    page["events"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["event"]["kind"].as_str().unwrap())
        .collect()
}

async fn history(app: &TestApp, object_id: i64, viewer: Option<&SignedIn>) -> Value {
    call(
        app,
        Method::GET,
        &format!("/api/objects/{object_id}/history"),
        viewer,
        None,
    )
    .await
    .expect(200)
}

async fn verified(app: &TestApp, object_id: i64, viewer: Option<&SignedIn>) -> Value {
    let path = format!("/api/objects/{object_id}/history/verify");
    call(app, Method::GET, &path, viewer, None)
        .await
        .expect(200)
}

#[tokio::test]
async fn a_gift_hands_the_object_over_and_tells_the_recipient() {
    let app = spawn_app().await;
    let anna = app.sign_in(8001, "Anna", Some("anna_8001")).await;
    let boris = app.sign_in(8002, "Boris", Some("boris_8002")).await;
    let photo = mint(&app, &anna, 1).await;
    let object = object_of(&photo);

    let transfer = gift(&app, &anna, object, &boris).await.expect(200);
    assert_eq!(transfer["kind"], "gift");
    assert_eq!(transfer["from"]["id"], anna.user_id());
    assert_eq!(transfer["to"]["id"], boris.user_id());
    assert_eq!(transfer["message"], "for you");
    assert_eq!(owner_of(&app, object, &boris).await, boris.user_id());

    let history = history(&app, object, None).await;
    let steps: Vec<(&str, Value, Value)> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["kind"].as_str().unwrap(),
                entry["from"]["user"]["id"].clone(),
                entry["to"]["user"]["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("mint", Value::Null, json!(anna.user_id())),
            ("gift", json!(anna.user_id()), json!(boris.user_id())),
        ]
    );
    let check = verified(&app, object, None).await;
    assert_eq!(
        (check["valid"].as_bool(), check["entries"].as_i64()),
        (Some(true), Some(2))
    );

    assert!(kinds(&events(&app, Some(&boris), 0).await).contains(&"gift_received"));
    let public = events(&app, None, 0).await;
    assert!(
        kinds(&public).contains(&"object_transferred"),
        "{public:#?}"
    );
    assert!(!kinds(&events(&app, None, 0).await).contains(&"gift_received"));

    // Not Anna's any more; nobody gives to themselves; nobody gives to nobody.
    gift(&app, &anna, object, &boris)
        .await
        .expect_error(403, "not_owner");
    gift(&app, &boris, object, &boris)
        .await
        .expect_error(422, "invalid_recipient");
    let nobody = json!({ "object_id": object, "to_user_id": 999_999 });
    call(
        &app,
        Method::POST,
        "/api/transfers",
        Some(&boris),
        Some(nobody),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_private_collection_is_not_reachable_through_ownership() {
    let app = spawn_app().await;
    let vera = app.sign_in(8011, "Vera", Some("vera_8011")).await;
    let stranger = app.sign_in(8012, "Stas", Some("stas_8012")).await;
    let object = object_of(&mint(&app, &vera, 2).await);
    let public_one = object_of(&mint(&app, &stranger, 3).await);
    gift(&app, &stranger, public_one, &vera).await.expect(200);
    call(
        &app,
        Method::PATCH,
        "/api/me",
        Some(&vera),
        Some(json!({ "is_private": true })),
    )
    .await
    .expect(200);

    for path in [
        format!("/api/objects/{object}"),
        format!("/api/objects/{object}/history"),
        format!("/api/objects/{object}/history/verify"),
    ] {
        call(&app, Method::GET, &path, Some(&stranger), None)
            .await
            .expect_error(404, "not_found");
        call(&app, Method::GET, &path, None, None)
            .await
            .expect_error(404, "not_found");
        call(&app, Method::GET, &path, Some(&vera), None)
            .await
            .expect(200);
    }
    // Somebody else's private object is "not found", not "not yours".
    let to_vera = json!({ "object_id": object, "to_user_id": vera.user_id() });
    call(
        &app,
        Method::POST,
        "/api/transfers",
        Some(&stranger),
        Some(to_vera),
    )
    .await
    .expect_error(404, "not_found");
    let link = json!({ "object_id": object });
    call(
        &app,
        Method::POST,
        "/api/claim-links",
        Some(&stranger),
        Some(link),
    )
    .await
    .expect_error(404, "not_found");

    // Vera's own history names her; in a public object's history she is a private collector.
    let gifted_to_her = history(&app, public_one, Some(&vera)).await;
    assert_eq!(
        gifted_to_her["entries"][1]["to"]["user"]["id"],
        vera.user_id()
    );
    call(
        &app,
        Method::PATCH,
        "/api/me",
        Some(&vera),
        Some(json!({ "is_private": false })),
    )
    .await
    .expect(200);
    gift(&app, &vera, public_one, &stranger).await.expect(200);
    call(
        &app,
        Method::PATCH,
        "/api/me",
        Some(&vera),
        Some(json!({ "is_private": true })),
    )
    .await
    .expect(200);
    let seen_by_stranger = history(&app, public_one, Some(&stranger)).await;
    let entries = seen_by_stranger["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries[1]["to"],
        json!({ "user": null }),
        "a private collector"
    );
    assert_eq!(entries[2]["from"], json!({ "user": null }));
    assert_eq!(entries[2]["to"]["user"]["id"], stranger.user_id());

    // Nor do the events name her when she gives an object away; both sides still hear of it.
    let transferred = |events: Vec<Value>| {
        events
            .into_iter()
            .rev()
            .map(|event| event["event"].clone())
            .find(|event| event["kind"] == "object_transferred" && event["object_id"] == object)
    };
    gift(&app, &vera, object, &stranger).await.expect(200);
    for viewer in [None, Some(&stranger), Some(&vera)] {
        let event = transferred(events(&app, viewer, 0).await).expect("everybody hears of it");
        assert_eq!(event["previous_owner_id"], Value::Null, "{event}");
        assert_eq!(event["owner"]["id"], stranger.user_id());
    }
    // Into her private collection: she hears of it from a giver who is named, nobody else.
    gift(&app, &stranger, object, &vera).await.expect(200);
    let event = transferred(events(&app, Some(&vera), 0).await).unwrap();
    assert_eq!(
        (&event["previous_owner_id"], &event["owner"]["id"]),
        (&json!(stranger.user_id()), &json!(vera.user_id()))
    );
    let told_stranger = transferred(events(&app, Some(&stranger), 0).await).unwrap();
    assert_eq!(
        told_stranger["owner"]["id"],
        vera.user_id(),
        "the giver hears of it although the object is now hidden from them"
    );
    assert_eq!(
        transferred(events(&app, None, 0).await),
        None,
        "nothing of an object in a private collection is replayed to others"
    );
    // Those who saw the photo in a public collection are told to stop showing it, and no more.
    let hidden = json!({ "kind": "photo_hidden", "photo_id": event["photo_id"] });
    let last_seen_anonymously = events(&app, None, 0).await.pop().unwrap();
    assert_eq!(last_seen_anonymously["event"], hidden);
    let seen_by_stranger: Vec<Value> = events(&app, Some(&stranger), 0)
        .await
        .into_iter()
        .map(|event| event["event"].clone())
        .collect();
    assert!(
        seen_by_stranger.ends_with(&[hidden, told_stranger]),
        "{seen_by_stranger:?}"
    );
}

#[tokio::test]
async fn a_claim_link_hands_the_object_to_the_first_who_claims_it() {
    let app = spawn_app().await;
    let anna = app.sign_in(8021, "Anna", Some("anna_8021")).await;
    let boris = app.sign_in(8022, "Boris", Some("boris_8022")).await;
    let clara = app.sign_in(8023, "Clara", Some("clara_8023")).await;
    let object = object_of(&mint(&app, &anna, 4).await);

    let body = json!({ "object_id": object, "expires_in_minutes": 60 });
    let link = call(
        &app,
        Method::POST,
        "/api/claim-links",
        Some(&anna),
        Some(body),
    )
    .await
    .expect(201);
    let token = link["token"].as_str().unwrap();
    assert_eq!(link["state"], "active");
    assert_eq!(link["path"], format!("/claim/{token}"));
    assert_eq!(
        link["deep_link"],
        format!("https://max.ru/test_gallery_bot?startapp=claim_{token}")
    );
    let claim_path = format!("/api/claims/{token}");

    // Anyone with the token sees what it gives; its owner cannot claim it.
    let preview = call(&app, Method::GET, &claim_path, None, None)
        .await
        .expect(200);
    assert_eq!(preview["photo"]["object_id"], object);
    call(&app, Method::POST, &claim_path, Some(&anna), None)
        .await
        .expect_error(403, "cannot_claim_own_link");

    let transfer = call(&app, Method::POST, &claim_path, Some(&boris), None)
        .await
        .expect(200);
    assert_eq!(transfer["kind"], "claim");
    assert_eq!(transfer["to"]["id"], boris.user_id());
    assert_eq!(owner_of(&app, object, &boris).await, boris.user_id());
    call(&app, Method::POST, &claim_path, Some(&clara), None)
        .await
        .expect_error(410, "claim_link_gone");
    call(&app, Method::GET, &claim_path, None, None)
        .await
        .expect_error(410, "claim_link_gone");
    assert!(kinds(&events(&app, Some(&anna), 0).await).contains(&"claim_completed"));

    let mine = call(&app, Method::GET, "/api/claim-links", Some(&anna), None)
        .await
        .expect(200);
    assert_eq!(mine[0]["state"], "claimed");
    assert_eq!(mine[0]["claimed_by"]["id"], boris.user_id());
    let revoke = format!("/api/claim-links/{}", link["id"]);
    call(&app, Method::DELETE, &revoke, Some(&anna), None)
        .await
        .expect_error(410, "claim_link_gone");
    call(&app, Method::DELETE, &revoke, Some(&boris), None)
        .await
        .expect_error(404, "not_found");

    // Revoked, expired, or void because the object changed hands another way: gone.
    let revoked = make_link(&app, &boris, object).await;
    call(
        &app,
        Method::DELETE,
        &format!("/api/claim-links/{}", revoked["id"]),
        Some(&boris),
        None,
    )
    .await
    .expect(204);
    let expired = make_link(&app, &boris, object).await;
    admin_on(
        &app,
        &format!(
            "update claim_links set expires_at = now() - interval '1 second' where id = {}",
            expired["id"]
        ),
    )
    .await;
    let voided = make_link(&app, &boris, object).await;
    gift(&app, &boris, object, &anna).await.expect(200);
    for (link, state) in [
        (revoked, "revoked"),
        (expired, "expired"),
        (voided, "revoked"),
    ] {
        let path = format!("/api/claims/{}", link["token"].as_str().unwrap());
        call(&app, Method::POST, &path, Some(&clara), None)
            .await
            .expect_error(410, "claim_link_gone");
        let listed = call(&app, Method::GET, "/api/claim-links", Some(&boris), None)
            .await
            .expect(200);
        let listed = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|listed| listed["id"] == link["id"])
            .unwrap()
            .clone();
        assert_eq!(listed["state"], state, "{listed}");
    }
    assert_eq!(owner_of(&app, object, &anna).await, anna.user_id());
    assert_eq!(verified(&app, object, None).await["valid"], true);
}

async fn make_link(app: &TestApp, owner: &SignedIn, object_id: i64) -> Value {
    let body = json!({ "object_id": object_id });
    call(
        app,
        Method::POST,
        "/api/claim-links",
        Some(owner),
        Some(body),
    )
    .await
    .expect(201)
}

/// Runs `sql` in the app's own database, as a superuser.
pub async fn admin_on(app: &TestApp, sql: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(database_url(&app.database).as_str())
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut connection)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

#[tokio::test]
async fn an_accepted_offer_swaps_both_sides() {
    let app = spawn_app().await;
    let anna = app.sign_in(8031, "Anna", Some("anna_8031")).await;
    let boris = app.sign_in(8032, "Boris", Some("boris_8032")).await;
    let a1 = object_of(&mint(&app, &anna, 10).await);
    let a2 = object_of(&mint(&app, &anna, 11).await);
    let b1 = object_of(&mint(&app, &boris, 12).await);

    let made = offer(&app, &anna, &boris, &[a1, a2], &[b1])
        .await
        .expect(201);
    assert_eq!(made["state"], "pending");
    assert_eq!(made["give"].as_array().unwrap().len(), 2);
    assert_eq!(made["ask"][0]["object_id"], b1);
    let id = made["id"].as_i64().unwrap();
    let incoming = call(
        &app,
        Method::GET,
        "/api/offers?box=incoming",
        Some(&boris),
        None,
    )
    .await
    .expect(200);
    assert_eq!(incoming["items"][0]["id"], id);
    let outgoing = call(
        &app,
        Method::GET,
        "/api/offers?box=outgoing",
        Some(&anna),
        None,
    )
    .await
    .expect(200);
    assert_eq!(outgoing["items"][0]["id"], id);

    // Only the recipient accepts.
    let accept = format!("/api/offers/{id}/accept");
    call(&app, Method::POST, &accept, Some(&anna), None)
        .await
        .expect_error(403, "not_offer_party");
    let accepted = call(&app, Method::POST, &accept, Some(&boris), None)
        .await
        .expect(200);
    assert_eq!(accepted["state"], "accepted");
    assert!(accepted["closed_at"].is_string());
    for (object, owner) in [(a1, &boris), (a2, &boris), (b1, &anna)] {
        assert_eq!(owner_of(&app, object, owner).await, owner.user_id());
        let history = history(&app, object, None).await;
        assert_eq!(history["entries"][1]["kind"], "trade");
        assert_eq!(verified(&app, object, None).await["valid"], true);
    }
    call(&app, Method::POST, &accept, Some(&boris), None)
        .await
        .expect_error(409, "offer_closed");
    let closed = call(
        &app,
        Method::GET,
        "/api/offers?box=history",
        Some(&anna),
        None,
    )
    .await
    .expect(200);
    assert_eq!(closed["items"][0]["state"], "accepted");
    let told = kinds(&events(&app, Some(&anna), 0).await)
        .iter()
        .filter(|kind| **kind == "offer_changed")
        .count();
    assert_eq!(told, 2, "made and accepted");
    // The accept's events, in the order it gathered them: each object as it changed hands
    // (in id order), then the offer.
    let seen = events(&app, Some(&anna), 0).await;
    let accept_events: Vec<(&str, Value)> = seen[seen.len() - 4..]
        .iter()
        .map(|event| {
            let event = &event["event"];
            (event["kind"].as_str().unwrap(), event["object_id"].clone())
        })
        .collect();
    assert_eq!(
        accept_events,
        [
            ("object_transferred", json!(a1)),
            ("object_transferred", json!(a2)),
            ("object_transferred", json!(b1)),
            ("offer_changed", Value::Null),
        ]
    );
}

#[tokio::test]
async fn offers_are_declined_cancelled_countered_and_expire() {
    let app = spawn_app().await;
    let anna = app.sign_in(8041, "Anna", Some("anna_8041")).await;
    let boris = app.sign_in(8042, "Boris", Some("boris_8042")).await;
    let clara = app.sign_in(8043, "Clara", Some("clara_8043")).await;
    let a1 = object_of(&mint(&app, &anna, 20).await);
    let b1 = object_of(&mint(&app, &boris, 21).await);

    // What an offer may not be.
    offer(&app, &anna, &boris, &[], &[])
        .await
        .expect_error(422, "invalid_offer");
    offer(&app, &anna, &anna, &[a1], &[])
        .await
        .expect_error(422, "invalid_recipient");
    offer(&app, &anna, &boris, &[a1], &[a1])
        .await
        .expect_error(422, "invalid_offer");
    offer(&app, &anna, &boris, &[b1], &[])
        .await
        .expect_error(409, "object_not_owned");
    offer(&app, &anna, &boris, &[], &[a1])
        .await
        .expect_error(409, "object_not_owned");
    offer(&app, &anna, &boris, &[999_999], &[])
        .await
        .expect_error(404, "not_found");

    let declined = offer(&app, &anna, &boris, &[a1], &[b1]).await.expect(201);
    let path = |offer: &Value, action: &str| format!("/api/offers/{}/{action}", offer["id"]);
    call(
        &app,
        Method::POST,
        &path(&declined, "decline"),
        Some(&anna),
        None,
    )
    .await
    .expect_error(403, "not_offer_party");
    call(
        &app,
        Method::GET,
        &format!("/api/offers/{}", declined["id"]),
        Some(&clara),
        None,
    )
    .await
    .expect_error(404, "not_found");
    let answer = call(
        &app,
        Method::POST,
        &path(&declined, "decline"),
        Some(&boris),
        None,
    )
    .await;
    assert_eq!(answer.expect(200)["state"], "declined");

    let cancelled = offer(&app, &anna, &boris, &[a1], &[]).await.expect(201);
    call(
        &app,
        Method::POST,
        &path(&cancelled, "cancel"),
        Some(&boris),
        None,
    )
    .await
    .expect_error(403, "not_offer_party");
    let answer = call(
        &app,
        Method::POST,
        &path(&cancelled, "cancel"),
        Some(&anna),
        None,
    )
    .await;
    assert_eq!(answer.expect(200)["state"], "cancelled");
    call(
        &app,
        Method::POST,
        &path(&cancelled, "accept"),
        Some(&boris),
        None,
    )
    .await
    .expect_error(409, "offer_closed");

    // Boris answers Anna's offer with his own: the original closes as countered.
    let original = offer(&app, &anna, &boris, &[a1], &[b1]).await.expect(201);
    let body = json!({ "recipient_id": 1, "give": [], "ask": [a1], "message": "just yours" });
    let counter = call(
        &app,
        Method::POST,
        &path(&original, "counter"),
        Some(&boris),
        Some(body),
    )
    .await
    .expect(201);
    assert_eq!(counter["proposer"]["id"], boris.user_id());
    assert_eq!(counter["recipient"]["id"], anna.user_id());
    assert_eq!(counter["counter_of"], original["id"]);
    assert_eq!(counter["message"], "just yours");
    let original = call(
        &app,
        Method::GET,
        &format!("/api/offers/{}", original["id"]),
        Some(&anna),
        None,
    )
    .await
    .expect(200);
    assert_eq!(original["state"], "countered");
    assert_eq!(original["countered_by"], counter["id"]);

    // An offer past its expiry reads as expired at once, cannot be accepted, and the expiry
    // task tells both sides.
    admin_on(
        &app,
        &format!(
            "update trade_offers set expires_at = now() - interval '1 second' where id = {}",
            counter["id"]
        ),
    )
    .await;
    let read = call(
        &app,
        Method::GET,
        &format!("/api/offers/{}", counter["id"]),
        Some(&anna),
        None,
    )
    .await
    .expect(200);
    assert_eq!(read["state"], "expired");
    call(
        &app,
        Method::POST,
        &path(&counter, "accept"),
        Some(&anna),
        None,
    )
    .await
    .expect_error(409, "offer_closed");
    let told = crate::helpers::wait_until(Duration::from_secs(30), || async {
        events(&app, Some(&anna), 0).await.iter().any(|event| {
            event["event"]["kind"] == "offer_changed"
                && event["event"]["offer"]["id"] == counter["id"]
                && event["event"]["offer"]["state"] == "expired"
        })
    })
    .await;
    assert!(told.is_some(), "the expiry is announced");
}

async fn offer_state(app: &TestApp, offer: &Value, viewer: &SignedIn) -> Value {
    let path = format!("/api/offers/{}", offer["id"]);
    call(app, Method::GET, &path, Some(viewer), None)
        .await
        .expect(200)["state"]
        .clone()
}

#[tokio::test]
async fn every_change_of_hands_invalidates_the_other_open_offers() {
    let app = spawn_app().await;
    let anna = app.sign_in(8051, "Anna", Some("anna_8051")).await;
    let boris = app.sign_in(8052, "Boris", Some("boris_8052")).await;
    let clara = app.sign_in(8053, "Clara", Some("clara_8053")).await;
    let b1 = object_of(&mint(&app, &boris, 30).await);
    let b2 = object_of(&mint(&app, &boris, 31).await);
    let b3 = object_of(&mint(&app, &boris, 32).await);
    let c1 = object_of(&mint(&app, &clara, 33).await);

    // A trade: the other offers asking for b1 are invalidated.
    let from_anna = offer(&app, &anna, &boris, &[], &[b1]).await.expect(201);
    let from_clara = offer(&app, &clara, &boris, &[c1], &[b1, b2])
        .await
        .expect(201);
    call(
        &app,
        Method::POST,
        &format!("/api/offers/{}/accept", from_anna["id"]),
        Some(&boris),
        None,
    )
    .await
    .expect(200);
    assert_eq!(offer_state(&app, &from_clara, &clara).await, "invalidated");
    call(
        &app,
        Method::POST,
        &format!("/api/offers/{}/accept", from_clara["id"]),
        Some(&boris),
        None,
    )
    .await
    .expect_error(409, "offer_closed");
    assert!(
        events(&app, Some(&clara), 0).await.iter().any(|event| {
            event["event"]["offer"]["id"] == from_clara["id"]
                && event["event"]["offer"]["state"] == "invalidated"
        }),
        "Clara is told"
    );

    // A gift, a claim and a deletion do the same.
    let asks_b2 = offer(&app, &clara, &boris, &[], &[b2]).await.expect(201);
    gift(&app, &boris, b2, &anna).await.expect(200);
    assert_eq!(offer_state(&app, &asks_b2, &clara).await, "invalidated");

    let asks_b3 = offer(&app, &clara, &boris, &[], &[b3]).await.expect(201);
    let link = call(
        &app,
        Method::POST,
        "/api/claim-links",
        Some(&boris),
        Some(json!({ "object_id": b3 })),
    )
    .await
    .expect(201);
    call(
        &app,
        Method::POST,
        &format!("/api/claims/{}", link["token"].as_str().unwrap()),
        Some(&anna),
        None,
    )
    .await
    .expect(200);
    assert_eq!(offer_state(&app, &asks_b3, &clara).await, "invalidated");

    let gives_c1 = offer(&app, &clara, &anna, &[c1], &[]).await.expect(201);
    let photo_of_c1 = call(
        &app,
        Method::GET,
        &format!("/api/objects/{c1}"),
        Some(&clara),
        None,
    )
    .await
    .expect(200);
    call(
        &app,
        Method::DELETE,
        &format!("/api/photos/{}", photo_of_c1["id"]),
        Some(&clara),
        None,
    )
    .await
    .expect(204);
    assert_eq!(offer_state(&app, &gives_c1, &anna).await, "invalidated");
}

#[tokio::test]
async fn one_idempotency_key_sent_twenty_times_at_once_has_one_effect() {
    let app = spawn_app().await;
    let anna = app.sign_in(8061, "Anna", Some("anna_8061")).await;
    let boris = app.sign_in(8062, "Boris", Some("boris_8062")).await;
    let object = object_of(&mint(&app, &anna, 40).await);
    let body = json!({ "object_id": object, "to_user_id": boris.user_id() });
    let send = |key: &'static str, body: Value| {
        app.client
            .post(app.url("/api/transfers"))
            .bearer_auth(&anna.access_token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let answers =
        futures_util::future::join_all((0..20).map(|_| send("gift-1", body.clone()))).await;
    let mut statuses = Vec::new();
    let mut bodies = Vec::new();
    for answer in answers {
        let answer = answer.unwrap();
        statuses.push(answer.status().as_u16());
        let body: Value = answer.json().await.unwrap();
        if body.get("object_id").is_some() {
            bodies.push(body);
        } else {
            assert_eq!(body["code"], "idempotency_key_in_use", "{body}");
        }
    }
    assert!(
        statuses.iter().all(|status| [200, 409].contains(status)),
        "{statuses:?}"
    );
    assert!(!bodies.is_empty(), "{statuses:?}");
    assert!(
        bodies.iter().all(|body| *body == bodies[0]),
        "every 200 is the first answer"
    );
    let entries = history(&app, object, None).await["entries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(entries, 2, "minted, then given once");

    // A repeat later gets the same answer; the key with another request is refused.
    let repeat: Value = send("gift-1", body.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(repeat, bodies[0]);
    let other = json!({ "object_id": object, "to_user_id": anna.user_id() });
    let refused = send("gift-1", other).await.unwrap();
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["code"], "idempotency_key_reused");
    // An error is replayed too: Anna's second gift of the object is refused the same way.
    let first = send("gift-2", body.clone()).await.unwrap();
    assert_eq!(first.status(), 403);
    let again = send("gift-2", body).await.unwrap();
    assert_eq!(again.status(), 403);
}

#[tokio::test]
async fn every_mutating_post_answers_a_repeat_with_its_first_answer() {
    let app = spawn_app().await;
    let anna = app.sign_in(8063, "Anna", Some("anna_8063")).await;
    let boris = app.sign_in(8064, "Boris", Some("boris_8064")).await;
    let [a1, a2, b1] = [
        object_of(&mint(&app, &anna, 41).await),
        object_of(&mint(&app, &anna, 42).await),
        object_of(&mint(&app, &boris, 43).await),
    ];
    // Sends the same request twice with one key: both answers must be the first one's.
    let twice = |user: &SignedIn, path: String, body: Option<Value>, key: &'static str| {
        let (app, token) = (&app, user.access_token.clone());
        async move {
            let mut answers = Vec::new();
            for _ in 0..2 {
                let mut request = app
                    .client
                    .post(app.url(&path))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", key);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let answer = request.send().await.unwrap();
                answers.push((
                    answer.status().as_u16(),
                    answer.json::<Value>().await.unwrap(),
                ));
            }
            assert_eq!(
                answers[0], answers[1],
                "{path}: the repeat is the first answer"
            );
            answers.remove(0)
        }
    };

    let (status, link) = twice(
        &anna,
        "/api/claim-links".into(),
        Some(json!({ "object_id": a1 })),
        "link-1",
    )
    .await;
    assert_eq!(status, 201);
    let links = call(&app, Method::GET, "/api/claim-links", Some(&anna), None)
        .await
        .expect(200);
    assert_eq!(links.as_array().map(Vec::len), Some(1), "one link: {links}");
    assert_eq!(links[0]["id"], link["id"]);

    let first = offer(&app, &anna, &boris, &[a2], &[b1]).await.expect(201);
    let (status, countered) = twice(
        &boris,
        format!("/api/offers/{}/counter", first["id"]),
        Some(json!({ "recipient_id": anna.user_id(), "give": [], "ask": [a2] })),
        "counter-1",
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(countered["counter_of"], first["id"]);
    let (status, declined) = twice(
        &anna,
        format!("/api/offers/{}/decline", countered["id"]),
        None,
        "decline-1",
    )
    .await;
    assert_eq!((status, &declined["state"]), (200, &json!("declined")));
    let again = offer(&app, &anna, &boris, &[a2], &[]).await.expect(201);
    let (status, cancelled) = twice(
        &anna,
        format!("/api/offers/{}/cancel", again["id"]),
        None,
        "cancel-1",
    )
    .await;
    assert_eq!((status, &cancelled["state"]), (200, &json!("cancelled")));

    call(
        &app,
        Method::PATCH,
        "/api/me",
        Some(&anna),
        Some(json!({ "is_private": true })),
    )
    .await
    .expect(200);
    let (status, request) = twice(
        &boris,
        "/api/profile-requests".into(),
        Some(json!({ "owner_id": anna.user_id() })),
        "ask-1",
    )
    .await;
    assert_eq!(status, 201);
    let (status, approved) = twice(
        &anna,
        format!("/api/profile-requests/{}/approve", request["id"]),
        None,
        "approve-1",
    )
    .await;
    assert_eq!((status, &approved["state"]), (200, &json!("approved")));
    // Without the key a repeat is a second request, which finds the work done.
    call(
        &app,
        Method::POST,
        &format!("/api/profile-requests/{}/approve", request["id"]),
        Some(&anna),
        None,
    )
    .await
    .expect_error(409, "request_closed");
}

#[tokio::test]
async fn the_history_is_append_only_and_tampering_shows() {
    let app = spawn_app().await;
    let anna = app.sign_in(8071, "Anna", Some("anna_8071")).await;
    let boris = app.sign_in(8072, "Boris", Some("boris_8072")).await;
    let object = object_of(&mint(&app, &anna, 50).await);
    gift(&app, &anna, object, &boris).await.expect(200);
    gift(&app, &boris, object, &anna).await.expect(200);
    assert_eq!(verified(&app, object, None).await["valid"], true);

    // With the trigger on, nobody changes or removes an entry, not even a superuser.
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(database_url(&app.database).as_str())
        .await
        .unwrap();
    for statement in [
        format!(
            "update ownership_history set to_user_id = {} where object_id = {object} and position = 2",
            anna.user_id()
        ),
        format!("delete from ownership_history where object_id = {object} and position = 3"),
        "truncate ownership_history".to_owned(),
    ] {
        let refused = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut admin)
            .await;
        let error = refused.expect_err(&statement);
        assert!(error.to_string().contains("append-only"), "{error}");
    }

    // Someone who can switch the trigger off can change an entry: verification shows where.
    admin_on(
        &app,
        &format!(
            "alter table ownership_history disable trigger ownership_history_no_update_or_delete; \
         update ownership_history set to_user_id = {} where object_id = {object} and position = 2; \
         alter table ownership_history enable trigger ownership_history_no_update_or_delete;",
            anna.user_id()
        ),
    )
    .await;
    let check = verified(&app, object, None).await;
    assert_eq!(check["valid"], false);
    assert_eq!(check["broken_at"], 2);
}

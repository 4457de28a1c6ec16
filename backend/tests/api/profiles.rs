//! Profiles, private collections and profile requests: who sees what, through every endpoint
//! that can show a photo, an object, a history entry, an event, a media file or a count.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{SignedIn, TestApp, spawn_app, spawn_app_with},
    sockets::MESSAGE_TIMEOUT,
    trading::{Answer, call, gift, mint, object_of},
};

/// Makes `user`'s collection private (or public again) through `PATCH /api/me`.
pub async fn set_private(app: &TestApp, user: &SignedIn, private: bool) {
    call(
        app,
        Method::PATCH,
        "/api/me",
        Some(user),
        Some(json!({ "is_private": private })),
    )
    .await
    .expect(200);
}

async fn ask(app: &TestApp, requester: &SignedIn, owner: &SignedIn) -> Answer {
    let body = json!({ "owner_id": owner.user_id(), "message": "May I see?" });
    call(
        app,
        Method::POST,
        "/api/profile-requests",
        Some(requester),
        Some(body),
    )
    .await
}

async fn act(app: &TestApp, user: &SignedIn, request: i64, action: &str) -> Answer {
    let path = format!("/api/profile-requests/{request}/{action}");
    call(app, Method::POST, &path, Some(user), None).await
}

/// The ids of the items in `page[list]` (in `page` itself, for an empty `list`).
fn ids(page: &Value, list: &str) -> Vec<i64> {
    let items = if list.is_empty() { page } else { &page[list] };
    items
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {page}"))
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// The viewers of the matrix: how each came to be where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Anonymous,
    Stranger,
    Pending,
    Rejected,
    Approved,
    Revoked,
    Owner,
}

impl Standing {
    fn sees(self) -> bool {
        matches!(self, Standing::Approved | Standing::Owner)
    }
}

#[tokio::test]
async fn a_private_collection_is_seen_by_its_owner_and_approved_requesters_only() {
    let app = spawn_app().await;
    let olga = app.sign_in(9301, "Olga", Some("olga_9301")).await;
    let pavel = app.sign_in(9302, "Pavel", Some("pavel_9302")).await;
    let photo = mint(&app, &olga, 41).await;
    let (photo_id, object) = (photo["id"].as_i64().unwrap(), object_of(&photo));
    let thumbnail = photo["urls"]["thumbnail"].as_str().unwrap().to_owned();
    // A public object Olga held once: its history names her.
    let passed_through = object_of(&mint(&app, &pavel, 42).await);
    gift(&app, &pavel, passed_through, &olga).await.expect(200);
    gift(&app, &olga, passed_through, &pavel).await.expect(200);
    call(
        &app,
        Method::PATCH,
        "/api/me",
        Some(&olga),
        Some(json!({ "bio": "Collector of quiet things", "is_private": true })),
    )
    .await
    .expect(200);

    let mut viewers: Vec<(Standing, Option<SignedIn>)> = vec![
        (Standing::Anonymous, None),
        (Standing::Owner, Some(olga.clone())),
    ];
    for (n, standing) in [
        Standing::Stranger,
        Standing::Pending,
        Standing::Rejected,
        Standing::Approved,
        Standing::Revoked,
    ]
    .into_iter()
    .enumerate()
    {
        let user = app
            .sign_in(9310 + n as i64, &format!("{standing:?}"), None)
            .await;
        if standing != Standing::Stranger {
            let request = ask(&app, &user, &olga).await.expect(201)["id"]
                .as_i64()
                .unwrap();
            match standing {
                Standing::Rejected => {
                    act(&app, &olga, request, "reject").await.expect(200);
                }
                Standing::Approved => {
                    act(&app, &olga, request, "approve").await.expect(200);
                }
                Standing::Revoked => {
                    act(&app, &olga, request, "approve").await.expect(200);
                    // Seen while approved, favorited even: then revoked.
                    let path = format!("/api/photos/{photo_id}/favorite");
                    call(&app, Method::PUT, &path, Some(&user), None)
                        .await
                        .expect(200);
                    act(&app, &olga, request, "revoke").await.expect(200);
                }
                _ => {}
            }
        }
        viewers.push((standing, Some(user)));
    }

    for (standing, viewer) in &viewers {
        let (sees, viewer) = (standing.sees(), viewer.as_ref());
        let context = format!("{standing:?}");
        let found = |status: u16| if sees { 200 } else { status };
        let get = |path: String| {
            let app = &app;
            async move { call(app, Method::GET, &path, viewer, None).await }
        };

        for path in [
            "/api/photos".to_owned(),
            format!("/api/photos?owner={}", olga.user_id()),
            format!("/api/photos?creator={}", olga.user_id()),
            "/api/search?q=Object".to_owned(),
        ] {
            let page = get(path.clone()).await.expect(200);
            let list = if path.starts_with("/api/search") {
                "photos"
            } else {
                "items"
            };
            assert_eq!(
                ids(&page, list).contains(&photo_id),
                sees,
                "{context}: {path}"
            );
        }
        for path in [
            format!("/api/photos/{photo_id}"),
            format!("/api/objects/{object}"),
            format!("/api/objects/{object}/history"),
            format!("/api/objects/{object}/history/verify"),
            thumbnail.clone(),
        ] {
            let answer = get(path.clone()).await;
            assert_eq!(answer.status, found(404), "{context}: {path}");
        }

        // The profile: who she is for everyone, the rest for those who may see it.
        let profile = get(format!("/api/users/{}", olga.user_id()))
            .await
            .expect(200);
        assert_eq!(profile["display_name"], "Olga", "{context}");
        assert_eq!(profile["handle"], "olga_9301", "{context}");
        assert_eq!(profile["is_private"], true, "{context}");
        let access = match standing {
            Standing::Owner => "own",
            Standing::Approved => "granted",
            _ => "restricted",
        };
        assert_eq!(profile["access"], access, "{context}");
        if sees {
            assert_eq!(profile["bio"], "Collector of quiet things", "{context}");
            assert_eq!(profile["counts"]["owned"], 1, "{context}");
            assert_eq!(profile["counts"]["created"], 1, "{context}");
        } else {
            assert_eq!(profile["bio"], Value::Null, "{context}");
            assert_eq!(profile["counts"], Value::Null, "{context}");
        }
        let collection = get("/api/users/olga_9301/photos?tab=owned".to_owned()).await;
        if sees {
            assert_eq!(ids(&collection.body, "items"), vec![photo_id], "{context}");
        } else {
            collection.expect_error(403, "profile_private");
        }

        // A history she is in names her only to those who may see her collection.
        let history = get(format!("/api/objects/{passed_through}/history"))
            .await
            .expect(200);
        let olga_entry = &history["entries"][1]["to"]["user"];
        if sees {
            assert_eq!(olga_entry["id"], olga.user_id(), "{context}");
        } else {
            assert_eq!(*olga_entry, Value::Null, "{context}");
        }

        // The event log replays her upload only to those who may see it.
        let events = get("/api/events?after=0".to_owned()).await.expect(200);
        let replayed = events["events"].as_array().unwrap().iter().any(|event| {
            event["event"]["kind"] == "photo_created" && event["event"]["photo"]["id"] == photo_id
        });
        assert_eq!(replayed, sees, "{context}: events");

        // Nobody without access can favorite, or ask for, what they cannot see.
        if let Some(user) = viewer.filter(|_| *standing != Standing::Owner) {
            let favorite = call(
                &app,
                Method::PUT,
                &format!("/api/photos/{photo_id}/favorite"),
                Some(user),
                None,
            )
            .await;
            assert_eq!(favorite.status, found(404), "{context}: favorite");
            let favorites = call(&app, Method::GET, "/api/me/favorites", Some(user), None)
                .await
                .expect(200);
            assert_eq!(
                ids(&favorites, "").contains(&photo_id),
                sees,
                "{context}: my favorites"
            );
            let asking = json!({ "recipient_id": olga.user_id(), "give": [], "ask": [object] });
            let offer = call(&app, Method::POST, "/api/offers", Some(user), Some(asking)).await;
            assert_eq!(
                offer.status,
                if sees { 201 } else { 404 },
                "{context}: offer"
            );
        }
    }
}

#[tokio::test]
async fn each_side_may_do_only_its_part_of_a_request() {
    let app = spawn_app().await;
    let owner = app.sign_in(9401, "Rita", Some("rita_9401")).await;
    let asker = app.sign_in(9402, "Sam", Some("sam_9402")).await;
    let other = app.sign_in(9403, "Tim", None).await;

    // Nothing to ask of a public profile, nor of one's own.
    ask(&app, &asker, &owner)
        .await
        .expect_error(409, "profile_public");
    set_private(&app, &owner, true).await;
    ask(&app, &owner, &owner)
        .await
        .expect_error(422, "own_profile");
    let missing = json!({ "owner_id": 999_999 });
    call(
        &app,
        Method::POST,
        "/api/profile-requests",
        Some(&asker),
        Some(missing),
    )
    .await
    .expect_error(404, "not_found");
    call(
        &app,
        Method::POST,
        "/api/profile-requests",
        None,
        Some(json!({ "owner_id": owner.user_id() })),
    )
    .await
    .expect_error(401, "unauthorized");

    let request = ask(&app, &asker, &owner).await.expect(201);
    assert_eq!(request["state"], "pending");
    assert_eq!(request["message"], "May I see?");
    assert_eq!(request["owner"]["id"], owner.user_id());
    assert_eq!(request["requester"]["id"], asker.user_id());
    let id = request["id"].as_i64().unwrap();
    ask(&app, &asker, &owner)
        .await
        .expect_error(409, "request_exists");

    // Only the owner decides; only the requester withdraws; strangers see nothing.
    act(&app, &asker, id, "approve")
        .await
        .expect_error(403, "not_request_party");
    act(&app, &asker, id, "reject")
        .await
        .expect_error(403, "not_request_party");
    act(&app, &owner, id, "withdraw")
        .await
        .expect_error(403, "not_request_party");
    for action in ["approve", "reject", "withdraw", "revoke"] {
        act(&app, &other, id, action)
            .await
            .expect_error(404, "not_found");
    }
    call(
        &app,
        Method::GET,
        &format!("/api/profile-requests/{id}"),
        Some(&other),
        None,
    )
    .await
    .expect_error(404, "not_found");
    act(&app, &owner, id, "revoke")
        .await
        .expect_error(409, "request_closed");

    // Approved: revoked by the owner only, and only once.
    let approved = act(&app, &owner, id, "approve").await.expect(200);
    assert_eq!(approved["state"], "approved");
    assert!(approved["decided_at"].is_string());
    act(&app, &owner, id, "approve")
        .await
        .expect_error(409, "request_closed");
    act(&app, &asker, id, "withdraw")
        .await
        .expect_error(409, "request_closed");
    ask(&app, &asker, &owner)
        .await
        .expect_error(409, "request_exists");
    act(&app, &asker, id, "revoke")
        .await
        .expect_error(403, "not_request_party");
    let revoked = act(&app, &owner, id, "revoke").await.expect(200);
    assert_eq!(revoked["state"], "revoked");
    assert!(revoked["revoked_at"].is_string());
    act(&app, &owner, id, "revoke")
        .await
        .expect_error(409, "request_closed");

    // A revocation cools off like a rejection: the profile says until when.
    let refused = app
        .client
        .post(app.url("/api/profile-requests"))
        .bearer_auth(&asker.access_token)
        .json(&json!({ "owner_id": owner.user_id() }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3_500..=3_600).contains(&retry_after),
        "cooling off for an hour: {retry_after}"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "request_cooling_off");
    let profile = call(
        &app,
        Method::GET,
        &format!("/api/users/{}", owner.user_id()),
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    assert_eq!(profile["request"]["state"], "revoked");
    assert!(profile["may_request_at"].is_string(), "{profile}");

    // A withdrawn request does not cool off.
    let second = ask(&app, &other, &owner).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    act(&app, &other, second, "withdraw").await.expect(200);
    let third = ask(&app, &other, &owner).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    act(&app, &owner, third, "reject").await.expect(200);
    act(&app, &owner, third, "approve")
        .await
        .expect_error(409, "request_closed");
    ask(&app, &other, &owner)
        .await
        .expect_error(429, "request_cooling_off");

    // Both sides' lists, newest first, filtered by state.
    let incoming = call(
        &app,
        Method::GET,
        "/api/profile-requests?box=incoming",
        Some(&owner),
        None,
    )
    .await
    .expect(200);
    assert_eq!(ids(&incoming, "items"), vec![third, second, id]);
    let rejected = call(
        &app,
        Method::GET,
        "/api/profile-requests?box=incoming&state=rejected",
        Some(&owner),
        None,
    )
    .await
    .expect(200);
    assert_eq!(ids(&rejected, "items"), vec![third]);
    let outgoing = call(
        &app,
        Method::GET,
        "/api/profile-requests?box=outgoing",
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    assert_eq!(ids(&outgoing, "items"), vec![id]);
    let nothing = call(
        &app,
        Method::GET,
        "/api/profile-requests?box=incoming",
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    assert_eq!(ids(&nothing, "items"), Vec::<i64>::new());
    let paged = call(
        &app,
        Method::GET,
        "/api/profile-requests?box=incoming&limit=2",
        Some(&owner),
        None,
    )
    .await
    .expect(200);
    assert_eq!(ids(&paged, "items"), vec![third, second]);
    let rest = call(
        &app,
        Method::GET,
        &format!(
            "/api/profile-requests?box=incoming&limit=2&before={}",
            paged["next_before"]
        ),
        Some(&owner),
        None,
    )
    .await
    .expect(200);
    assert_eq!(ids(&rest, "items"), vec![id]);
    assert_eq!(rest["next_before"], Value::Null);
}

#[tokio::test]
async fn both_sides_follow_a_request_live_and_a_revocation_takes_effect_at_once() {
    let app = spawn_app().await;
    let owner = app.sign_in(9501, "Uma", Some("uma_9501")).await;
    let asker = app.sign_in(9502, "Vlad", None).await;
    let photo = mint(&app, &owner, 51).await;
    let (photo_id, thumbnail) = (
        photo["id"].as_i64().unwrap(),
        photo["urls"]["thumbnail"].as_str().unwrap().to_owned(),
    );
    set_private(&app, &owner, true).await;
    let (mut owner_socket, _) = app.open_as(&owner).await;
    let (mut asker_socket, _) = app.open_as(&asker).await;

    let id = ask(&app, &asker, &owner).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    for socket in [&mut owner_socket, &mut asker_socket] {
        let request = request_event(socket).await;
        assert_eq!(
            (request["id"].as_i64(), &request["state"]),
            (Some(id), &json!("pending"))
        );
    }
    act(&app, &owner, id, "approve").await.expect(200);
    for socket in [&mut owner_socket, &mut asker_socket] {
        assert_eq!(request_event(socket).await["state"], "approved");
    }

    // Approved: her photos and their later changes reach him live.
    call(
        &app,
        Method::GET,
        &format!("/api/photos/{photo_id}"),
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    let edit = json!({ "title": "Seen by friends" });
    call(
        &app,
        Method::PATCH,
        &format!("/api/photos/{photo_id}"),
        Some(&owner),
        Some(edit),
    )
    .await
    .expect(200);
    let updated = next_of_kind(&mut asker_socket, "photo_updated").await;
    assert_eq!(updated["photo_id"], photo_id);

    // Revoked: the very next read is refused, media too, and nothing was cached for him.
    let media = app
        .client
        .get(app.url(&thumbnail))
        .bearer_auth(&asker.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(media.status(), 200);
    assert_eq!(media.headers()["cache-control"], "private, no-cache");
    // An `<img>` sends no header: the web client's media cookie carries the viewer.
    let with_cookie = |token: &str| {
        app.client
            .get(app.url(&thumbnail))
            .header("Cookie", format!("theme=dark; gallery_media={token}"))
            .send()
    };
    assert_eq!(
        with_cookie(&asker.access_token).await.unwrap().status(),
        200
    );
    assert_eq!(with_cookie("not-a-token").await.unwrap().status(), 404);
    let elsewhere = app
        .client
        .get(app.url(&format!("/api/photos/{photo_id}")))
        .header("Cookie", format!("gallery_media={}", asker.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404, "the cookie is read for media only");
    act(&app, &owner, id, "revoke").await.expect(200);
    for socket in [&mut owner_socket, &mut asker_socket] {
        assert_eq!(request_event(socket).await["state"], "revoked");
    }
    call(
        &app,
        Method::GET,
        &format!("/api/photos/{photo_id}"),
        Some(&asker),
        None,
    )
    .await
    .expect_error(404, "not_found");
    let media = app
        .client
        .get(app.url(&thumbnail))
        .bearer_auth(&asker.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(media.status(), 404);
    assert_eq!(
        with_cookie(&asker.access_token).await.unwrap().status(),
        404
    );

    // Her next change does not reach him; the owner's own socket still gets it.
    let edit = json!({ "title": "Friends only" });
    call(
        &app,
        Method::PATCH,
        &format!("/api/photos/{photo_id}"),
        Some(&owner),
        Some(edit),
    )
    .await
    .expect(200);
    next_of_kind(&mut owner_socket, "photo_updated").await;
    // A marker everyone may see, sent after the edit: he gets it without the edit before it.
    let marker = mint(&app, &asker, 52).await["id"].as_i64().unwrap();
    let (_, event) = asker_socket.event().await;
    let event = serde_json::to_value(event).unwrap();
    assert_eq!(
        (event["kind"].as_str(), event["photo"]["id"].as_i64()),
        (Some("photo_created"), Some(marker)),
        "{event}"
    );
}

/// The request in the next `profile_request_changed` event on `socket`.
async fn request_event(socket: &mut crate::sockets::Socket) -> Value {
    next_of_kind(socket, "profile_request_changed").await["request"].clone()
}

/// The next event of `kind` on `socket`, skipping others.
async fn next_of_kind(socket: &mut crate::sockets::Socket, kind: &str) -> Value {
    tokio::time::timeout(MESSAGE_TIMEOUT, async {
        loop {
            let (_, event) = socket.event().await;
            let event = serde_json::to_value(event).unwrap();
            if event["kind"] == kind {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} event in time"))
}

#[tokio::test]
async fn profiles_are_found_by_id_or_handle_and_count_what_they_hold() {
    let app = spawn_app().await;
    let maker = app.sign_in(9601, "Wanda", Some("wanda_9601")).await;
    let fan = app.sign_in(9602, "Xenia", None).await;
    let kept = mint(&app, &maker, 61).await;
    let given = object_of(&mint(&app, &maker, 62).await);
    gift(&app, &maker, given, &fan).await.expect(200);
    call(
        &app,
        Method::PUT,
        &format!("/api/photos/{}/favorite", kept["id"]),
        Some(&fan),
        None,
    )
    .await
    .expect(200);

    for key in [maker.user_id().to_string(), "WANDA_9601".to_owned()] {
        let profile = call(&app, Method::GET, &format!("/api/users/{key}"), None, None)
            .await
            .expect(200);
        assert_eq!(profile["id"], maker.user_id());
        assert_eq!(profile["access"], "public");
        assert_eq!(
            profile["counts"],
            json!({ "owned": 1, "created": 2, "favorites_received": 1 })
        );
        assert_eq!(profile["request"], Value::Null);
    }
    let own = call(
        &app,
        Method::GET,
        "/api/users/wanda_9601",
        Some(&maker),
        None,
    )
    .await
    .expect(200);
    assert_eq!(own["access"], "own");

    let created = call(
        &app,
        Method::GET,
        "/api/users/wanda_9601/photos?tab=created&limit=1",
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(created["items"].as_array().unwrap().len(), 1);
    let cursor = created["next_cursor"].as_str().unwrap();
    let more = call(
        &app,
        Method::GET,
        &format!("/api/users/wanda_9601/photos?tab=created&limit=1&cursor={cursor}"),
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(more["items"].as_array().unwrap().len(), 1);
    assert_eq!(more["next_cursor"], Value::Null);
    assert_ne!(created["items"][0]["id"], more["items"][0]["id"]);

    for missing in ["/api/users/nobody_here", "/api/users/999999"] {
        call(&app, Method::GET, missing, None, None)
            .await
            .expect_error(404, "not_found");
    }
    call(&app, Method::GET, "/api/users/no%20such", None, None)
        .await
        .expect_error(400, "bad_request");
}

#[tokio::test]
async fn profile_requests_are_limited_per_user() {
    let app = spawn_app_with(|config| config.rate_limits.profile_requests_per_hour = 2).await;
    let asker = app.sign_in(9701, "Yan", None).await;
    let mut owners = Vec::new();
    for n in 0..3 {
        let owner = app.sign_in(9710 + n, &format!("Owner {n}"), None).await;
        set_private(&app, &owner, true).await;
        owners.push(owner);
    }
    ask(&app, &asker, &owners[0]).await.expect(201);
    ask(&app, &asker, &owners[1]).await.expect(201);
    ask(&app, &asker, &owners[2])
        .await
        .expect_error(429, "rate_limited");
}

//! The spec as a contract: what the server sends validates against the schemas it publishes
//! (no undocumented field, every null declared), and what the spec forbids is refused with 400.

use std::collections::HashSet;

use image::DynamicImage;
use serde_json::{Value, json};

use crate::{
    helpers::{SignedIn, TestApp, assert_json_error, spawn_app},
    images::{png, two_tone},
    photos::upload,
};

/// The spec's component schemas as one JSON Schema (2020-12) document that validates
/// instances of `component` strictly: OpenAPI's `nullable` becomes a union with null, and an
/// object may hold no property its schema does not name.
async fn validator_for(app: &TestApp, component: &str) -> jsonschema::Validator {
    let spec: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut schemas = spec["components"]["schemas"].clone();
    let composed = composed_parts(&schemas);
    for (name, schema) in schemas.as_object_mut().unwrap() {
        make_strict(schema, composed.contains(name.as_str()));
    }
    let document = json!({
        "$ref": format!("#/components/schemas/{component}"),
        "components": { "schemas": schemas },
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(false)
        .build(&document)
        .expect("the spec's schemas compile")
}

/// Components used as parts of an `allOf`: their properties are checked by the whole.
fn composed_parts(schemas: &Value) -> HashSet<String> {
    let mut parts = HashSet::new();
    for schema in schemas.as_object().unwrap().values() {
        for part in schema["allOf"].as_array().into_iter().flatten() {
            if let Some(reference) = part["$ref"].as_str() {
                parts.insert(reference.rsplit('/').next().unwrap().to_owned());
            }
        }
    }
    parts
}

fn make_strict(schema: &mut Value, is_part: bool) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for (key, child) in object.iter_mut() {
        match key.as_str() {
            "properties" => {
                for property in child.as_object_mut().unwrap().values_mut() {
                    make_strict(property, false);
                }
            }
            "allOf" => {
                for part in child.as_array_mut().unwrap() {
                    make_strict(part, true);
                }
            }
            "items" | "additionalProperties" => make_strict(child, false),
            "anyOf" | "oneOf" => {
                for option in child.as_array_mut().unwrap() {
                    make_strict(option, false);
                }
            }
            _ => {}
        }
    }
    let closes = object.contains_key("properties") || object.contains_key("allOf");
    if closes && !is_part {
        object.insert("unevaluatedProperties".into(), json!(false));
    }
    if object.remove("nullable") == Some(json!(true)) {
        let inner = Value::Object(std::mem::take(object));
        object.insert("anyOf".into(), json!([inner, { "type": "null" }]));
    }
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{error} at {}", error.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\nin {instance:#}");
}

async fn events_after(app: &TestApp, user: &SignedIn, after: i64) -> Value {
    app.get_as(&format!("/api/events?after={after}"), &user.access_token)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_kind_of_event_the_server_sends_matches_the_spec() {
    let app = spawn_app().await;
    let owner = app.sign_in(5001, "Olga", Some("olga_5001")).await;
    let other_device = app.sign_in(5001, "Olga", Some("olga_5001")).await;
    let bytes = png(&DynamicImage::ImageRgb8(two_tone(64, 48, 1)));
    let photo = upload(&app, &owner, bytes, "Harbour").await;
    let path = format!("/api/photos/{}", photo["id"]);
    let authorized = |request: reqwest::RequestBuilder| request.bearer_auth(&owner.access_token);

    let edited = authorized(app.client.patch(app.url(&path)))
        .json(&json!({ "title": "Harbour at dusk", "tags": ["sea"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    let favorited = authorized(app.client.put(app.url(&format!("{path}/favorite"))))
        .send()
        .await
        .unwrap();
    assert!(favorited.status().is_success());
    let private = authorized(app.client.patch(app.url("/api/me")))
        .json(&json!({ "is_private": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    let sessions: Value = app
        .get_as("/api/me/sessions", &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    let other_session = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["current"] == false)
        .expect("the other device's session");
    let ended = authorized(app.client.delete(app.url(&format!(
        "/api/me/sessions/{}",
        other_session["id"].as_str().unwrap()
    ))))
    .send()
    .await
    .unwrap();
    assert_eq!(ended.status(), 204);
    drop(other_device);
    // Events about a photo are shown while it exists: read them before deleting it.
    let before_deleting = events_after(&app, &owner, 0).await;
    let deleted = authorized(app.client.delete(app.url(&path)))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let after = before_deleting["next_after"].as_i64().unwrap();
    let after_deleting = events_after(&app, &owner, after).await;

    let validator = validator_for(&app, "EventPage").await;
    let mut kinds = HashSet::new();
    for page in [&before_deleting, &after_deleting] {
        assert_valid(&validator, page);
        kinds.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|event| event["event"]["kind"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(
        kinds,
        HashSet::from(
            [
                "photo_created",
                "photo_updated",
                "favorite_count",
                "profile_visibility",
                "sessions_revoked",
                "photo_deleted",
            ]
            .map(String::from)
        ),
        "{before_deleting:#} {after_deleting:#}"
    );
}

#[tokio::test]
async fn ownership_answers_and_events_match_the_spec() {
    use crate::trading::{call, gift, mint, object_of, offer};
    use reqwest::Method;

    let app = spawn_app().await;
    let anna = app.sign_in(5011, "Anna", Some("anna_5011")).await;
    let boris = app.sign_in(5012, "Boris", None).await;
    let given = object_of(&mint(&app, &anna, 501).await);
    let claimed = object_of(&mint(&app, &anna, 502).await);
    let kept = object_of(&mint(&app, &anna, 503).await);

    let transfer = gift(&app, &anna, given, &boris).await.expect(200);
    assert_valid(&validator_for(&app, "Transfer").await, &transfer);
    let body = json!({ "object_id": claimed });
    let link = call(
        &app,
        Method::POST,
        "/api/claim-links",
        Some(&anna),
        Some(body),
    )
    .await
    .expect(201);
    assert_valid(&validator_for(&app, "ClaimLink").await, &link);
    let claim = format!("/api/claims/{}", link["token"].as_str().unwrap());
    let preview = call(&app, Method::GET, &claim, None, None)
        .await
        .expect(200);
    assert_valid(&validator_for(&app, "ClaimPreview").await, &preview);
    call(&app, Method::POST, &claim, Some(&boris), None)
        .await
        .expect(200);
    let links = call(&app, Method::GET, "/api/claim-links", Some(&anna), None)
        .await
        .expect(200);
    assert!(links[0]["claimed_by"].is_object());
    let made = offer(&app, &boris, &anna, &[given], &[kept])
        .await
        .expect(201);
    assert!(made["closed_at"].is_null() && made["countered_by"].is_null());
    assert_valid(&validator_for(&app, "TradeOffer").await, &made);
    let page = call(
        &app,
        Method::GET,
        "/api/offers?box=incoming",
        Some(&anna),
        None,
    )
    .await
    .expect(200);
    assert_valid(&validator_for(&app, "OfferPage").await, &page);
    let history = call(
        &app,
        Method::GET,
        &format!("/api/objects/{claimed}/history"),
        None,
        None,
    )
    .await
    .expect(200);
    assert!(
        history["entries"][0]["from"].is_null(),
        "a mint comes from nobody"
    );
    assert_valid(&validator_for(&app, "ObjectHistory").await, &history);
    let verification = call(
        &app,
        Method::GET,
        &format!("/api/objects/{claimed}/history/verify"),
        None,
        None,
    )
    .await
    .expect(200);
    assert_valid(
        &validator_for(&app, "HistoryVerification").await,
        &verification,
    );

    let validator = validator_for(&app, "EventPage").await;
    let mut kinds = HashSet::new();
    for user in [&anna, &boris] {
        let page = events_after(&app, user, 0).await;
        assert_valid(&validator, &page);
        for event in page["events"].as_array().unwrap() {
            kinds.insert(event["event"]["kind"].as_str().unwrap().to_owned());
        }
    }
    for kind in [
        "object_transferred",
        "gift_received",
        "claim_completed",
        "offer_changed",
    ] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn profile_answers_and_events_match_the_spec() {
    use crate::trading::{call, mint};
    use reqwest::Method;

    let app = spawn_app().await;
    let owner = app.sign_in(5021, "Olga", Some("olga_5021")).await;
    let asker = app.sign_in(5022, "Petr", None).await;
    mint(&app, &owner, 521).await;
    let private = json!({ "is_private": true });
    call(&app, Method::PATCH, "/api/me", Some(&owner), Some(private))
        .await
        .expect(200);

    let profile = validator_for(&app, "Profile").await;
    let restricted = call(
        &app,
        Method::GET,
        "/api/users/olga_5021",
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    assert!(restricted["counts"].is_null() && restricted["request"].is_null());
    assert_valid(&profile, &restricted);
    let body = json!({ "owner_id": owner.user_id(), "message": "hello" });
    let request = call(
        &app,
        Method::POST,
        "/api/profile-requests",
        Some(&asker),
        Some(body),
    )
    .await
    .expect(201);
    assert!(request["decided_at"].is_null() && request["revoked_at"].is_null());
    assert_valid(&validator_for(&app, "ProfileRequest").await, &request);
    let pending = call(
        &app,
        Method::GET,
        "/api/users/olga_5021",
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    assert_valid(&profile, &pending);
    let path = format!("/api/profile-requests/{}/approve", request["id"]);
    call(&app, Method::POST, &path, Some(&owner), None)
        .await
        .expect(200);
    let granted = call(
        &app,
        Method::GET,
        "/api/users/olga_5021",
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    assert!(granted["counts"].is_object());
    assert_valid(&profile, &granted);
    let page = call(
        &app,
        Method::GET,
        "/api/profile-requests?box=incoming",
        Some(&owner),
        None,
    )
    .await
    .expect(200);
    assert_valid(&validator_for(&app, "ProfileRequestPage").await, &page);
    let photos = call(
        &app,
        Method::GET,
        "/api/users/olga_5021/photos?tab=created",
        Some(&asker),
        None,
    )
    .await
    .expect(200);
    assert_valid(&validator_for(&app, "PhotoPage").await, &photos);

    let validator = validator_for(&app, "EventPage").await;
    for user in [&owner, &asker] {
        let page = events_after(&app, user, 0).await;
        assert_valid(&validator, &page);
        let states: Vec<&str> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["event"]["kind"] == "profile_request_changed")
            .map(|event| event["event"]["request"]["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["pending", "approved"]);
    }
}

#[tokio::test]
async fn nulls_the_server_sends_are_declared() {
    let app = spawn_app().await;
    let without_handle = app.sign_in(5002, "Pavel", None).await;
    let me: Value = app
        .get_as("/api/me", &without_handle.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(me["handle"].is_null() && me["photo_url"].is_null(), "{me}");
    assert_valid(&validator_for(&app, "Me").await, &me);

    let page: Value = app.get("/api/photos").await.json().await.unwrap();
    assert!(page["next_cursor"].is_null(), "{page}");
    assert_valid(&validator_for(&app, "PhotoPage").await, &page);
}

#[tokio::test]
async fn the_validator_sees_an_undocumented_field_and_an_undeclared_null() {
    let app = spawn_app().await;
    let validator = validator_for(&app, "PhotoPage").await;
    assert!(validator.is_valid(&json!({ "items": [], "next_cursor": null })));
    assert!(!validator.is_valid(&json!({ "items": [], "next_cursor": null, "total": 0 })));
    assert!(!validator.is_valid(&json!({ "items": null, "next_cursor": null })));
}

#[tokio::test]
async fn request_bodies_refuse_what_their_schema_does_not_name() {
    let app = spawn_app().await;
    let user = app.sign_in(5003, "Raisa", Some("raisa_5003")).await;
    let spec: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(content) = operation.get("requestBody").map(|body| &body["content"]) else {
                continue;
            };
            for (media_type, content) in content.as_object().unwrap() {
                let schema = match content["schema"]["$ref"].as_str() {
                    Some(reference) => {
                        &spec["components"]["schemas"][reference.rsplit('/').next().unwrap()]
                    }
                    None => &content["schema"],
                };
                assert_eq!(
                    schema["additionalProperties"], false,
                    "{method} {path} ({media_type}) says it refuses unknown fields"
                );
            }
        }
    }

    let change = |body: Value| {
        app.client
            .patch(app.url("/api/me"))
            .bearer_auth(&user.access_token)
            .json(&body)
            .send()
    };
    let refused = change(json!({ "bio": "Collector", "favourite_colour": "teal" }))
        .await
        .unwrap();
    assert_json_error(refused, 400, "bad_request").await;
    let not_a_string = change(json!({ "bio": false })).await.unwrap();
    assert_json_error(not_a_string, 400, "bad_request").await;
    let null_leaves_it = change(json!({ "bio": null, "display_name": "Raisa K." }))
        .await
        .unwrap();
    assert_eq!(null_leaves_it.status(), 200);
    let me: Value = null_leaves_it.json().await.unwrap();
    assert_eq!(
        (me["bio"].as_str(), me["display_name"].as_str()),
        (Some(""), Some("Raisa K."))
    );

    let too_long = app
        .post_json("/api/auth/max", &json!({ "init_data": "a".repeat(4097) }))
        .await;
    assert_json_error(too_long, 400, "bad_request").await;
}

#[tokio::test]
async fn parameters_outside_their_documented_ranges_are_400_and_the_edges_are_taken() {
    let app = spawn_app().await;
    let refused = [
        "/api/photos?limit=0",
        "/api/photos?limit=101",
        "/api/photos?owner=0",
        "/api/photos?creator=-5",
        "/api/photos?cursor=bm90IGEgY3Vyc29y",
        "/api/photos?tag=a,b",
        "/api/photos/0",
        "/api/photos/99999999999999999999",
        "/api/events?after=-1",
        "/api/events?limit=501",
        "/api/auth/qr/not%20an%20id",
        "/api/auth/qr/abcdef?wait=26",
    ];
    for path in refused {
        let response = app
            .client
            .get(app.url(path))
            .header("X-Poll-Secret", "secret")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
    }
    let search = app.get(&format!("/api/search?q={}", "a".repeat(201))).await;
    assert_eq!(search.status(), 400, "a search over 200 characters");

    for path in [
        "/api/photos?limit=100&owner=1&cursor=0_12",
        "/api/photos?limit=1&tag=sea",
        "/api/events?after=0&limit=500",
        "/api/photos/1000000000000000",
    ] {
        let response = app.get(path).await;
        assert!(
            [200, 404].contains(&response.status().as_u16()),
            "{path}: {}",
            response.status()
        );
    }
    let unknown_request = app
        .client
        .get(app.url("/api/auth/qr/abcdef?wait=0"))
        .header("X-Poll-Secret", "secret")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_request.status(), 404);
}

#[tokio::test]
async fn a_405_names_the_methods_the_path_allows() {
    let app = spawn_app().await;
    for (method, path, allowed) in [
        ("TRACE", "/api/photos/1", "GET, PATCH, DELETE, HEAD"),
        ("DELETE", "/api/photos", "POST, GET, HEAD"),
        ("OPTIONS", "/api/me", "GET, PATCH, HEAD"),
        ("GET", "/api/auth/logout", "POST"),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(
            response.headers()["allow"].to_str().unwrap(),
            allowed,
            "{method} {path}"
        );
        assert_json_error(response, 405, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn the_media_check_without_a_uri_denies() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/media-access").await.status(), 403);
}

//! Objects under contention: many conflicting offers accepted at once, and a random mix of
//! every change of hands from many clients. Whatever the interleaving, each object has one
//! owner, the history says how it got there, and every chain verifies.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{SignedIn, TestApp, spawn_app_with},
    trading::{Answer, call, mint, object_of},
};

/// Requests in flight at once.
const CONCURRENCY: usize = 64;

/// An app without rate limits whose requests wait for a database connection as long as the
/// test may take: 64 requests share 10 connections, and on a busy two-core machine the default
/// two-second wait would answer 503 (correctly, but this test is about the exchange).
async fn unlimited_app() -> TestApp {
    spawn_app_with(|config| {
        config.rate_limits.writes_per_minute = 1_000_000;
        config.rate_limits.sign_in_per_minute = 1_000_000;
        config.database.max_connections = 10;
        config.database.timeout_seconds = 60;
    })
    .await
}

/// The history of `object_id`, verified: positions in order, each entry's giver the previous
/// entry's recipient, and the server's own verification. Returns its entries.
async fn checked_history(app: &TestApp, object_id: i64) -> Vec<Value> {
    let history = call(
        app,
        Method::GET,
        &format!("/api/objects/{object_id}/history"),
        None,
        None,
    )
    .await
    .expect(200);
    let entries = history["entries"].as_array().unwrap().clone();
    assert_eq!(entries[0]["kind"], "mint", "object {object_id}");
    for pair in entries.windows(2) {
        assert_eq!(
            pair[1]["from"]["user"]["id"], pair[0]["to"]["user"]["id"],
            "object {object_id}: each giver is the previous recipient"
        );
    }
    let verification = call(
        app,
        Method::GET,
        &format!("/api/objects/{object_id}/history/verify"),
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        verification["valid"], true,
        "object {object_id}: {verification}"
    );
    assert_eq!(verification["entries"], entries.len());
    entries
}

struct Offer {
    id: i64,
    proposer: i64,
    recipient: i64,
    give: Vec<i64>,
    ask: Vec<i64>,
}

async fn contention_round(seed: u64) {
    let app = unlimited_app().await;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut users = Vec::new();
    for n in 0..10 {
        users.push(app.sign_in(9100 + n, &format!("Trader {n}"), None).await);
    }
    // 50 objects: five each.
    let mut owned: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut seed_image = (seed as u32) * 1000;
    for user in &users {
        for _ in 0..5 {
            seed_image += 1;
            let object = object_of(&mint(&app, user, seed_image).await);
            owned.entry(user.user_id()).or_default().push(object);
        }
    }
    let by_id: HashMap<i64, &SignedIn> = users.iter().map(|user| (user.user_id(), user)).collect();

    // 250 offers, several on every object (nothing changes hands while they are made).
    let mut plans = Vec::new();
    for _ in 0..250 {
        let proposer = users.choose(&mut rng).unwrap();
        let recipient = loop {
            let candidate = users.choose(&mut rng).unwrap();
            if candidate.user_id() != proposer.user_id() {
                break candidate;
            }
        };
        let pick = |rng: &mut StdRng, from: &[i64], most: usize| -> Vec<i64> {
            let count = rng.gen_range(0..=most);
            from.choose_multiple(rng, count).copied().collect()
        };
        let mut give = pick(&mut rng, &owned[&proposer.user_id()], 2);
        let ask = pick(&mut rng, &owned[&recipient.user_id()], 2);
        if give.is_empty() && ask.is_empty() {
            give.push(owned[&proposer.user_id()][0]);
        }
        plans.push((proposer, recipient, give, ask));
    }
    let offers: Vec<Offer> = stream::iter(plans)
        .map(|(proposer, recipient, give, ask)| {
            let app = &app;
            async move {
                let body = json!({ "recipient_id": recipient.user_id(), "give": give, "ask": ask });
                let made = call(app, Method::POST, "/api/offers", Some(proposer), Some(body))
                    .await
                    .expect(201);
                Offer {
                    id: made["id"].as_i64().unwrap(),
                    proposer: proposer.user_id(),
                    recipient: recipient.user_id(),
                    give,
                    ask,
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    // 500 accepts: every offer twice, by its recipient, all at once.
    let mut accepts: Vec<&Offer> = offers.iter().chain(offers.iter()).collect();
    accepts.shuffle(&mut rng);
    let answers: Vec<(i64, Answer)> = stream::iter(accepts)
        .map(|offer| {
            let (app, recipient) = (&app, by_id[&offer.recipient]);
            async move {
                let path = format!("/api/offers/{}/accept", offer.id);
                (
                    offer.id,
                    call(app, Method::POST, &path, Some(recipient), None).await,
                )
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut accepted = HashSet::new();
    for (offer, answer) in &answers {
        match answer.status {
            200 => assert!(
                accepted.insert(*offer),
                "seed {seed}: offer {offer} accepted twice"
            ),
            409 => {
                let code = answer.body["code"].as_str().unwrap();
                assert!(
                    ["offer_invalidated", "offer_closed"].contains(&code),
                    "seed {seed}: {}",
                    answer.body
                );
            }
            status => panic!("seed {seed}: offer {offer}: {status} {}", answer.body),
        }
    }
    assert!(!accepted.is_empty(), "seed {seed}: some offer went through");

    // One owner each, the last recipient in its history; the histories add up.
    let mut entries_total = 0;
    let mut trades: HashSet<(i64, i64, i64)> = HashSet::new();
    for object in owned.values().flatten() {
        let entries = checked_history(&app, *object).await;
        let owner = call(
            &app,
            Method::GET,
            &format!("/api/objects/{object}"),
            None,
            None,
        )
        .await
        .expect(200)["owner"]["id"]
            .clone();
        assert_eq!(
            entries.last().unwrap()["to"]["user"]["id"],
            owner,
            "seed {seed}"
        );
        entries_total += entries.len();
        for entry in entries.iter().filter(|entry| entry["kind"] == "trade") {
            let from = entry["from"]["user"]["id"].as_i64().unwrap();
            let to = entry["to"]["user"]["id"].as_i64().unwrap();
            trades.insert((*object, from, to));
        }
    }
    let mut moved = 0;
    for offer in offers.iter().filter(|offer| accepted.contains(&offer.id)) {
        // Every item of an accepted offer went from the side that gave it: with each giver
        // being the previous recipient, no offer was accepted with an item gone stale.
        for object in &offer.give {
            assert!(
                trades.contains(&(*object, offer.proposer, offer.recipient)),
                "seed {seed}"
            );
        }
        for object in &offer.ask {
            assert!(
                trades.contains(&(*object, offer.recipient, offer.proposer)),
                "seed {seed}"
            );
        }
        moved += offer.give.len() + offer.ask.len();
    }
    assert_eq!(
        entries_total,
        50 + moved,
        "seed {seed}: mints plus accepted items"
    );
}

#[tokio::test]
async fn conflicting_offers_accepted_at_once_move_each_object_exactly_once() {
    for seed in [1, 2, 3] {
        contention_round(seed).await;
    }
}

/// What the clients of the random mix saw.
#[derive(Default)]
struct Tally {
    deleted: usize,
    server_errors: Vec<String>,
    succeeded: HashMap<&'static str, usize>,
}

/// One client of the random mix: random changes of hands until `deadline`.
async fn mix_client(
    app: &TestApp,
    me: &SignedIn,
    everyone: &[i64],
    tokens: &Mutex<Vec<String>>,
    tally: &Mutex<Tally>,
    deadline: Instant,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    while Instant::now() < deadline {
        let mine = owned_by(app, me.user_id()).await;
        let others: Vec<i64> = everyone
            .iter()
            .copied()
            .filter(|user| *user != me.user_id())
            .collect();
        let other = *others.choose(&mut rng).unwrap();
        let roll = rng.gen_range(0..100);
        let (action, answer) = match roll {
            0..=14 if !mine.is_empty() => {
                let body = json!({ "object_id": mine.choose(&mut rng), "to_user_id": other });
                (
                    "gift",
                    call(app, Method::POST, "/api/transfers", Some(me), Some(body)).await,
                )
            }
            15..=39 => {
                let theirs = owned_by(app, other).await;
                let count = rng.gen_range(0..=1);
                let give: Vec<i64> = mine.choose_multiple(&mut rng, count).copied().collect();
                let ask: Vec<i64> = theirs.choose_multiple(&mut rng, 1).copied().collect();
                let body = json!({ "recipient_id": other, "give": give, "ask": ask });
                (
                    "offer",
                    call(app, Method::POST, "/api/offers", Some(me), Some(body)).await,
                )
            }
            40..=74 => {
                let incoming = call(app, Method::GET, "/api/offers?box=incoming", Some(me), None)
                    .await
                    .expect(200);
                let Some(offer) = incoming["items"]
                    .as_array()
                    .unwrap()
                    .choose(&mut rng)
                    .cloned()
                else {
                    continue;
                };
                if roll < 65 {
                    let path = format!("/api/offers/{}/accept", offer["id"]);
                    (
                        "accept",
                        call(app, Method::POST, &path, Some(me), None).await,
                    )
                } else {
                    let give: Vec<i64> = mine.choose_multiple(&mut rng, 1).copied().collect();
                    let ask: Vec<i64> = offer["give"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|item| item["object_id"].as_i64().unwrap())
                        .take(1)
                        .collect();
                    let body = json!({ "recipient_id": other, "give": give, "ask": ask });
                    let path = format!("/api/offers/{}/counter", offer["id"]);
                    (
                        "counter",
                        call(app, Method::POST, &path, Some(me), Some(body)).await,
                    )
                }
            }
            75..=84 if !mine.is_empty() => {
                let body = json!({ "object_id": mine.choose(&mut rng) });
                let answer =
                    call(app, Method::POST, "/api/claim-links", Some(me), Some(body)).await;
                if answer.status == 201 {
                    tokens
                        .lock()
                        .unwrap()
                        .push(answer.body["token"].as_str().unwrap().to_owned());
                }
                ("link", answer)
            }
            85..=96 => {
                let token = {
                    let mut tokens = tokens.lock().unwrap();
                    let count = tokens.len();
                    (count > 0).then(|| tokens.swap_remove(rng.gen_range(0..count)))
                };
                let Some(token) = token else { continue };
                (
                    "claim",
                    call(
                        app,
                        Method::POST,
                        &format!("/api/claims/{token}"),
                        Some(me),
                        None,
                    )
                    .await,
                )
            }
            97..=99 if !mine.is_empty() => {
                let object = *mine.choose(&mut rng).unwrap();
                let photo = call(
                    app,
                    Method::GET,
                    &format!("/api/objects/{object}"),
                    Some(me),
                    None,
                )
                .await;
                if photo.status != 200 {
                    continue;
                }
                let path = format!("/api/photos/{}", photo.body["id"]);
                let answer = call(app, Method::DELETE, &path, Some(me), None).await;
                if answer.status == 204 {
                    tally.lock().unwrap().deleted += 1;
                }
                ("delete", answer)
            }
            _ => continue,
        };
        let mut tally = tally.lock().unwrap();
        if answer.status >= 500 {
            tally
                .server_errors
                .push(format!("{action}: {} {}", answer.status, answer.body));
        } else if answer.status < 300 {
            *tally.succeeded.entry(action).or_default() += 1;
        }
    }
}

/// The objects `user_id` owns now.
async fn owned_by(app: &TestApp, user_id: i64) -> Vec<i64> {
    let page = call(
        app,
        Method::GET,
        &format!("/api/photos?owner={user_id}&limit=100"),
        None,
        None,
    )
    .await
    .expect(200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|photo| photo["object_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_random_mix_of_changes_of_hands_keeps_every_invariant() {
    let seconds: u64 = std::env::var("GALLERY_TEST_MIX_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20);
    let app = unlimited_app().await;
    let mut users = Vec::new();
    for n in 0..32 {
        users.push(app.sign_in(9200 + n, &format!("Collector {n}"), None).await);
    }
    let mut minted = Vec::new();
    for (n, user) in users.iter().enumerate() {
        for copy in 0..2 {
            minted.push(object_of(
                &mint(&app, user, 5000 + (n * 2 + copy) as u32).await,
            ));
        }
    }
    let everyone: Vec<i64> = users.iter().map(SignedIn::user_id).collect();
    let tokens = Mutex::new(Vec::new());
    let tally = Mutex::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clients = users
        .iter()
        .enumerate()
        .map(|(n, me)| mix_client(&app, me, &everyone, &tokens, &tally, deadline, n as u64));
    futures_util::future::join_all(clients).await;

    let tally = tally.into_inner().unwrap();
    assert!(tally.server_errors.is_empty(), "{:#?}", tally.server_errors);
    for action in ["gift", "offer", "accept", "link", "claim"] {
        assert!(
            tally.succeeded.get(action).copied().unwrap_or(0) > 0,
            "no {action} went through: {:?}",
            tally.succeeded
        );
    }
    // Conserved: every object minted is still owned by exactly one user, unless deleted.
    let mut live = 0;
    for user in &everyone {
        live += owned_by(&app, *user).await.len();
    }
    assert_eq!(live, minted.len() - tally.deleted);
    for object in &minted {
        let visible = call(
            &app,
            Method::GET,
            &format!("/api/objects/{object}"),
            None,
            None,
        )
        .await;
        if visible.status == 404 {
            continue; // deleted: its history went with it from public view
        }
        let entries = checked_history(&app, *object).await;
        assert_eq!(
            entries.last().unwrap()["to"]["user"]["id"],
            visible.expect(200)["owner"]["id"]
        );
    }
}

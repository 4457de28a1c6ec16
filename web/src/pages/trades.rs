//! Trades: the offers made to me and by me (accept, decline, cancel, counter), and the
//! builder that makes one — objects of mine I give, objects of theirs I ask for. Every offer
//! change reaches this page live.

use gallery_types::{
    CreateOfferRequest, Event, OfferBox, OfferItem, OfferState, Photo, TradeOffer, UserSummary,
};
use serde::{Deserialize, Serialize};
use web_sys::HtmlInputElement;
use yew::{
    Callback, Html, InputEvent, Properties, TargetCast, function_component, html, use_state,
};
use yew_router::hooks::use_location;

use crate::{
    api::{ApiFailure, ownership::OfferAction, photos::FeedQuery},
    components::{PageIntro, PersonPicker, SignInPrompt, Skeleton, person_link},
    hooks::use_load,
    i18n::{I18n, Text, failure_text, use_i18n},
    max_bridge::{self, Haptic},
    realtime::{use_realtime, use_realtime_event},
    session::{Session, use_api, use_session},
};

/// `/trades?to=<user id>&ask=<object id>`: opens the builder for an offer to that user,
/// asking for that object (the "Propose a trade" of a photo page).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TradeQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<i64>,
}

/// What the builder is making.
#[derive(Debug, Clone, PartialEq)]
enum Draft {
    /// A new offer, to `to` once known.
    New {
        to: Option<UserSummary>,
        ask: Vec<i64>,
    },
    /// An answer to `offer`.
    Counter { offer: Box<TradeOffer> },
}

#[function_component(Trades)]
pub fn trades() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let location = use_location();
    let query: TradeQuery = location
        .and_then(|location| location.query::<TradeQuery>().ok())
        .unwrap_or_default();
    let draft = use_state(|| {
        query.to.map(|to| Draft::New {
            to: Some(UserSummary {
                id: to,
                handle: None,
                display_name: String::new(),
            }),
            ask: query.ask.into_iter().collect(),
        })
    });
    let body = match &session.session {
        Session::Loading => html! { <Skeleton /> },
        Session::SignedOut => html! { <SignInPrompt /> },
        Session::SignedIn(signed_in) => {
            let me = signed_in.user.id;
            match &*draft {
                Some(current) => {
                    let on_done = {
                        let draft = draft.clone();
                        Callback::from(move |()| draft.set(None))
                    };
                    html! { <Builder {me} draft={current.clone()} {on_done} /> }
                }
                None => {
                    let on_new = {
                        let draft = draft.clone();
                        move |_| {
                            draft.set(Some(Draft::New {
                                to: None,
                                ask: Vec::new(),
                            }))
                        }
                    };
                    let on_counter = {
                        let draft = draft.clone();
                        Callback::from(move |offer: TradeOffer| {
                            draft.set(Some(Draft::Counter {
                                offer: Box::new(offer),
                            }))
                        })
                    };
                    html! {
                        <>
                            <div class="actions">
                                <button type="button" class="primary" onclick={on_new} data-testid="new-offer">{ i18n.t(Text::NewOffer) }</button>
                            </div>
                            <Inbox {me} {on_counter} />
                        </>
                    }
                }
            }
        }
    };
    html! {
        <section class="page" data-page="trades">
            <PageIntro title={Text::TradesTitle} lead={Text::TradesLead} />
            { body }
        </section>
    }
}

#[derive(Debug, PartialEq, Properties)]
struct InboxProps {
    me: i64,
    on_counter: Callback<TradeOffer>,
}

/// The three boxes of offers, one at a time.
#[function_component(Inbox)]
fn inbox(props: &InboxProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let tab = use_state(|| OfferBox::Incoming);
    let offers = use_state(|| None::<Result<Vec<TradeOffer>, ApiFailure>>);
    // Bumped by every offer event: the box is read again.
    let changes = use_state(|| 0u32);
    {
        let offers = offers.clone();
        use_load(
            (*tab, api.clone(), *changes, realtime.reload_generation),
            |(tab, api, _, _)| {
                let (tab, api) = (*tab, api.clone());
                async move { api.offers(tab, None).await.map(|page| page.items) }
            },
            Callback::from(move |answer| offers.set(Some(answer))),
        );
    }
    {
        let changes = changes.clone();
        use_realtime_event(move |event| {
            if matches!(event, Event::OfferChanged(_)) {
                changes.set(*changes + 1);
            }
        });
    }
    let tab_button = |box_: OfferBox, label: Text, test_id: &'static str| {
        let selected = *tab == box_;
        let tab = tab.clone();
        html! {
            <button type="button" role="tab" aria-selected={selected.to_string()} class={if selected { "primary" } else { "" }}
                onclick={move |_| tab.set(box_)} data-testid={test_id}>
                { i18n.t(label) }
            </button>
        }
    };
    let on_changed = {
        let changes = changes.clone();
        Callback::from(move |()| changes.set(*changes + 1))
    };
    let list = match &*offers {
        None => html! { <Skeleton /> },
        Some(Err(failure)) => {
            html! { <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p> }
        }
        Some(Ok(offers)) if offers.is_empty() => {
            html! { <div class="card muted" data-testid="no-offers">{ i18n.t(Text::NoOffers) }</div> }
        }
        Some(Ok(offers)) => html! {
            <ul class="offers">
                { for offers.iter().map(|offer| html! {
                    <OfferCard key={offer.id} offer={offer.clone()} me={props.me}
                        on_counter={props.on_counter.clone()} on_changed={on_changed.clone()} />
                }) }
            </ul>
        },
    };
    html! {
        <>
            <div class="tabs" role="tablist">
                { tab_button(OfferBox::Incoming, Text::TradesIncoming, "tab-incoming") }
                { tab_button(OfferBox::Outgoing, Text::TradesOutgoing, "tab-outgoing") }
                { tab_button(OfferBox::History, Text::TradesHistory, "tab-history") }
            </div>
            { list }
        </>
    }
}

#[derive(Debug, PartialEq, Properties)]
struct OfferCardProps {
    offer: TradeOffer,
    me: i64,
    on_counter: Callback<TradeOffer>,
    on_changed: Callback<()>,
}

#[function_component(OfferCard)]
fn offer_card(props: &OfferCardProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let error = use_state(|| None::<Text>);
    let offer = &props.offer;
    let incoming = offer.recipient.id == props.me;
    let other = if incoming {
        &offer.proposer
    } else {
        &offer.recipient
    };
    // From the viewer's side: what they would give and get.
    let (give, get) = if incoming {
        (&offer.ask, &offer.give)
    } else {
        (&offer.give, &offer.ask)
    };
    let act = |action: OfferAction| {
        let (api, error, on_changed, id) = (
            api.clone(),
            error.clone(),
            props.on_changed.clone(),
            offer.id,
        );
        move |_| {
            let (api, error, on_changed) = (api.clone(), error.clone(), on_changed.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let keep_open = max_bridge::KeepOpen::new();
                let acted = api.act_on_offer(id, action).await;
                drop(keep_open);
                match acted {
                    Ok(_) => {
                        max_bridge::haptic(Haptic::Success);
                        on_changed.emit(());
                    }
                    Err(failure) => {
                        max_bridge::haptic(Haptic::Error);
                        error.set(Some(failure_text(&failure)));
                    }
                }
            });
        }
    };
    let on_counter = {
        let (on_counter, offer) = (props.on_counter.clone(), offer.clone());
        move |_| on_counter.emit(offer.clone())
    };
    let pending = offer.state == OfferState::Pending;
    html! {
        <li class="card offer" data-testid="offer" data-offer-id={offer.id.to_string()} data-state={offer.state.as_str()}>
            <p>
                <strong>{ if incoming { i18n.t(Text::OfferFrom) } else { i18n.t(Text::OfferTo) } }{ " " }{ person_link(other) }</strong>
                <span class="badge">{ i18n.t(state_text(offer.state)) }</span>
            </p>
            <div class="offer-sides">
                { items(&i18n, Text::YouGive, give) }
                { items(&i18n, Text::YouGet, get) }
            </div>
            if !offer.message.is_empty() {
                <p class="muted">{ format!("“{}”", offer.message) }</p>
            }
            <p class="muted small">{ i18n.t(Text::OfferExpires) }{ ": " }{ crate::i18n::moment(offer.expires_at) }</p>
            if pending {
                <div class="actions">
                    if incoming {
                        <button type="button" class="primary" onclick={act(OfferAction::Accept)} data-testid="accept-offer">{ i18n.t(Text::Accept) }</button>
                        <button type="button" onclick={act(OfferAction::Decline)} data-testid="decline-offer">{ i18n.t(Text::Decline) }</button>
                    } else {
                        <button type="button" onclick={act(OfferAction::Cancel)} data-testid="cancel-offer">{ i18n.t(Text::CancelOffer) }</button>
                    }
                    <button type="button" onclick={on_counter} data-testid="counter-offer">{ i18n.t(Text::Counter) }</button>
                </div>
            }
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
        </li>
    }
}

fn state_text(state: OfferState) -> Text {
    match state {
        OfferState::Pending => Text::OfferPending,
        OfferState::Accepted => Text::OfferAccepted,
        OfferState::Declined => Text::OfferDeclined,
        OfferState::Cancelled => Text::OfferCancelled,
        OfferState::Countered => Text::OfferCountered,
        OfferState::Expired => Text::OfferExpired,
        OfferState::Invalidated => Text::OfferInvalidated,
    }
}

/// One side of an offer.
fn items(i18n: &I18n, title: Text, items: &[OfferItem]) -> Html {
    html! {
        <div>
            <h4>{ i18n.t(title) }</h4>
            if items.is_empty() {
                <p class="muted">{ "—" }</p>
            } else {
                <ul class="thumbs">
                    { for items.iter().map(|item| html! {
                        <li key={item.object_id}>
                            if let Some(thumbnail) = &item.thumbnail {
                                <img src={thumbnail.clone()} alt={item.title.clone()} title={item.title.clone()} />
                            } else {
                                <span class="thumb-gone" title={item.title.clone()}>{ i18n.t(Text::HistoryDelete) }</span>
                            }
                        </li>
                    }) }
                </ul>
            }
        </div>
    }
}

#[derive(Debug, PartialEq, Properties)]
struct BuilderProps {
    me: i64,
    draft: Draft,
    on_done: Callback<()>,
}

/// Making an offer: the other person, then objects from both collections.
#[function_component(Builder)]
fn builder(props: &BuilderProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let (initial_to, initial_give, initial_ask, counter_of) = match &props.draft {
        Draft::New { to, ask } => (to.clone(), Vec::new(), ask.clone(), None),
        // A counter starts from the offer turned around: what they asked, I may give.
        Draft::Counter { offer } => {
            let incoming = offer.recipient.id == props.me;
            let ids = |items: &[OfferItem]| items.iter().map(|item| item.object_id).collect();
            let (other, give, ask) = if incoming {
                (offer.proposer.clone(), ids(&offer.ask), ids(&offer.give))
            } else {
                (offer.recipient.clone(), ids(&offer.give), ids(&offer.ask))
            };
            (Some(other), give, ask, Some(offer.id))
        }
    };
    let to = use_state(|| initial_to);
    let give = use_state(|| initial_give);
    let ask = use_state(|| initial_ask);
    let message = use_state(String::new);
    let error = use_state(|| None::<Text>);

    let on_pick = {
        let to = to.clone();
        Callback::from(move |person: UserSummary| to.set(Some(person)))
    };
    let toggle = |state: &yew::UseStateHandle<Vec<i64>>| {
        let state = state.clone();
        Callback::from(move |object_id: i64| {
            let mut chosen = (*state).clone();
            if let Some(at) = chosen.iter().position(|id| *id == object_id) {
                chosen.remove(at);
            } else {
                chosen.push(object_id);
            }
            state.set(chosen);
        })
    };
    let on_message = {
        let message = message.clone();
        move |event: InputEvent| {
            message.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };
    let on_send = {
        let (api, to, give, ask, message, error, on_done) = (
            api.clone(),
            to.clone(),
            give.clone(),
            ask.clone(),
            message.clone(),
            error.clone(),
            props.on_done.clone(),
        );
        move |_| {
            let Some(recipient) = (*to).clone() else {
                return;
            };
            let request = CreateOfferRequest {
                recipient_id: recipient.id,
                give: (*give).clone(),
                ask: (*ask).clone(),
                message: Some((*message).clone())
                    .filter(|message| !message.trim().is_empty())
                    .map(Into::into),
                expires_in_hours: None,
            };
            let (api, error, on_done) = (api.clone(), error.clone(), on_done.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let keep_open = max_bridge::KeepOpen::new();
                let sent = match counter_of {
                    Some(id) => api.counter_offer(id, &request).await,
                    None => api.make_offer(&request).await,
                };
                drop(keep_open);
                match sent {
                    Ok(_) => {
                        max_bridge::haptic(Haptic::Success);
                        on_done.emit(());
                    }
                    Err(failure) => {
                        max_bridge::haptic(Haptic::Error);
                        error.set(Some(failure_text(&failure)));
                    }
                }
            });
        }
    };
    let on_cancel = {
        let on_done = props.on_done.clone();
        move |_| on_done.emit(())
    };
    html! {
        <div class="card builder" data-testid="offer-builder">
            <h3>{ i18n.t(if counter_of.is_some() { Text::Counter } else { Text::NewOffer }) }</h3>
            { match &*to {
                None => html! { <PersonPicker {on_pick} /> },
                Some(other) => html! {
                    <>
                        <Collection title={Text::YouGive} owner={props.me} chosen={(*give).clone()} on_toggle={toggle(&give)} test_id="my-objects" />
                        <Collection title={Text::YouGet} owner={other.id} chosen={(*ask).clone()} on_toggle={toggle(&ask)} test_id="their-objects" />
                        <label>
                            { i18n.t(Text::GiftMessage) }
                            <input type="text" value={(*message).clone()} oninput={on_message} maxlength="500" />
                        </label>
                        <div class="actions">
                            <button type="button" class="primary" onclick={on_send} data-testid="send-offer"
                                disabled={give.is_empty() && ask.is_empty()}>{ i18n.t(Text::SendOffer) }</button>
                            <button type="button" onclick={on_cancel.clone()}>{ i18n.t(Text::Cancel) }</button>
                        </div>
                    </>
                },
            } }
            if to.is_none() {
                <div class="actions"><button type="button" onclick={on_cancel}>{ i18n.t(Text::Cancel) }</button></div>
            }
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
        </div>
    }
}

#[derive(Debug, PartialEq, Properties)]
struct CollectionProps {
    title: Text,
    owner: i64,
    chosen: Vec<i64>,
    on_toggle: Callback<i64>,
    test_id: &'static str,
}

/// Someone's objects to pick from.
#[function_component(Collection)]
fn collection(props: &CollectionProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let photos = use_state(|| None::<Result<Vec<Photo>, ApiFailure>>);
    {
        let photos = photos.clone();
        use_load(
            (props.owner, api.clone()),
            |(owner, api)| {
                let query = FeedQuery {
                    owner: Some(*owner),
                    ..FeedQuery::default()
                };
                let api = api.clone();
                async move { api.feed(&query, None).await.map(|page| page.items) }
            },
            Callback::from(move |answer| photos.set(Some(answer))),
        );
    }
    let owner_name = match &*photos {
        Some(Ok(photos)) => photos.first().map(|photo| photo.owner.display_name.clone()),
        _ => None,
    };
    html! {
        <div data-testid={props.test_id}>
            <h4>{ i18n.t(props.title) }{ owner_name.map(|name| format!(" · {name}")).unwrap_or_default() }</h4>
            { match &*photos {
                None => html! { <Skeleton /> },
                Some(Err(failure)) => html! { <p class="error">{ i18n.t(failure_text(failure)) }</p> },
                Some(Ok(photos)) if photos.is_empty() => html! { <p class="muted">{ "—" }</p> },
                Some(Ok(photos)) => html! {
                    <ul class="thumbs pickable">
                        { for photos.iter().map(|photo| {
                            let chosen = props.chosen.contains(&photo.object_id);
                            let (on_toggle, object_id) = (props.on_toggle.clone(), photo.object_id);
                            html! {
                                <li key={photo.object_id}>
                                    <button type="button" class={if chosen { "chosen" } else { "" }} aria-pressed={chosen.to_string()}
                                        onclick={move |_| on_toggle.emit(object_id)} data-testid="pick-object" data-object-id={object_id.to_string()}>
                                        <img src={photo.urls.thumbnail.clone()} alt={photo.title.clone()} title={photo.title.clone()} />
                                    </button>
                                </li>
                            }
                        }) }
                    </ul>
                },
            } }
        </div>
    }
}

//! An object's ownership history as a timeline, with whether its hash chain verifies. It
//! reads again whenever the object changes hands.

use gallery_types::{
    Event, HistoryEntry, HistoryKind, HistoryParty, HistoryVerification, ObjectHistory,
};
use yew::{Callback, Html, Properties, function_component, html, use_state};

use super::person_link;
use crate::{
    api::ApiFailure,
    components::Skeleton,
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    realtime::{use_realtime, use_realtime_event},
    session::use_api,
};

#[derive(Debug, PartialEq, Properties)]
pub struct HistoryTimelineProps {
    pub object_id: i64,
}

/// What the timeline loaded.
type Loaded = Result<(ObjectHistory, HistoryVerification), ApiFailure>;

#[function_component(HistoryTimeline)]
pub fn history_timeline(props: &HistoryTimelineProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let loaded = use_state(|| None::<Loaded>);
    // Bumped when the object changes hands: the history is read again.
    let changes = use_state(|| 0u32);
    {
        let loaded = loaded.clone();
        use_load(
            (
                props.object_id,
                api.clone(),
                *changes,
                realtime.reload_generation,
            ),
            |(id, api, _, _)| {
                let (id, api) = (*id, api.clone());
                async move {
                    let history = api.history(id).await?;
                    let verification = api.verify_history(id).await?;
                    Ok((history, verification))
                }
            },
            Callback::from(move |answer| loaded.set(Some(answer))),
        );
    }
    {
        let (changes, object_id) = (changes.clone(), props.object_id);
        use_realtime_event(move |event| {
            if let Event::ObjectTransferred(transferred) = event
                && transferred.object_id == object_id
            {
                changes.set(*changes + 1);
            }
        });
    }

    let body = match &*loaded {
        None => html! { <Skeleton /> },
        Some(Err(failure)) => {
            html! { <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p> }
        }
        Some(Ok((history, verification))) => {
            let name = |party: &Option<HistoryParty>| match party {
                Some(HistoryParty { user: Some(user) }) => person_link(user),
                Some(HistoryParty { user: None }) => html! { i18n.t(Text::PrivateCollector) },
                None => Html::default(),
            };
            let step = |entry: &HistoryEntry| -> Html {
                let (from, to) = (name(&entry.from), name(&entry.to));
                match entry.kind {
                    HistoryKind::Mint => {
                        html! { <>{ i18n.t(Text::HistoryMint) }{ " · " }{ to }</> }
                    }
                    HistoryKind::Delete => {
                        html! { <>{ i18n.t(Text::HistoryDelete) }{ " · " }{ from }</> }
                    }
                    kind => {
                        let label = match kind {
                            HistoryKind::Gift => Text::HistoryGift,
                            HistoryKind::Claim => Text::HistoryClaim,
                            _ => Text::HistoryTrade,
                        };
                        html! { <>{ i18n.t(label) }{ " · " }{ from }{ " → " }{ to }</> }
                    }
                }
            };
            let badge = if verification.valid {
                html! {
                    <p class="ok" data-testid="chain-verified">
                        { format!("✓ {} · {}", i18n.t(Text::ChainVerified), verification.entries) }
                    </p>
                }
            } else {
                html! {
                    <p class="error" role="alert" data-testid="chain-broken">
                        { format!("✗ {} #{}", i18n.t(Text::ChainBroken), verification.broken_at.unwrap_or_default()) }
                    </p>
                }
            };
            html! {
                <>
                    { badge }
                    <ol class="timeline" data-testid="history">
                        { for history.entries.iter().map(|entry| html! {
                            <li key={entry.position} data-kind={entry.kind.as_str()}>
                                <span>{ step(entry) }</span>
                                <span class="muted small">
                                    { crate::i18n::moment(entry.at) }{" · "}
                                    <code title={entry.hash.clone()}>{ &entry.hash[..12.min(entry.hash.len())] }</code>
                                </span>
                            </li>
                        }) }
                    </ol>
                </>
            }
        }
    };
    html! {
        <div class="card" data-testid="history-card">
            <h3>{ i18n.t(Text::HistoryTitle) }</h3>
            { body }
        </div>
    }
}

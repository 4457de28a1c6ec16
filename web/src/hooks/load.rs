//! Loading what a component shows, without ever showing a stale answer.

use std::{cell::Cell, future::Future, rc::Rc};

use gloo_timers::future::TimeoutFuture;
use yew::{Callback, hook, use_effect_with};

/// Runs `load(&deps)` when the component mounts and whenever `deps` change, and hands the
/// answer to `done` — unless `deps` changed again, or the component went away, before the
/// answer came: then it is dropped. (Typing "sunset" quickly can never end on the results for
/// "sun" that happened to arrive last.)
#[hook]
pub fn use_load<D, T, L, F>(deps: D, load: L, done: Callback<T>)
where
    D: PartialEq + 'static,
    T: 'static,
    L: FnOnce(&D) -> F + 'static,
    F: Future<Output = T> + 'static,
{
    use_load_after(0, deps, load, done);
}

/// [`use_load`], starting only once `deps` have stayed the same for `delay_ms` (a search box
/// asks after the typing pauses, not at every key).
#[hook]
pub fn use_load_after<D, T, L, F>(delay_ms: u32, deps: D, load: L, done: Callback<T>)
where
    D: PartialEq + 'static,
    T: 'static,
    L: FnOnce(&D) -> F + 'static,
    F: Future<Output = T> + 'static,
{
    use_effect_with(deps, move |deps| {
        let current = Rc::new(Cell::new(true));
        let still_current = current.clone();
        let answer = load(deps);
        wasm_bindgen_futures::spawn_local(async move {
            if delay_ms > 0 {
                TimeoutFuture::new(delay_ms).await;
                if !still_current.get() {
                    return;
                }
            }
            let value = answer.await;
            if still_current.get() {
                done.emit(value);
            }
        });
        move || current.set(false)
    });
}

//! The QR scanner: reads a code of the gallery (a claim link, an object's provenance, a
//! sign-in request, a profile) and opens its page. Inside Max it is Max's own code reader;
//! in a browser, the camera, read by the browser's `BarcodeDetector` where there is one and
//! otherwise by a QR decoder compiled to WebAssembly, in a worker. A link can be pasted too.

use std::{cell::Cell, rc::Rc};

use gloo_timers::future::TimeoutFuture;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlInputElement, HtmlVideoElement, MediaStream,
    MediaStreamConstraints, MessageEvent, SubmitEvent, Worker,
};
use yew::{
    Callback, Html, InputEvent, Properties, TargetCast, function_component, html, use_effect_with,
    use_node_ref, use_state,
};
use yew_router::hooks::use_navigator;

use crate::{
    components::PageIntro,
    i18n::{Text, use_i18n},
    max_bridge::{self, Haptic},
    route::Route,
};

/// How often a camera frame is looked at.
const FRAME_EVERY_MS: u32 = 250;

#[function_component(Scanner)]
pub fn scanner() -> Html {
    let i18n = use_i18n();
    let navigator = use_navigator();
    let pasted = use_state(String::new);
    let camera_on = use_state(|| false);
    let unknown = use_state(|| false);

    // Whatever was read or pasted: the page it opens, or a word that it is no code of ours.
    let open = {
        let (navigator, unknown, camera_on) =
            (navigator.clone(), unknown.clone(), camera_on.clone());
        Callback::from(move |text: String| match Route::from_shared_link(&text) {
            Some(route) => {
                max_bridge::haptic(Haptic::Success);
                camera_on.set(false);
                if let Some(navigator) = &navigator {
                    navigator.push(&route);
                }
            }
            None => {
                max_bridge::haptic(Haptic::Error);
                unknown.set(true);
            }
        })
    };
    let on_max_reader = {
        let open = open.clone();
        move |_| {
            let open = open.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(text) = max_bridge::read_code().await {
                    open.emit(text);
                }
            });
        }
    };
    let on_paste_input = {
        let (pasted, unknown) = (pasted.clone(), unknown.clone());
        move |event: InputEvent| {
            unknown.set(false);
            pasted.set(event.target_unchecked_into::<HtmlInputElement>().value());
        }
    };
    let on_paste_submit = {
        let (pasted, open) = (pasted.clone(), open.clone());
        move |event: SubmitEvent| {
            event.prevent_default();
            open.emit((*pasted).clone());
        }
    };
    let reader = if max_bridge::inside_max() {
        html! {
            <button type="button" class="primary" onclick={on_max_reader} data-testid="scan">{ i18n.t(Text::ScanButton) }</button>
        }
    } else if *camera_on {
        html! { <CameraScanner on_read={open.clone()} /> }
    } else {
        let camera_on = camera_on.clone();
        html! {
            <button type="button" class="primary" onclick={move |_| camera_on.set(true)} data-testid="scan-camera">{ i18n.t(Text::ScanCamera) }</button>
        }
    };
    html! {
        <section class="page" data-page="scan">
            <PageIntro title={Text::ScanTitle} lead={Text::ScanLead} />
            <div class="card">
                { reader }
            </div>
            <form class="card" onsubmit={on_paste_submit} data-testid="paste-link">
                <label>
                    { i18n.t(Text::ScanPaste) }
                    <input type="url" value={(*pasted).clone()} oninput={on_paste_input} maxlength="400" />
                </label>
                <button type="submit">{ i18n.t(Text::ScanOpen) }</button>
            </form>
            if *unknown {
                <p class="error" role="alert" data-testid="scan-unknown">{ i18n.t(Text::ScanUnknown) }</p>
            }
        </section>
    }
}

#[derive(Debug, PartialEq, Properties)]
struct CameraScannerProps {
    on_read: Callback<String>,
}

/// The camera's picture, looked at a few times a second until a code is read.
#[function_component(CameraScanner)]
fn camera_scanner(props: &CameraScannerProps) -> Html {
    let i18n = use_i18n();
    let video = use_node_ref();
    let canvas = use_node_ref();
    let failed = use_state(|| false);
    {
        let (video, canvas, failed, on_read) = (
            video.clone(),
            canvas.clone(),
            failed.clone(),
            props.on_read.clone(),
        );
        use_effect_with((), move |()| {
            let running = Rc::new(Cell::new(true));
            let stream = Rc::new(std::cell::RefCell::new(None::<MediaStream>));
            {
                let (running, stream) = (running.clone(), stream.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let Some(started) = start_camera().await else {
                        failed.set(true);
                        return;
                    };
                    let Some(element) = video.cast::<HtmlVideoElement>() else {
                        stop(&started);
                        return;
                    };
                    element.set_src_object(Some(&started));
                    let decoder = Decoder::start();
                    // Autoplay of a muted inline video needs no gesture; a refusal shows as
                    // frames that never come.
                    let _ = element.play();
                    *stream.borrow_mut() = Some(started);
                    while running.get() {
                        TimeoutFuture::new(FRAME_EVERY_MS).await;
                        if !running.get() {
                            break;
                        }
                        if let Some(text) = read_frame(&element, &canvas, &decoder).await {
                            running.set(false);
                            on_read.emit(text);
                        }
                    }
                });
            }
            move || {
                running.set(false);
                if let Some(stream) = stream.borrow_mut().take() {
                    stop(&stream);
                }
            }
        });
    }
    html! {
        <div class="camera" data-testid="camera">
            if *failed {
                <p class="error" role="alert">{ i18n.t(Text::ScanNoCamera) }</p>
            } else {
                <video ref={video} playsinline=true muted=true aria-label={i18n.t(Text::ScanCamera)} />
            }
            <canvas ref={canvas} hidden=true />
        </div>
    }
}

/// The back camera's stream, if the browser has one and the person allows it.
async fn start_camera() -> Option<MediaStream> {
    let devices = web_sys::window()?.navigator().media_devices().ok()?;
    let video = js_sys::Object::new();
    Reflect::set(&video, &"facingMode".into(), &"environment".into()).ok()?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&video);
    constraints.set_audio(&JsValue::FALSE);
    let pending = devices.get_user_media_with_constraints(&constraints).ok()?;
    JsFuture::from(pending).await.ok()?.dyn_into().ok()
}

fn stop(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// The code in the camera's current frame, if one can be read.
async fn read_frame(
    video: &HtmlVideoElement,
    canvas: &yew::NodeRef,
    decoder: &Decoder,
) -> Option<String> {
    let (width, height) = (video.video_width(), video.video_height());
    if width == 0 || height == 0 {
        return None;
    }
    let canvas = canvas.cast::<HtmlCanvasElement>()?;
    canvas.set_width(width);
    canvas.set_height(height);
    let context = canvas
        .get_context("2d")
        .ok()??
        .dyn_into::<CanvasRenderingContext2d>()
        .ok()?;
    context
        .draw_image_with_html_video_element(video, 0.0, 0.0)
        .ok()?;
    if let Some(text) = detect_with_browser(&canvas).await {
        return Some(text);
    }
    let pixels = context
        .get_image_data(0.0, 0.0, f64::from(width), f64::from(height))
        .ok()?
        .data();
    let luma: Vec<u8> = pixels
        .chunks_exact(4)
        .map(|rgba| {
            ((u16::from(rgba[0]) * 3 + u16::from(rgba[1]) * 6 + u16::from(rgba[2])) / 10) as u8
        })
        .collect();
    decoder.decode(width, height, &luma).await
}

/// The QR decoder compiled to WebAssembly, in a worker of its own (`src/bin/scanner_worker.rs`):
/// loaded only when a browser without `BarcodeDetector` scans, and decoding off the page's
/// thread.
struct Decoder {
    worker: Option<Worker>,
    /// Settles when the worker listens (its first message), or fails to load.
    ready: Option<js_sys::Promise>,
}

impl Decoder {
    /// Where trunk puts the worker's loader (workers keep their binary's name, unhashed).
    const LOADER: &'static str = "/scanner_worker_loader.js";

    fn start() -> Self {
        let worker = Worker::new(Self::LOADER).ok();
        let ready = worker.as_ref().map(next_message);
        Self { worker, ready }
    }

    /// The text of the code in a greyscale picture (`width` × `height`, a byte a pixel).
    async fn decode(&self, width: u32, height: u32, luma: &[u8]) -> Option<String> {
        let worker = self.worker.as_ref()?;
        // A frame sent before the worker listens would be lost, and its answer never come.
        JsFuture::from(self.ready.clone()?).await.ok()?;
        let request = js_sys::Object::new();
        Reflect::set(&request, &"width".into(), &width.into()).ok()?;
        Reflect::set(&request, &"height".into(), &height.into()).ok()?;
        Reflect::set(&request, &"luma".into(), &js_sys::Uint8Array::from(luma)).ok()?;
        // One question at a time: the answer is the next message.
        let answer = next_message(worker);
        worker.post_message(&request).ok()?;
        let message: MessageEvent = JsFuture::from(answer).await.ok()?.dyn_into().ok()?;
        message.data().as_string()
    }
}

/// The worker's next message; fails if the worker cannot run.
fn next_message(worker: &Worker) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, reject| {
        worker.set_onmessage(Some(&resolve));
        worker.set_onerror(Some(&reject));
    })
}

impl Drop for Decoder {
    fn drop(&mut self) {
        if let Some(worker) = &self.worker {
            worker.terminate();
        }
    }
}

/// The browser's own `BarcodeDetector`, where it has one; `None` when it has none or finds
/// no code.
async fn detect_with_browser(canvas: &HtmlCanvasElement) -> Option<String> {
    let window = web_sys::window()?;
    let detector_class = Reflect::get(&window, &"BarcodeDetector".into()).ok()?;
    let detector_class = detector_class.dyn_ref::<js_sys::Function>()?;
    let options = js_sys::Object::new();
    let formats = js_sys::Array::of1(&"qr_code".into());
    Reflect::set(&options, &"formats".into(), &formats).ok()?;
    let detector = Reflect::construct(detector_class, &js_sys::Array::of1(&options)).ok()?;
    let detect = Reflect::get(&detector, &"detect".into()).ok()?;
    let promise = detect
        .dyn_ref::<js_sys::Function>()?
        .call1(&detector, canvas)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let found: js_sys::Array = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    Reflect::get(&found.get(0), &"rawValue".into())
        .ok()?
        .as_string()
}

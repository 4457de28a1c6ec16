//! The scanner's QR decoder, a web worker of its own: it first says `true` once it listens
//! (whatever the page sends before that is lost), then the page sends it greyscale camera
//! frames (`{width, height, luma}`) and it answers each with the text of the code in it, or
//! null. Its
//! own WebAssembly file is loaded only when a browser without `BarcodeDetector` scans, so the
//! app's first download does not carry it.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

fn main() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let replies = scope.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |message: MessageEvent| {
        let text = frame_of(&message.data())
            .and_then(|(width, height, luma)| decode_qr(width, height, &luma));
        // The page is gone when this fails; so is any use for the answer.
        let _ = replies.post_message(&text.map_or(JsValue::NULL, JsValue::from));
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the handler: for good.
    on_message.forget();
    let _ = scope.post_message(&JsValue::TRUE);
}

/// The frame a message holds, if it is one.
fn frame_of(data: &JsValue) -> Option<(usize, usize, Vec<u8>)> {
    let number = |name: &str| Reflect::get(data, &name.into()).ok()?.as_f64();
    let (width, height) = (number("width")? as usize, number("height")? as usize);
    let luma: js_sys::Uint8Array = Reflect::get(data, &"luma".into()).ok()?.dyn_into().ok()?;
    let luma = luma.to_vec();
    (luma.len() == width * height).then_some((width, height, luma))
}

/// The text of a QR code in a greyscale picture (`width` × `height`, one byte a pixel).
fn decode_qr(width: usize, height: usize, luma: &[u8]) -> Option<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_code_reads_back() {
        let link = "https://max.ru/gallery_bot?startapp=claim_AbC-d_9";
        let code = qrcode::QrCode::new(link.as_bytes()).unwrap();
        // Four pixels a module, four modules of quiet zone around.
        let (modules, scale, quiet) = (code.width(), 4, 4);
        let side = (modules + 2 * quiet) * scale;
        let colors = code.to_colors();
        let mut luma = vec![255u8; side * side];
        for (index, color) in colors.iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let (column, row) = (index % modules + quiet, index / modules + quiet);
                for y in row * scale..(row + 1) * scale {
                    for x in column * scale..(column + 1) * scale {
                        luma[y * side + x] = 0;
                    }
                }
            }
        }
        assert_eq!(decode_qr(side, side, &luma).as_deref(), Some(link));
        assert_eq!(decode_qr(side, side, &vec![255; side * side]), None);
    }
}

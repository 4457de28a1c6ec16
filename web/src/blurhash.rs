//! Decoding a BlurHash (the server's placeholder of each photo) into RGBA pixels, written for
//! this client: in the browser its cosines and powers come from JavaScript's `Math`, so the
//! WebAssembly carries no floating-point library for them (a few KB on every phone's first
//! download).
//!
//! The format (<https://github.com/woltapp/blurhash>): base 83 digits; the first holds the
//! number of components across and down, the second the largest AC value, the next four the
//! average colour (sRGB), then two per AC component, each channel a signed power of 2.

const DIGITS: &[u8; 83] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

#[cfg(target_arch = "wasm32")]
fn cos(x: f64) -> f64 {
    js_sys::Math::cos(x)
}

#[cfg(not(target_arch = "wasm32"))]
fn cos(x: f64) -> f64 {
    x.cos()
}

#[cfg(target_arch = "wasm32")]
fn pow(x: f64, y: f64) -> f64 {
    js_sys::Math::pow(x, y)
}

#[cfg(not(target_arch = "wasm32"))]
fn pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// The value of base 83 digits.
fn base83(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, digit| {
        let index = DIGITS.iter().position(|known| known == digit)?;
        Some(value * 83 + index as u32)
    })
}

fn srgb_to_linear(value: u32) -> f64 {
    let v = f64::from(value) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        pow((v + 0.055) / 1.055, 2.4)
    }
}

fn linear_to_srgb(value: f64) -> u8 {
    let v = value.clamp(0.0, 1.0);
    let srgb = if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * pow(v, 1.0 / 2.4) - 0.055
    };
    (srgb * 255.0 + 0.5) as u8
}

/// `sign(value) * |value|^exponent`.
fn signed_pow(value: f64, exponent: f64) -> f64 {
    pow(value.abs(), exponent).copysign(value)
}

/// The RGBA pixels (`width * height * 4` bytes) of `hash`, or `None` if it is not a BlurHash.
pub fn decode(hash: &str, width: u32, height: u32) -> Option<Vec<u8>> {
    let bytes = hash.as_bytes();
    let size = base83(bytes.get(..1)?)?;
    let (across, down) = (size % 9 + 1, size / 9 + 1);
    let components = (across * down) as usize;
    if bytes.len() != 4 + 2 * components {
        return None;
    }
    let max_value = f64::from(base83(&bytes[1..2])? + 1) / 166.0;

    let mut colors = Vec::with_capacity(components);
    let average = base83(&bytes[2..6])?;
    colors.push([
        srgb_to_linear(average >> 16),
        srgb_to_linear((average >> 8) & 255),
        srgb_to_linear(average & 255),
    ]);
    for index in 1..components {
        let value = base83(&bytes[4 + 2 * index..6 + 2 * index])?;
        let channel =
            |quantised: u32| signed_pow((f64::from(quantised) - 9.0) / 9.0, 2.0) * max_value;
        colors.push([
            channel(value / (19 * 19)),
            channel((value / 19) % 19),
            channel(value % 19),
        ]);
    }

    // cos(π·i·x/width) for every component i and column x; likewise down.
    let basis = |count: u32, length: u32| -> Vec<f64> {
        (0..count)
            .flat_map(|i| {
                (0..length).map(move |x| {
                    cos(std::f64::consts::PI * f64::from(i) * f64::from(x) / f64::from(length))
                })
            })
            .collect()
    };
    let (basis_x, basis_y) = (basis(across, width), basis(down, height));

    let mut pixels = Vec::with_capacity((width * height * 4) as usize);
    for y in 0..height {
        for x in 0..width {
            let mut rgb = [0.0; 3];
            for j in 0..down {
                for i in 0..across {
                    let weight =
                        basis_x[(i * width + x) as usize] * basis_y[(j * height + y) as usize];
                    let color = colors[(j * across + i) as usize];
                    for (sum, channel) in rgb.iter_mut().zip(color) {
                        *sum += channel * weight;
                    }
                }
            }
            pixels.extend(rgb.map(linear_to_srgb));
            pixels.push(255);
        }
    }
    Some(pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_decoder() {
        for hash in [
            "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            "LGF5]+Yk^6#M@-5c,1J5@[or[Q6.",
            "L6PZfSi_.AyE_3t7t7R**0o#DgR4",
            "KJG8_@Dgx]_4V?xuyE%NRj",
        ] {
            let ours = decode(hash, 32, 32).expect("a valid hash");
            let reference = ::blurhash::decode(hash, 32, 32, 1.0).expect("a valid hash");
            assert_eq!(ours.len(), reference.len(), "{hash}");
            for (index, (a, b)) in ours.iter().zip(&reference).enumerate() {
                assert!(a.abs_diff(*b) <= 2, "{hash}: byte {index} is {a}, not {b}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_blurhash() {
        assert_eq!(decode("", 4, 4), None);
        assert_eq!(decode("LEHV6nWB2yk8", 4, 4), None);
        assert_eq!(decode("LEHV6nWB2yk8pyo0adR*.7kCMdn ", 4, 4), None);
    }
}

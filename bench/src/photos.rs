//! Test photos: JPEGs like a phone camera's (smooth light, edges, fine texture and sensor
//! noise, so they compress like real photos rather than flat colour), each different.

use std::path::Path;

use anyhow::Context;
use image::{Rgb, RgbImage, codecs::jpeg::JpegEncoder};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Writes `count` photos of `width`×`height` into `folder` as `photo-<n>.jpg`.
pub fn write(folder: &Path, count: usize, width: u32, height: u32) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder)?;
    for n in 0..count {
        let image = photo(n as u64, width, height);
        let path = folder.join(format!("photo-{n:03}.jpg"));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        JpegEncoder::new_with_quality(file, 90)
            .encode_image(&image)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn photo(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut random = StdRng::seed_from_u64(seed);
    let hue: [f32; 3] = [random.r#gen(), random.r#gen(), random.r#gen()];
    let circles: Vec<(f32, f32, f32, [f32; 3])> = (0..24)
        .map(|_| {
            (
                random.gen_range(0.0..width as f32),
                random.gen_range(0.0..height as f32),
                random.gen_range(20.0..width as f32 / 5.0),
                [random.r#gen(), random.r#gen(), random.r#gen()],
            )
        })
        .collect();
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let mut pixel = [0f32; 3];
        for (channel, value) in pixel.iter_mut().enumerate() {
            *value = 255.0 * (0.25 + 0.5 * hue[channel] * (1.0 - fy) + 0.2 * fx);
        }
        for (cx, cy, radius, colour) in &circles {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            if dx * dx + dy * dy < radius * radius {
                for (channel, value) in pixel.iter_mut().enumerate() {
                    *value = 0.6 * *value + 0.4 * 255.0 * colour[channel];
                }
            }
        }
        // Texture (a fabric-like weave) and noise.
        let weave = 12.0 * ((x as f32 * 0.9).sin() * (y as f32 * 0.7).cos());
        Rgb(pixel
            .map(|value| (value + weave + random.gen_range(-10.0..10.0)).clamp(0.0, 255.0) as u8))
    })
}

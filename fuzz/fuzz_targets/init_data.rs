//! initData as a stranger may post it to `POST /api/auth/max`: parsing and validation never
//! panic, and never accept what the bot token did not sign.
#![no_main]

use gallery::auth::init_data;
use libfuzzer_sys::fuzz_target;

const BOT_TOKEN: &str = "123456:fuzzing-bot-token";

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    // Anything at all: refused or accepted, never a panic.
    let _ = init_data::validate(text, BOT_TOKEN, 1_700_000_000, 86_400);

    // The same fields, signed: accepted; with one byte of the signed text changed: refused.
    let fields: Vec<(String, String)> = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| !key.is_empty() && *key != "hash" && *key != "auth_date")
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let mut borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    borrowed.push(("auth_date", "1700000000"));
    let signed = init_data::sign(&borrowed, BOT_TOKEN);
    if let Ok(valid) = init_data::validate(&signed, BOT_TOKEN, 1_700_000_000, 86_400) {
        assert_eq!(valid.auth_date, 1_700_000_000);
        assert!(
            init_data::validate(&signed, "123456:another-bot-token", 1_700_000_000, 86_400)
                .is_err(),
            "accepted with another bot's token"
        );
    }
});

//! What a client may send on its socket: any text is read as a `ClientMessage` or refused,
//! and what is read writes back to the same message.
#![no_main]

use gallery_types::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(message) = serde_json::from_slice::<ClientMessage>(input) {
        let written = serde_json::to_string(&message).expect("a message writes");
        let again: ClientMessage = serde_json::from_str(&written).expect("what was written reads");
        assert_eq!(
            serde_json::to_string(&again).expect("a message writes"),
            written
        );
    }
});

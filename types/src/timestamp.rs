//! How a moment is written in JSON: RFC 3339 with `+00:00`, as poem-openapi writes a
//! `DateTime<Utc>` in HTTP answers. serde's own form for chrono (`Z`) would make an event, a
//! page serialized ahead of time and an answer about the same thing carry different text.
//! Every `DateTime<Utc>` field of the contract names one of these as its `serialize_with`;
//! reading accepts either form.

use chrono::{DateTime, Utc};
use serde::Serializer;

/// A moment, as HTTP answers write it.
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}

/// A moment or null, as HTTP answers write it.
pub fn rfc3339_or_null<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Moments {
        #[serde(serialize_with = "rfc3339")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "rfc3339_or_null")]
        maybe: Option<DateTime<Utc>>,
        #[serde(serialize_with = "rfc3339_or_null")]
        never: Option<DateTime<Utc>>,
    }

    #[test]
    fn moments_are_written_with_an_offset_and_only_the_digits_they_need() {
        let whole = Utc.with_ymd_and_hms(2026, 12, 2, 22, 57, 10).unwrap();
        let moments = Moments {
            at: whole,
            maybe: Some(whole + chrono::Duration::microseconds(123_450)),
            never: None,
        };
        assert_eq!(
            serde_json::to_string(&moments).unwrap(),
            r#"{"at":"2026-12-02T22:57:10+00:00","maybe":"2026-12-02T22:57:10.123450+00:00","never":null}"#
        );
    }
}

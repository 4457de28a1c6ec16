//! How a moment is written in JSON: RFC 3339 with `+00:00`, as poem-openapi writes a
//! `DateTime<Utc>` in HTTP answers. serde's own form for chrono (`Z`) would make an event, a
//! page serialized ahead of time and an answer about the same thing carry different text.
//! Reading takes any RFC 3339 moment, through chrono's RFC 3339 parser rather than its general
//! pattern parser, which serde's own form would bring into the web client's download. Every
//! `DateTime<Utc>` field of the contract names one of these modules in `#[serde(with)]`.

/// A moment.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.to_utc())
            .map_err(|error| D::Error::custom(format!("not an RFC 3339 moment: {error}")))
    }
}

/// A moment or null.
pub mod rfc3339_or_null {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::rfc3339::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        #[derive(Deserialize)]
        struct Moment(#[serde(with = "super::rfc3339")] DateTime<Utc>);
        Ok(Option::<Moment>::deserialize(deserializer)?.map(|moment| moment.0))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Moments {
        #[serde(with = "super::rfc3339")]
        at: DateTime<Utc>,
        #[serde(with = "super::rfc3339_or_null")]
        maybe: Option<DateTime<Utc>>,
        #[serde(with = "super::rfc3339_or_null")]
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
        let json = serde_json::to_string(&moments).unwrap();
        assert_eq!(
            json,
            r#"{"at":"2026-12-02T22:57:10+00:00","maybe":"2026-12-02T22:57:10.123450+00:00","never":null}"#
        );
        assert_eq!(serde_json::from_str::<Moments>(&json).unwrap(), moments);
    }

    #[test]
    fn any_rfc3339_moment_reads_and_anything_else_is_refused() {
        let read = |text: &str| {
            serde_json::from_str::<Moments>(&format!(
                r#"{{"at":{text},"maybe":{text},"never":null}}"#
            ))
            .map(|moments| moments.at)
        };
        let expected = Utc.with_ymd_and_hms(2026, 12, 2, 19, 57, 10).unwrap();
        assert_eq!(read(r#""2026-12-02T19:57:10Z""#).unwrap(), expected);
        assert_eq!(read(r#""2026-12-02T22:57:10+03:00""#).unwrap(), expected);
        for wrong in [
            r#""2026-12-02""#,
            r#""yesterday""#,
            "17",
            r#""2026-13-02T00:00:00Z""#,
        ] {
            let error = read(wrong).unwrap_err().to_string();
            assert!(!error.is_empty(), "{wrong} was read");
        }
    }
}

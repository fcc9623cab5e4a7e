//! `tests:` in the lab file: connectivity checks that `topo test` runs
//! inside the lab. Read as written; `model::checks` resolves and checks
//! them.
//!
//! ```yaml
//! tests:
//!   - { from: red, ping: blue }
//!   - { from: red, ping: 10.9.9.9, expect: fail }
//!   - { from: outside, tcp: "10.99.0.1:8080", reaches: blue, sees: 10.99.0.2 }
//!   - { pingall: [c1, c2, c3] }
//! ```
//!
//! or, with a default timeout for every check:
//!
//! ```yaml
//! tests:
//!   timeout: 2s
//!   checks: [ { from: red, ping: blue } ]
//! ```

use super::S;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// The lab's checks: a list, or `{ timeout, checks }` with a default timeout.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum TestsSpec {
    /// The checks, each with the default timeout of one second unless it sets its own.
    #[schemars(with = "Vec<CheckSpec>")]
    List(Vec<S<CheckSpec>>),
    /// The checks with a default timeout of their own.
    Detailed(TestsDetail),
}

impl TestsSpec {
    pub fn checks(&self) -> &[S<CheckSpec>] {
        match self {
            TestsSpec::List(l) => l,
            TestsSpec::Detailed(d) => &d.checks,
        }
    }

    pub fn checks_mut(&mut self) -> &mut Vec<S<CheckSpec>> {
        match self {
            TestsSpec::List(l) => l,
            TestsSpec::Detailed(d) => &mut d.checks,
        }
    }

    /// The lab-wide default timeout, when the file sets one.
    pub fn timeout(&self) -> Option<&S<TimeoutValue>> {
        match self {
            TestsSpec::List(_) => None,
            TestsSpec::Detailed(d) => d.timeout.as_ref(),
        }
    }
}

/// The fields of `tests: { timeout, checks }`.
const DETAIL_FIELDS: &[&str] = &["timeout", "checks"];

/// `tests: { timeout, checks }`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestsDetail {
    /// The timeout of every check that sets none (default 1 s).
    #[serde(default)]
    #[schemars(with = "Option<TimeoutValue>")]
    pub timeout: Option<S<TimeoutValue>>,
    /// The checks.
    #[serde(default)]
    #[schemars(with = "Vec<CheckSpec>")]
    pub checks: Vec<S<CheckSpec>>,
}

/// By hand rather than derived `untagged`, which would hide a mistyped
/// field of a check behind "did not match any variant".
impl<'de> Deserialize<'de> for TestsSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Tests;
        impl<'de> Visitor<'de> for Tests {
            type Value = TestsSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of checks, or `{ timeout: 2s, checks: [...] }`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<TestsSpec, A::Error> {
                let mut out = Vec::new();
                while let Some(c) = s.next_element()? {
                    out.push(c);
                }
                Ok(TestsSpec::List(out))
            }
            // Field by field on the parser's own map, so values keep their spans.
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<TestsSpec, A::Error> {
                let mut out = TestsDetail::default();
                let (mut timeout, mut checks) = (false, false);
                while let Some(key) = m.next_key::<String>()? {
                    let seen = match key.as_str() {
                        "timeout" => &mut timeout,
                        "checks" => &mut checks,
                        k => return Err(de::Error::unknown_field(k, DETAIL_FIELDS)),
                    };
                    if std::mem::replace(seen, true) {
                        return Err(de::Error::duplicate_field(if key == "timeout" {
                            "timeout"
                        } else {
                            "checks"
                        }));
                    }
                    if key == "timeout" {
                        out.timeout = Some(m.next_value()?);
                    } else {
                        out.checks = m.next_value()?;
                    }
                }
                Ok(TestsSpec::Detailed(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<TestsSpec, E> {
                Ok(TestsSpec::List(Vec::new()))
            }
        }
        d.deserialize_any(Tests)
    }
}

/// One check. Exactly one of `ping`, `tcp`, `udp` and `pingall` says what it does.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["ping"] },
    { "required": ["tcp"] },
    { "required": ["udp"] },
    { "required": ["pingall"] }
]))]
pub struct CheckSpec {
    /// Where the probe starts: a node, or `host` (the namespace topo runs in). Not with `pingall`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub from: Option<S<String>>,
    /// ICMP echo to a node (its first address: IPv4 if it has one) or to an address.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ping: Option<S<String>>,
    /// TCP connect to `ADDRESS:PORT` or `NODE:PORT` (`[ADDRESS]:PORT` for IPv6).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub tcp: Option<S<String>>,
    /// A UDP datagram to `ADDRESS:PORT` or `NODE:PORT`, answered by a listener topo starts (needs `reaches:` or `sees:`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub udp: Option<S<String>>,
    /// Ping between every ordered pair of these nodes, each pair a check of its own.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub pingall: Option<S<Vec<S<String>>>>,
    /// tcp/udp: the node where topo starts a listener for the check; it must get the connection (after the lab's port forwards).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub reaches: Option<S<String>>,
    /// tcp/udp: the source address the listener must see (NAT checked from the far side).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub sees: Option<S<String>>,
    /// `ok` (default): the probe must get through; `fail`: it must not.
    #[serde(default)]
    #[schemars(with = "Option<Expect>")]
    pub expect: Option<S<String>>,
    /// How long the check waits: seconds (`2`, `0.5`) or `500ms`, `2s`. Default: the lab's, else 1 s.
    #[serde(default)]
    #[schemars(with = "Option<TimeoutValue>")]
    pub timeout: Option<S<TimeoutValue>>,
}

/// What a check expects (for the schema; the model reads the text).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Expect {
    Ok,
    Fail,
}

/// A timeout: a number of seconds, or text with a unit (`500ms`, `2s`).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum TimeoutValue {
    Seconds(f64),
    Text(String),
}

/// The start of every message about a timeout.
pub const TIMEOUT_VALUE: &str = "a timeout is a number of seconds or a text such as \"500ms\"";

impl<'de> Deserialize<'de> for TimeoutValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = TimeoutValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(TIMEOUT_VALUE)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TimeoutValue, E> {
                Ok(TimeoutValue::Seconds(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TimeoutValue, E> {
                Ok(TimeoutValue::Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<TimeoutValue, E> {
                Ok(TimeoutValue::Seconds(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeoutValue, E> {
                Ok(TimeoutValue::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<TimeoutValue, E> {
                Err(E::custom(format!("{TIMEOUT_VALUE}, not the boolean `{v}`")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<TimeoutValue, E> {
                Err(E::custom(format!("{TIMEOUT_VALUE}; this one is empty")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<TimeoutValue, A::Error> {
                Err(de::Error::custom(format!("{TIMEOUT_VALUE}, not a list")))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<TimeoutValue, A::Error> {
                Err(de::Error::custom(format!("{TIMEOUT_VALUE}, not a mapping")))
            }
        }
        d.deserialize_any(Value)
    }
}

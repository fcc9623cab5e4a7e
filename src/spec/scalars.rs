//! Values that may be written as a number or as text: a sysctl value and a
//! port. Read by hand rather than derived `untagged`, which answers any
//! mistake with "data did not match any variant of untagged enum": these
//! say which types are accepted and what was found instead.

use schemars::JsonSchema;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;
use std::fmt;

/// A sysctl value: a number or a string.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum SysctlValue {
    Int(i64),
    Text(String),
}

impl SysctlValue {
    pub fn as_text(&self) -> String {
        match self {
            SysctlValue::Int(i) => i.to_string(),
            SysctlValue::Text(s) => s.trim().to_string(),
        }
    }
}

/// The start of every message about a sysctl value (load.rs adds the help).
pub const SYSCTL_VALUE: &str = "a sysctl value is a whole number or a string";

impl<'de> Deserialize<'de> for SysctlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = SysctlValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(SYSCTL_VALUE)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SysctlValue, E> {
                Ok(SysctlValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SysctlValue, E> {
                // Past i64 the kernel still reads the digits.
                Ok(i64::try_from(v)
                    .map_or_else(|_| SysctlValue::Text(v.to_string()), SysctlValue::Int))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SysctlValue, E> {
                Ok(SysctlValue::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SysctlValue, E> {
                Err(E::custom(format!("{SYSCTL_VALUE}, not the boolean `{v}`")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SysctlValue, E> {
                Err(E::custom(format!("{SYSCTL_VALUE}, not the fraction `{v}`")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<SysctlValue, E> {
                Err(E::custom(format!("{SYSCTL_VALUE}; this one is empty")))
            }
            fn visit_none<E: de::Error>(self) -> Result<SysctlValue, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<SysctlValue, A::Error> {
                Err(de::Error::custom(format!("{SYSCTL_VALUE}, not a list")))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<SysctlValue, A::Error> {
                Err(de::Error::custom(format!("{SYSCTL_VALUE}, not a mapping")))
            }
        }
        d.deserialize_any(Value)
    }
}

/// A port: a number, or a range written `"5000-5010"`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum PortValue {
    One(u32),
    Text(String),
}

/// The start of every message about a port (load.rs adds the help).
pub const PORT_VALUE: &str = "a port is a number from 1 to 65535 or a range such as \"5000-5010\"";

impl<'de> Deserialize<'de> for PortValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = PortValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(PORT_VALUE)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortValue, E> {
                u32::try_from(v)
                    .map(PortValue::One)
                    .map_err(|_| E::custom(format!("{PORT_VALUE}, not {v}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortValue, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!("{PORT_VALUE}, not {v}"))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortValue, E> {
                Ok(PortValue::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<PortValue, E> {
                Err(E::custom(format!("{PORT_VALUE}, not the boolean `{v}`")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PortValue, E> {
                Err(E::custom(format!("{PORT_VALUE}, not `{v}`")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<PortValue, E> {
                Err(E::custom(format!("{PORT_VALUE}; this one is empty")))
            }
            fn visit_none<E: de::Error>(self) -> Result<PortValue, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<PortValue, A::Error> {
                Err(de::Error::custom(format!("{PORT_VALUE}, not a list")))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<PortValue, A::Error> {
                Err(de::Error::custom(format!("{PORT_VALUE}, not a mapping")))
            }
        }
        d.deserialize_any(Value)
    }
}

/// Prefixes: one written alone, or a list (`exclude: [10.0.0.0/8, 192.168.0.0/16]`).
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum Prefixes {
    One(String),
    List(#[schemars(with = "Vec<String>")] Vec<Spanned<String>>),
}

/// The start of every message about a prefix list (load.rs adds the help).
pub const PREFIXES: &str = "expected a prefix or a list of prefixes";

impl<'de> Deserialize<'de> for Prefixes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = Prefixes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(PREFIXES)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Prefixes, E> {
                Ok(Prefixes::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Prefixes, A::Error> {
                let mut out = Vec::new();
                while let Some(p) = s.next_element::<Spanned<String>>()? {
                    out.push(p);
                }
                Ok(Prefixes::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Prefixes, A::Error> {
                Err(de::Error::custom(format!("{PREFIXES}, not a mapping")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Prefixes, E> {
                Err(E::custom(format!("{PREFIXES}; this one is empty")))
            }
            fn visit_none<E: de::Error>(self) -> Result<Prefixes, E> {
                self.visit_unit()
            }
        }
        d.deserialize_any(Value)
    }
}

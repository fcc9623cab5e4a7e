//! The scalars of a check: timeouts, `expect:`, and `HOST:PORT` targets.

use crate::spec::{TimeoutValue, TIMEOUT_VALUE};
use std::time::Duration;

/// The longest timeout a check may have: a test run should end.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// A timeout in seconds or with a unit (`ms`, `s`), between 1 ms and a minute.
pub fn timeout(v: &TimeoutValue) -> Result<Duration, String> {
    let secs = match v {
        TimeoutValue::Seconds(s) => *s,
        TimeoutValue::Text(t) => {
            let t = t.trim();
            let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
                (n, 0.001)
            } else if let Some(n) = t.strip_suffix('s') {
                (n, 1.0)
            } else {
                (t, 1.0)
            };
            match num.trim().parse::<f64>() {
                Ok(n) => n * scale,
                Err(_) => return Err(format!("{TIMEOUT_VALUE}, not `{t}`")),
            }
        }
    };
    if !(secs.is_finite() && secs >= 0.001 && secs <= MAX_TIMEOUT.as_secs_f64()) {
        return Err(format!(
            "a timeout is between 1ms and {}s, not {secs}s",
            MAX_TIMEOUT.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `1 s`, `500 ms`: a duration as the output writes it.
pub fn duration_text(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A `HOST:PORT` target split: `10.0.0.1:80`, `blue:80`, `[fd00::1]:80`.
/// The port is checked here; the host is an address or a name.
pub fn host_port(v: &str) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((h, p)) => (h, p),
            None => return Err(format!("`{v}` has no port: write `[ADDRESS]:PORT`")),
        }
    } else {
        match v.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(format!(
                    "`{v}` looks like an IPv6 address without brackets: write `[ADDRESS]:PORT`"
                ))
            }
            Some((h, p)) => (h, p),
            None => {
                return Err(format!(
                    "`{v}` has no port: write `ADDRESS:PORT` or `NODE:PORT`"
                ))
            }
        }
    };
    match port.trim().parse::<u64>() {
        Ok(p @ 1..=65535) => Ok((host, p as u16)),
        Ok(p) => Err(format!("port {p} is out of range: a port is 1 to 65535")),
        Err(_) => Err(format!("`{port}` is not a port: a port is 1 to 65535")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        let t = |v: TimeoutValue| timeout(&v);
        assert_eq!(t(TimeoutValue::Seconds(2.0)), Ok(Duration::from_secs(2)));
        assert_eq!(
            t(TimeoutValue::Text("500ms".into())),
            Ok(Duration::from_millis(500))
        );
        assert_eq!(
            t(TimeoutValue::Text("1.5s".into())),
            Ok(Duration::from_millis(1500))
        );
        assert!(t(TimeoutValue::Seconds(0.0)).is_err());
        assert!(t(TimeoutValue::Seconds(61.0)).is_err());
        assert!(t(TimeoutValue::Text("soon".into())).is_err());
        assert_eq!(duration_text(Duration::from_secs(1)), "1 s");
        assert_eq!(duration_text(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn targets() {
        assert_eq!(host_port("10.0.0.1:80"), Ok(("10.0.0.1", 80)));
        assert_eq!(host_port("blue:8080"), Ok(("blue", 8080)));
        assert_eq!(host_port("[fd00::1]:53"), Ok(("fd00::1", 53)));
        assert!(host_port("10.0.0.1").is_err());
        assert!(host_port("fd00::1:80").is_err());
        assert!(host_port("blue:0").unwrap_err().contains("out of range"));
        assert!(host_port("blue:65536")
            .unwrap_err()
            .contains("out of range"));
        assert!(host_port("blue:http").is_err());
    }
}

//! Names with a range: `h[1-64]` is h1 to h64, both ends included;
//! `h[01-16]` keeps the width (h01 to h16). One range per name.

/// The most names one range may stand for: a lab of more is a typo (and
/// the kernel would not hold it anyway: a bridge takes 1024 ports).
pub const RANGE_MAX: u64 = 4096;

/// The names a written name stands for: itself when it has no range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
    first: u64,
    last: u64,
    /// Digits of each number, zero-padded; 0 for none.
    width: usize,
    suffix: String,
}

impl Names {
    /// `None` when `text` has no `[`; an error says what is wrong with the range.
    pub fn parse(text: &str) -> Result<Option<Names>, String> {
        let Some(open) = text.find('[') else {
            if text.contains(']') {
                return Err(format!("`{text}` has a `]` without its `[`"));
            }
            return Ok(None);
        };
        let shape = "a range is written `[FIRST-LAST]`, e.g. `h[1-64]`";
        let rest = &text[open + 1..];
        let Some(close) = rest.find(']') else {
            return Err(format!("`{text}`: the range is not closed; {shape}"));
        };
        let (inner, suffix) = (&rest[..close], &rest[close + 1..]);
        if suffix.contains('[') || suffix.contains(']') {
            return Err(format!(
                "`{text}` has more than one range; a name takes one"
            ));
        }
        let Some((a, b)) = inner.split_once('-') else {
            return Err(format!("`{text}`: {shape}"));
        };
        let number = |s: &str| {
            (!s.is_empty() && s.len() <= 9 && s.bytes().all(|c| c.is_ascii_digit()))
                .then(|| s.parse::<u64>().expect("digits"))
        };
        let (Some(first), Some(last)) = (number(a), number(b)) else {
            return Err(format!("`{text}`: {shape}, with whole numbers"));
        };
        if first > last {
            return Err(format!(
                "`{text}` counts down; write the smaller number first: `[{b}-{a}]`"
            ));
        }
        if last - first + 1 > RANGE_MAX {
            return Err(format!(
                "`{text}` stands for {} names; a range stands for at most {RANGE_MAX}",
                last - first + 1
            ));
        }
        let width = if a.len() > 1 && a.starts_with('0') {
            a.len()
        } else {
            0
        };
        Ok(Some(Names {
            prefix: text[..open].to_string(),
            first,
            last,
            width,
            suffix: suffix.to_string(),
        }))
    }

    pub fn len(&self) -> usize {
        (self.last - self.first + 1) as usize
    }

    /// Never: a range stands for one name at least (`[7-7]`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every name, in order.
    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        (self.first..=self.last)
            .map(|i| format!("{}{i:0w$}{}", self.prefix, self.suffix, w = self.width))
    }
}

/// The names `text` stands for: one, or its range's.
pub fn names(text: &str) -> Result<Vec<String>, String> {
    Ok(match Names::parse(text)? {
        None => vec![text.to_string()],
        Some(n) => n.names().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_are_included() {
        assert_eq!(names("h[1-3]").unwrap(), ["h1", "h2", "h3"]);
        assert_eq!(names("h[7-7]").unwrap(), ["h7"]);
        assert_eq!(names("r[1-2]:eth0").unwrap(), ["r1:eth0", "r2:eth0"]);
        assert_eq!(names("plain").unwrap(), ["plain"]);
    }

    #[test]
    fn leading_zeros_keep_the_width() {
        assert_eq!(names("h[08-10]").unwrap(), ["h08", "h09", "h10"]);
        assert_eq!(names("h[0-1]").unwrap(), ["h0", "h1"]);
    }

    #[test]
    fn every_malformed_range_is_refused_with_the_shape() {
        for bad in [
            "h[1-",
            "h[]",
            "h[1]",
            "h[a-b]",
            "h[1-b]",
            "h[-3]",
            "h[3-1]",
            "h[1-2][1-2]",
            "h]",
            "h[1-9999]",
            "h[1--2]",
        ] {
            let e = Names::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
        assert!(Names::parse("h[3-1]").unwrap_err().contains("`[1-3]`"));
    }
}

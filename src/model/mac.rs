//! A MAC address has one text form everywhere it is written: lowercase
//! hex pairs, `aa:bb:cc:dd:ee:ff` (plan text and JSON, saved plans, show,
//! the state file), never a list of bytes.

use super::resource::Mac;

impl From<Mac> for String {
    fn from(m: Mac) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Mac {
    type Error = String;
    fn try_from(s: String) -> Result<Mac, String> {
        s.parse().map_err(|()| {
            format!("`{s}` is not a MAC address: write six hex pairs, aa:bb:cc:dd:ee:ff")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_serializes_as_lowercase_text_and_back() {
        let m = Mac([0x02, 0xAB, 0, 0x10, 0xff, 1]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"02:ab:00:10:ff:01\"");
        assert_eq!(serde_json::from_str::<Mac>(&json).unwrap(), m);
        assert_eq!(
            serde_json::from_str::<Mac>("\"02:AB:00:10:FF:01\"").unwrap(),
            m
        );
        assert!(serde_json::from_str::<Mac>("[2,171,0,16,255,1]").is_err());
        assert!(serde_json::from_str::<Mac>("\"02:ab:00\"").is_err());
    }
}

//! DynamoDB attribute values as plain data. Write plans, keys and records
//! are built and read with these; the AWS crate converts them to the SDK's
//! type at the store's edge, so nothing here depends on the SDK. The names
//! follow the SDK's (`S`, `N`, `as_s()`...), so code reads the same on
//! both sides of that edge.

use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// One attribute value, as DynamoDB types it.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// Text.
    S(String),
    /// A number, as its decimal text (DynamoDB keeps 38 digits).
    N(String),
    /// Bytes.
    B(Vec<u8>),
    Bool(bool),
    Null(bool),
    L(Vec<AttributeValue>),
    M(HashMap<String, AttributeValue>),
    Ss(Vec<String>),
    Ns(Vec<String>),
    Bs(Vec<Vec<u8>>),
}

/// An item: attribute names to values.
pub type Item = HashMap<String, AttributeValue>;

impl AttributeValue {
    pub fn as_s(&self) -> Result<&String, &Self> {
        match self {
            AttributeValue::S(text) => Ok(text),
            other => Err(other),
        }
    }

    pub fn as_n(&self) -> Result<&String, &Self> {
        match self {
            AttributeValue::N(number) => Ok(number),
            other => Err(other),
        }
    }

    pub fn as_b(&self) -> Result<&Vec<u8>, &Self> {
        match self {
            AttributeValue::B(bytes) => Ok(bytes),
            other => Err(other),
        }
    }

    pub fn as_bool(&self) -> Result<&bool, &Self> {
        match self {
            AttributeValue::Bool(value) => Ok(value),
            other => Err(other),
        }
    }

    pub fn as_l(&self) -> Result<&Vec<AttributeValue>, &Self> {
        match self {
            AttributeValue::L(list) => Ok(list),
            other => Err(other),
        }
    }

    pub fn as_m(&self) -> Result<&HashMap<String, AttributeValue>, &Self> {
        match self {
            AttributeValue::M(map) => Ok(map),
            other => Err(other),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, AttributeValue::Null(true))
    }
}

/// JSON as an attribute value: objects are maps, arrays lists, numbers `N`
/// with their JSON text, `null` a null. Whether DynamoDB can store the
/// result (number range, nesting) is [`crate::store::plan::is_storable`]'s
/// question.
pub fn from_json(value: &serde_json::Value) -> AttributeValue {
    use serde_json::Value;
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(number) => AttributeValue::N(number.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(list) => AttributeValue::L(list.iter().map(from_json).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(name, value)| (name.clone(), from_json(value)))
                .collect(),
        ),
    }
}

/// An attribute value as JSON: the inverse of [`from_json`] for what it
/// makes. A number JSON cannot hold exactly (beyond `f64`) stays its
/// text; bytes are their base64 text; sets are arrays.
pub fn to_json(value: &AttributeValue) -> serde_json::Value {
    use base64::Engine;
    use serde_json::Value;
    let bytes = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(number) => number_json(number),
        AttributeValue::B(b) => bytes(b),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(list) => Value::Array(list.iter().map(to_json).collect()),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(name, value)| (name.clone(), to_json(value)))
                .collect(),
        ),
        AttributeValue::Ss(texts) => {
            Value::Array(texts.iter().map(|t| Value::String(t.clone())).collect())
        }
        AttributeValue::Ns(numbers) => {
            Value::Array(numbers.iter().map(|n| number_json(n)).collect())
        }
        AttributeValue::Bs(list) => Value::Array(list.iter().map(|b| bytes(b)).collect()),
    }
}

fn number_json(number: &str) -> serde_json::Value {
    if let Ok(integer) = number.parse::<i64>() {
        return integer.into();
    }
    if let Ok(integer) = number.parse::<u64>() {
        return integer.into();
    }
    number
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(serde_json::Value::Number)
        .unwrap_or_else(|| serde_json::Value::String(number.to_string()))
}

/// A stored item read into a record type (summaries, documents): through
/// its JSON form, so the record's serde attributes (defaults, renames)
/// apply as they do to any JSON.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, serde_json::Error> {
    let object: serde_json::Map<String, serde_json::Value> = item
        .iter()
        .map(|(name, value)| (name.clone(), to_json(value)))
        .collect();
    serde_json::from_value(serde_json::Value::Object(object))
}

/// A record as an item: the inverse of [`from_item`] (a field that is
/// `None` is left out, as DynamoDB has no use for a null attribute).
pub fn to_item<T: serde::Serialize>(record: &T) -> Result<Item, serde_json::Error> {
    match serde_json::to_value(record)? {
        serde_json::Value::Object(map) => Ok(map
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| (name.clone(), from_json(value)))
            .collect()),
        _ => Err(serde::ser::Error::custom("a record is a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_goes_in_and_comes_back() {
        let value =
            json!({"a": [1, -2, 2.5, "x", true, null], "b": {"c": 18446744073709551615u64}});
        assert_eq!(to_json(&from_json(&value)), value);
    }

    #[test]
    fn a_number_beyond_f64_stays_its_text() {
        assert_eq!(to_json(&AttributeValue::N("1e400".into())), json!("1e400"));
    }

    #[test]
    fn accessors_name_the_variant_they_read() {
        let text = AttributeValue::S("x".into());
        assert_eq!(text.as_s().map(String::as_str), Ok("x"));
        assert!(text.as_n().is_err());
        assert!(AttributeValue::Null(true).is_null());
        assert_eq!(AttributeValue::Bool(true).as_bool(), Ok(&true));
    }

    #[test]
    fn records_read_from_items_with_their_defaults() {
        #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
        struct Record {
            name: String,
            #[serde(default)]
            count: u64,
            note: Option<String>,
        }
        let item = Item::from([
            ("name".to_string(), AttributeValue::S("n".into())),
            ("count".to_string(), AttributeValue::N("3".into())),
            ("other".to_string(), AttributeValue::Bool(true)),
        ]);
        let record: Record = from_item(&item).unwrap();
        assert_eq!(
            record,
            Record {
                name: "n".into(),
                count: 3,
                note: None
            }
        );
        let back = to_item(&record).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(from_item::<Record>(&back).unwrap(), record);
    }
}

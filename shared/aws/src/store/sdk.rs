//! The model's attribute values as the SDK's, both ways: the one place
//! where a plan's plain data becomes a DynamoDB request's and a read item
//! becomes plain data again.

use crate::attribute::{AttributeValue, Item};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use std::collections::HashMap;

pub type SdkItem = HashMap<String, SdkValue>;

pub fn to_sdk(value: &AttributeValue) -> SdkValue {
    match value {
        AttributeValue::S(text) => SdkValue::S(text.clone()),
        AttributeValue::N(number) => SdkValue::N(number.clone()),
        AttributeValue::B(bytes) => SdkValue::B(Blob::new(bytes.clone())),
        AttributeValue::Bool(value) => SdkValue::Bool(*value),
        AttributeValue::Null(value) => SdkValue::Null(*value),
        AttributeValue::L(list) => SdkValue::L(list.iter().map(to_sdk).collect()),
        AttributeValue::M(map) => SdkValue::M(to_sdk_item(map)),
        AttributeValue::Ss(texts) => SdkValue::Ss(texts.clone()),
        AttributeValue::Ns(numbers) => SdkValue::Ns(numbers.clone()),
        AttributeValue::Bs(list) => SdkValue::Bs(list.iter().cloned().map(Blob::new).collect()),
    }
}

pub fn to_sdk_item(item: &Item) -> SdkItem {
    item.iter()
        .map(|(name, value)| (name.clone(), to_sdk(value)))
        .collect()
}

/// The SDK's value as plain data; a kind this SDK version does not know
/// (none today) reads as null.
pub fn from_sdk(value: &SdkValue) -> AttributeValue {
    match value {
        SdkValue::S(text) => AttributeValue::S(text.clone()),
        SdkValue::N(number) => AttributeValue::N(number.clone()),
        SdkValue::B(blob) => AttributeValue::B(blob.as_ref().to_vec()),
        SdkValue::Bool(value) => AttributeValue::Bool(*value),
        SdkValue::Null(value) => AttributeValue::Null(*value),
        SdkValue::L(list) => AttributeValue::L(list.iter().map(from_sdk).collect()),
        SdkValue::M(map) => AttributeValue::M(from_sdk_item(map)),
        SdkValue::Ss(texts) => AttributeValue::Ss(texts.clone()),
        SdkValue::Ns(numbers) => AttributeValue::Ns(numbers.clone()),
        SdkValue::Bs(list) => {
            AttributeValue::Bs(list.iter().map(|b| b.as_ref().to_vec()).collect())
        }
        _ => AttributeValue::Null(true),
    }
}

pub fn from_sdk_item(item: &SdkItem) -> Item {
    item.iter()
        .map(|(name, value)| (name.clone(), from_sdk(value)))
        .collect()
}

/// A page of read items as plain data.
pub fn items(page: Option<Vec<SdkItem>>) -> Vec<Item> {
    page.unwrap_or_default().iter().map(from_sdk_item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_goes_to_the_sdk_and_back() {
        let value = AttributeValue::M(Item::from([
            ("s".into(), AttributeValue::S("x".into())),
            ("n".into(), AttributeValue::N("1.5".into())),
            ("b".into(), AttributeValue::B(vec![0, 255])),
            ("bool".into(), AttributeValue::Bool(true)),
            ("null".into(), AttributeValue::Null(true)),
            (
                "l".into(),
                AttributeValue::L(vec![AttributeValue::S("y".into())]),
            ),
            ("ss".into(), AttributeValue::Ss(vec!["a".into()])),
            ("ns".into(), AttributeValue::Ns(vec!["2".into()])),
            ("bs".into(), AttributeValue::Bs(vec![vec![1]])),
        ]));
        assert_eq!(from_sdk(&to_sdk(&value)), value);
    }
}

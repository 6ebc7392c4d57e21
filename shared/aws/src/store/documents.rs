//! The operator's documents: number configurations and contacts, stored
//! whole in a `document` attribute (access patterns 5 and 6).

use super::plan::Item;
use super::{keys, store_error, Store, StoreError};
use crate::config::{Contact, NumberConfig};
use crate::config_cache::NumberConfigCache;
use crate::phone::PhoneNumber;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use serde::Serialize;
use std::time::Instant;

impl Store {
    /// Access pattern 5: one of our numbers' configuration.
    pub async fn number_config(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<NumberConfig>, StoreError> {
        self.get_document(keys::number_config_pk(number), keys::CONFIG_SK)
            .await
    }

    /// Stores (replaces) a number's configuration.
    pub async fn put_number_config(&self, config: &NumberConfig) -> Result<(), StoreError> {
        self.put_document(
            keys::number_config_pk(&config.number),
            keys::CONFIG_SK,
            keys::NUMBER_CONFIG_ITEM_TYPE,
            config,
            &[],
        )
        .await
    }

    /// Access pattern 6: one caller's contact record.
    pub async fn contact(&self, number: &PhoneNumber) -> Result<Option<Contact>, StoreError> {
        self.get_document(keys::contact_pk(number), keys::CONTACT_SK)
            .await
    }

    /// Stores (replaces) a contact record.
    pub async fn put_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        self.put_document(
            keys::contact_pk(&contact.number),
            keys::CONTACT_SK,
            keys::CONTACT_ITEM_TYPE,
            contact,
            &[
                (keys::GSI1PK, keys::phone_pk(&contact.number)),
                (keys::GSI1SK, keys::CONTACT_TIMELINE_SK.to_string()),
            ],
        )
        .await
    }

    /// Documents live whole in a `document` map attribute, so the item's
    /// own keys never mix with the document's fields.
    async fn put_document<T: Serialize>(
        &self,
        pk: String,
        sk: &str,
        item_type: &str,
        document: &T,
        index_keys: &[(&str, String)],
    ) -> Result<(), StoreError> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(document)
            .map_err(|e| StoreError(format!("unstorable document: {e}")))?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .item(keys::PK, AttributeValue::S(pk))
            .item(keys::SK, AttributeValue::S(sk.into()))
            .item(keys::ITEM_TYPE, AttributeValue::S(item_type.into()))
            .item("document", value);
        for (name, value) in index_keys {
            request = request.item(*name, AttributeValue::S(value.clone()));
        }
        request.send().await.map_err(store_error)?;
        Ok(())
    }

    async fn get_document<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(keys::PK, AttributeValue::S(pk))
            .key(keys::SK, AttributeValue::S(sk.into()))
            .send()
            .await
            .map_err(store_error)?;
        output
            .item
            .map(|item| document_of(super::sdk::from_sdk_item(&item)))
            .transpose()
    }

    /// Access pattern 5 through `cache`: a configuration read less than the
    /// cache's time ago is answered from memory, with no request.
    pub async fn number_config_cached(
        &self,
        cache: &NumberConfigCache,
        number: &PhoneNumber,
    ) -> Result<Option<NumberConfig>, StoreError> {
        if let Some(config) = cache.get(number, Instant::now()) {
            return Ok(config);
        }
        let asked_at = Instant::now();
        let config = self.number_config(number).await?;
        cache.put(number, config.clone(), asked_at);
        Ok(config)
    }
}

/// The document stored whole in an item's `document` attribute.
pub(super) fn document_of<T: serde::de::DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    let document = item
        .remove("document")
        .ok_or_else(|| StoreError("document item without a document attribute".into()))?;
    serde_json::from_value(crate::attribute::to_json(&document))
        .map_err(|e| StoreError(format!("unreadable document: {e}")))
}

//! Number configuration and contact documents (access patterns 5 and 6)
//! round-trip through DynamoDB served by moto.

use callhooks::config::{parse_document, Contact, NumberConfig};
use callhooks::phone::PhoneNumber;
use callhooks_tests::TestStack;

#[tokio::test]
async fn number_config_and_contact_round_trip() {
    let stack = TestStack::new().await;
    let store = stack.store();
    let number = PhoneNumber::parse("+18339664835").unwrap();
    assert_eq!(store.number_config(&number).await.unwrap(), None);

    let config: NumberConfig = parse_document(
        r#"{"number": "+18339664835", "label": "Support",
            "voxtelesys": {"greeting": "Hi & <welcome>", "forward_to": ["+14155550100"], "voicemail": {"enabled": true}},
            "retell": {"default_agent": {"agent_id": "a1", "agent_version": 3},
                       "contacts": {"+14155552671": {"agent_id": "vip"}}}}"#,
    )
    .unwrap();
    store.put_number_config(&config).await.unwrap();
    assert_eq!(store.number_config(&number).await.unwrap(), Some(config));

    let caller = PhoneNumber::parse("+14155552671").unwrap();
    let contact: Contact = parse_document(
        r#"{"number": "+14155552671", "name": "Zoë", "dynamic_variables": {"tier": "gold"}, "metadata": {"crm": {"id": 7, "tags": ["a"]}}}"#,
    )
    .unwrap();
    store.put_contact(&contact).await.unwrap();
    assert_eq!(store.contact(&caller).await.unwrap(), Some(contact));
    assert_eq!(store.contact(&number).await.unwrap(), None);
}

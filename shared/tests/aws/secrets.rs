use aws_sdk_secretsmanager::Client as SecretsManagerClient;
use serde_json::{json, Value};
use vendorlink_shared::secret_store::SecretStore;
use vendorlink_shared::vendors::VendorSecret;
use vendorlink_shared::VendorName;

use crate::support::fresh_account;

async fn store_with(vendor: VendorName, value: Value) -> (SecretStore, SecretsManagerClient) {
    let (sdk, _) = fresh_account().await;
    let client = SecretsManagerClient::new(&sdk);
    let prefix = "vendorlink/";
    client
        .create_secret()
        .name(format!("{prefix}{vendor}"))
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create secret");
    (SecretStore::new(client.clone(), prefix), client)
}

async fn current(client: &SecretsManagerClient, name: &str) -> Value {
    let out = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .expect("get secret");
    serde_json::from_str(out.secret_string().expect("string")).expect("json")
}

async fn version_count(client: &SecretsManagerClient, name: &str) -> usize {
    client
        .list_secret_version_ids()
        .secret_id(name)
        .send()
        .await
        .expect("list versions")
        .versions()
        .len()
}

fn datatheorem_without_external_id() -> Value {
    json!({"api_key": "dt-key-0123456789", "aws_account_id": "999900001111", "operator_note": "kept as is"})
}

#[tokio::test]
async fn loads_a_typed_secret() {
    let (store, _) = store_with(
        VendorName::Cloudcraft,
        json!({"api_key": "cc-key", "region": "eu-west-1"}),
    )
    .await;
    let VendorSecret::Cloudcraft(secret) = store.load(VendorName::Cloudcraft).await.unwrap() else {
        panic!("wrong variant")
    };
    assert_eq!(secret.api_key.expose(), "cc-key");
    assert_eq!(secret.region, "eu-west-1");
}

#[tokio::test]
async fn missing_secret_is_a_config_error_naming_it() {
    let (sdk, _) = fresh_account().await;
    let store = SecretStore::new(SecretsManagerClient::new(&sdk), "vendorlink/");
    let err = store.load(VendorName::Skyhigh).await.unwrap_err();
    assert_eq!(err.error_type(), "Fatal.Config");
    assert_eq!(err.vendor(), Some(VendorName::Skyhigh));
    assert!(
        err.message()
            .contains("secret `vendorlink/skyhigh` does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_secret_is_a_config_error_without_its_content() {
    let (store, _) = store_with(
        VendorName::Risken,
        json!({"access_token": "RISKEN-TOKEN-SECRET", "project_id": "not-a-number",
               "aws_account_id": "999900001111", "base_url": "https://risken.example"}),
    )
    .await;
    let err = store.load(VendorName::Risken).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("field `project_id` has an invalid value"),
        "{text}"
    );
    assert!(
        !text.contains("RISKEN-TOKEN-SECRET") && !text.contains("not-a-number"),
        "{text}"
    );
}

#[tokio::test]
async fn absent_external_id_is_generated_and_written_back() {
    let (store, client) =
        store_with(VendorName::Datatheorem, datatheorem_without_external_id()).await;
    let secret = store
        .load_with_external_id(VendorName::Datatheorem)
        .await
        .unwrap();
    let generated = secret
        .external_id()
        .expect("external id")
        .expose()
        .to_owned();
    assert_eq!(generated.len(), 43);

    let stored = current(&client, "vendorlink/datatheorem").await;
    assert_eq!(stored["external_id"], json!(generated));
    // Everything else in the secret is kept as the operator wrote it.
    assert_eq!(stored["api_key"], json!("dt-key-0123456789"));
    assert_eq!(stored["operator_note"], json!("kept as is"));

    // A later run uses the stored ID and writes nothing.
    let again = store
        .load_with_external_id(VendorName::Datatheorem)
        .await
        .unwrap();
    assert_eq!(again.external_id().unwrap().expose(), generated);
    assert_eq!(version_count(&client, "vendorlink/datatheorem").await, 2);
}

#[tokio::test]
async fn existing_external_id_is_used_without_a_write() {
    let (store, client) = store_with(
        VendorName::Risken,
        json!({
        "access_token": "t", "project_id": 3, "aws_account_id": "999900001111",
        "base_url": "https://risken.example", "external_id": "operator-chosen-external-id"}),
    )
    .await;
    let secret = store
        .load_with_external_id(VendorName::Risken)
        .await
        .unwrap();
    assert_eq!(
        secret.external_id().unwrap().expose(),
        "operator-chosen-external-id"
    );
    assert_eq!(version_count(&client, "vendorlink/risken").await, 1);
}

#[tokio::test]
async fn vendors_issuing_their_own_trust_get_no_generated_id() {
    let (store, client) = store_with(
        VendorName::Stellarcyber,
        json!({
        "user_id": "u", "api_key": "k", "tenant_id": "t",
        "principal_arn": "arn:aws:iam::999900001111:user/stellar",
        "connector_template": {"name": "aws-{{account_id}}"},
        "base_url": "https://stellar.example"}),
    )
    .await;
    let secret = store
        .load_with_external_id(VendorName::Stellarcyber)
        .await
        .unwrap();
    assert!(secret.external_id().is_none());
    assert_eq!(version_count(&client, "vendorlink/stellarcyber").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_runs_end_up_with_the_same_external_id() {
    // Several rounds, each with a fresh secret and four writers started
    // together, so that they really do read the same first version.
    for round in 0..3 {
        let (store, client) =
            store_with(VendorName::Datatheorem, datatheorem_without_external_id()).await;
        let run = || {
            let store = store.clone();
            tokio::spawn(async move { store.load_with_external_id(VendorName::Datatheorem).await })
        };
        let handles = [run(), run(), run(), run()];
        let mut ids = Vec::new();
        for handle in handles {
            let secret = handle.await.unwrap().unwrap();
            ids.push(secret.external_id().unwrap().expose().to_owned());
        }
        let stored = current(&client, "vendorlink/datatheorem").await;
        for id in &ids {
            assert_eq!(id, &ids[0], "round {round}: writers disagree");
        }
        assert_eq!(stored["external_id"], json!(ids[0]), "round {round}");
        // Exactly one write-back happened: the original version plus one.
        assert_eq!(
            version_count(&client, "vendorlink/datatheorem").await,
            2,
            "round {round}"
        );
    }
}

/// A rotation lands at the worst moment: between the write-back's check of
/// the current version and its PutSecretValue. The write-back must build
/// again on the rotated version, never put the old API key back.
#[tokio::test]
async fn a_rotation_during_the_write_back_is_kept() {
    use aws_sdk_secretsmanager::config::interceptors::BeforeTransmitInterceptorContextRef;
    use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[derive(Debug)]
    struct RotateBeforeFirstPut {
        sdk: aws_config::SdkConfig,
        done: Arc<AtomicBool>,
    }
    impl Intercept for RotateBeforeFirstPut {
        fn name(&self) -> &'static str {
            "RotateBeforeFirstPut"
        }
        fn read_before_transmit(
            &self,
            ctx: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), aws_sdk_secretsmanager::error::BoxError> {
            let target = ctx
                .request()
                .headers()
                .get("x-amz-target")
                .unwrap_or_default();
            if target.ends_with("PutSecretValue") && !self.done.swap(true, Ordering::SeqCst) {
                let sdk = self.sdk.clone();
                std::thread::spawn(move || {
                    tokio::runtime::Runtime::new().unwrap().block_on(async {
                        SecretsManagerClient::new(&sdk)
                            .put_secret_value()
                            .secret_id("vendorlink/datatheorem")
                            .secret_string(
                                json!({"api_key": "dt-ROTATED-key", "aws_account_id": "999900001111",
                                       "operator_note": "kept as is"})
                                .to_string(),
                            )
                            .send()
                            .await
                            .unwrap();
                    })
                })
                .join()
                .unwrap();
            }
            Ok(())
        }
    }

    let (sdk, _) = fresh_account().await;
    let plain = SecretsManagerClient::new(&sdk);
    plain
        .create_secret()
        .name("vendorlink/datatheorem")
        .secret_string(datatheorem_without_external_id().to_string())
        .send()
        .await
        .unwrap();
    let intercepted = aws_sdk_secretsmanager::config::Builder::from(&sdk)
        .interceptor(RotateBeforeFirstPut {
            sdk: sdk.clone(),
            done: Arc::new(AtomicBool::new(false)),
        })
        .build();
    let store = SecretStore::new(SecretsManagerClient::from_conf(intercepted), "vendorlink/");
    let secret = store
        .load_with_external_id(VendorName::Datatheorem)
        .await
        .unwrap();
    let VendorSecret::Datatheorem(loaded) = &secret else {
        panic!("wrong variant")
    };
    let stored = current(&plain, "vendorlink/datatheorem").await;
    let described = plain
        .describe_secret()
        .secret_id("vendorlink/datatheorem")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored["api_key"],
        "dt-ROTATED-key",
        "the rotation was undone: {stored} {:?}",
        described.version_ids_to_stages()
    );
    assert_eq!(stored["operator_note"], "kept as is");
    assert_eq!(loaded.api_key.expose(), "dt-ROTATED-key");
    assert_eq!(
        stored["external_id"].as_str(),
        secret.external_id().map(|s| s.expose())
    );
}

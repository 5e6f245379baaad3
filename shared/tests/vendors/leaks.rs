//! No credential ever appears in an error's Display or Debug, or in logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use vendorlink_shared::VendorName;

use crate::support::{account, secret, Sandbox};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_never_reach_errors_or_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sb = Sandbox::start(json!({})).await;
    // Every vendor fails in several ways: refused credentials, a fault
    // whose body echoes what it was sent, throttling, malformed answers.
    let mut texts = Vec::new();
    let mut credentials = Vec::new();
    for vendor in VendorName::ALL {
        let mut s = secret(vendor);
        let own: Vec<String> = ["api_key", "password", "access_token", "external_id"]
            .iter()
            .filter_map(|field| s.get(*field).and_then(|v| v.as_str()).map(str::to_owned))
            .collect();
        credentials.extend(own.iter().cloned());
        let good = sb.client(vendor, s.clone());
        for fault in [
            json!({"vendor": vendor.as_str(), "status": 400, "count": 3,
                   "body": format!("{{\"error\": \"you sent {}\"}}", own.join(" "))}),
            json!({"vendor": vendor.as_str(), "status": 429, "retry_after": 30, "count": 3}),
            json!({"vendor": vendor.as_str(), "malformed": true, "count": 3}),
        ] {
            sb.fault(fault).await;
            if let Err(e) = good.register(&account(1)).await {
                texts.push(format!("{e} {e:?}"));
            }
            sb.control(reqwest::Method::DELETE, "faults", None).await;
        }
        for field in ["api_key", "password", "access_token"] {
            if s.get(field).is_some() {
                s[field] = json!(format!("WRONG-{vendor}-credential-1234"));
                credentials.push(format!("WRONG-{vendor}-credential-1234"));
            }
        }
        if let Err(e) = sb.client(vendor, s).register(&account(1)).await {
            texts.push(format!("{e} {e:?}"));
        }
    }
    assert!(
        texts.len() >= 15,
        "expected every vendor to fail several times: {texts:#?}"
    );
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for credential in &credentials {
        for text in &texts {
            assert!(
                !text.contains(credential.as_str()),
                "{credential} leaked into: {text}"
            );
        }
        assert!(
            !logs.contains(credential.as_str()),
            "{credential} leaked into the logs"
        );
    }
}

#[tokio::test]
async fn a_gateway_that_quotes_the_request_leaks_no_credential_or_issued_token() {
    // A 502 page quoting the Authorization header: the secrets and the JWT
    // Stellar Cyber issued are masked in the error (and so in everything
    // made from it: the ledger, SNS, the execution's cause, the logs).
    let sb = Sandbox::start(json!({})).await;
    for vendor in VendorName::ALL {
        let s = secret(vendor);
        let own: Vec<String> = ["api_key", "password", "access_token", "external_id"]
            .iter()
            .filter_map(|field| s.get(*field).and_then(|v| v.as_str()).map(str::to_owned))
            .collect();
        let client = sb.client(vendor, s);
        // Stellar Cyber's token is fetched first (a listing needs it), so
        // the echo hits an API request that carries the JWT.
        let _ = client.is_registered(&account(1)).await;
        sb.fault(json!({"vendor": vendor.as_str(), "status": 502, "count": 3,
                        "echo_request": true}))
            .await;
        let err = client.register(&account(1)).await.unwrap_err();
        sb.control(reqwest::Method::DELETE, "faults", None).await;
        let text = format!("{err}\n{err:?}").to_lowercase();
        assert!(
            text.contains("authorization: "),
            "{vendor}: the echo did not reach the error: {text}"
        );
        for credential in &own {
            assert!(
                !text.contains(&credential.to_lowercase()),
                "{vendor}: {credential} leaked: {text}"
            );
        }
        // Whatever scheme, nothing but the mask follows it.
        let mut echoed = 0;
        for line in text
            .split(['\n', '\\'])
            .filter(|l| l.contains("authorization: "))
        {
            echoed += 1;
            let value = line.split("authorization: ").nth(1).unwrap_or_default();
            let credential = value.split_whitespace().last().unwrap_or_default();
            assert!(
                credential.starts_with("<redacted>"),
                "{vendor}: an unmasked credential in {line}"
            );
            if vendor == VendorName::Stellarcyber {
                assert!(line.contains("bearer <redacted>"), "{line}");
            }
        }
        assert!(echoed > 0, "{vendor}: {text}");
    }
}

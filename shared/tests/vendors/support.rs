//! A private vendor sandbox per test (local/sandbox/vendor_sandbox.py), so
//! faults and state never leak between tests; it is killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use std::sync::Arc;
use vendorlink_shared::vendors::AccountToRegister;
use vendorlink_shared::vendors::VendorSecret;
use vendorlink_shared::vendors::{self, Vendor, VendorHttp};
use vendorlink_shared::VendorName;

pub struct Sandbox {
    child: Child,
    pub url: String,
    http: reqwest::Client,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    pub async fn start(seed: Value) -> Sandbox {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!("vendorlink-sandbox-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let seed_path = dir.join("seed.json");
        std::fs::write(&seed_path, seed.to_string()).unwrap();
        let ready = dir.join("port");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../local/sandbox/vendor_sandbox.py");
        let child = Command::new("python3")
            .arg(script)
            .args(["--port", "0", "--exit-with-stdin", "--seed"])
            .arg(&seed_path)
            .arg("--ready-file")
            .arg(&ready)
            // The sandbox stops when this pipe closes: even a test process
            // that dies without dropping it leaves no server behind.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the vendor sandbox (python3)");
        let mut sandbox = Sandbox {
            child,
            url: String::new(),
            http: reqwest::Client::new(),
            _dir: TempDir(dir),
        };
        let started = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                if let Ok(port) = text.trim().parse::<u16>() {
                    break port;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sandbox did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        sandbox.url = format!("http://127.0.0.1:{port}");
        sandbox
    }

    pub fn base(&self, vendor: VendorName) -> String {
        format!("{}/{vendor}", self.url)
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/_sandbox/{path}", self.url));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        assert!(
            res.status().is_success(),
            "control {path}: {}",
            res.status()
        );
        res.json().await.unwrap()
    }

    pub async fn fault(&self, fault: Value) {
        self.control(reqwest::Method::POST, "faults", Some(fault))
            .await;
    }

    pub async fn post(&self, path: &str, body: Value) {
        self.control(reqwest::Method::POST, path, Some(body)).await;
    }

    /// Requests the vendor received, as (method, path) pairs.
    pub async fn requests(&self, vendor: VendorName) -> Vec<(String, String)> {
        self.request_log(vendor)
            .await
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["path"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    pub async fn request_log(&self, vendor: VendorName) -> Vec<Value> {
        let log = self
            .control(
                reqwest::Method::GET,
                &format!("requests?vendor={vendor}"),
                None,
            )
            .await;
        log["requests"].as_array().unwrap().clone()
    }

    pub async fn count(&self, vendor: VendorName, method: &str, path_part: &str) -> usize {
        self.requests(vendor)
            .await
            .iter()
            .filter(|(m, p)| m == method && p.contains(path_part))
            .count()
    }

    pub async fn state(&self) -> Value {
        self.control(reqwest::Method::GET, "state", None).await
    }

    /// A client for one vendor, configured as its secret would configure it.
    pub fn client(&self, vendor: VendorName, mut secret: Value) -> Arc<dyn Vendor> {
        secret["base_url"] = json!(self.base(vendor));
        let parsed = VendorSecret::parse(vendor, "test", &secret.to_string()).unwrap();
        let http = VendorHttp::with_timeouts(Duration::from_secs(2), Duration::from_secs(5))
            .map(|h| h.allowing_loopback_http(true))
            .unwrap()
            .with_backoff(Duration::from_millis(20));
        vendors::connect(&http, parsed).unwrap()
    }
}

/// The sandbox's default credentials, as each vendor's secret holds them.
pub fn secret(vendor: VendorName) -> Value {
    match vendor {
        VendorName::Datatheorem => {
            json!({"api_key": "dt-sandbox-api-key", "aws_account_id": "111122223333",
            "external_id": "dt-external-id-0123456789"})
        }
        VendorName::Skyhigh => {
            json!({"username": "sandbox-admin@example.com", "password": "skyhigh-sandbox-password"})
        }
        VendorName::Cloudcraft => json!({"api_key": "cloudcraft-sandbox-api-key"}),
        VendorName::Risken => json!({"access_token": risken_token(), "project_id": 1001,
            "aws_account_id": "444455556666", "external_id": "risken-external-id-0123"}),
        VendorName::Stellarcyber => {
            json!({"user_id": "api-user@example.com", "api_key": "stellar-sandbox-api-key",
            "tenant_id": "tenant-1",
            "principal_arn": "arn:aws:iam::777788889999:role/stellar-connector",
            "connector_template": {"name": "vendorlink-aws-{{account_id}}", "type": "aws_cloudtrail",
                "cust_id": "{{tenant_id}}",
                "config": {"role_arn": "{{role_arn}}", "bucket": "org-cloudtrail",
                           "prefix": "AWSLogs/{{account_id}}/CloudTrail", "file_type": "gzip"}}})
        }
    }
}

pub fn risken_token() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1001@1@risken-sandbox-token")
}

pub fn account(n: u8) -> AccountToRegister {
    let id = format!("2222222222{n:02}");
    AccountToRegister {
        role_arn: format!("arn:aws:iam::{id}:role/vendorlink-test"),
        unlisted: false,
        account_name: format!("workload-{n}"),
        account_id: id.parse().unwrap(),
    }
}

//! One TLS configuration for the AWS SDK and the vendors' client, over a
//! real TLS handshake: an https server on loopback with a certificate of a
//! throwaway CA (made with the `openssl` command), that CA given as the
//! system's root store (`SSL_CERT_FILE`), and one vendor's own `ca_pem`.
//! A single test: the root store is read once per process.
//! Needs `openssl` and `python3` (run with `--features sandbox`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;
use vendorlink_shared::vendors::{self, VendorHttp, VendorSecret};
use vendorlink_shared::VendorName;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl {args:?}");
}

/// A CA, and a certificate for 127.0.0.1 it signed.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &format!("{name}-server.key"),
            "-out",
            &format!("{name}-server.csr"),
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}-server.csr"),
            "-CA",
            &format!("{name}.pem"),
            "-CAkey",
            &format!("{name}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            &format!("{name}-server.pem"),
        ],
    );
}

/// An https server on loopback answering `{}` to everything.
fn serve(dir: &Path, name: &str) -> (Server, u16) {
    let script = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"{}")
    do_GET = do_POST = do_PUT = do_DELETE = answer
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;
    let mut child = Command::new("python3")
        .args([
            "-c",
            script,
            &format!("{name}-server.pem"),
            &format!("{name}-server.key"),
        ])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server's port");
    (Server(child), port)
}

fn stellar(
    port: u16,
    ca_pem: Option<&str>,
) -> std::sync::Arc<dyn vendorlink_shared::vendors::Vendor> {
    let mut secret = json!({"user_id": "u", "api_key": "k", "tenant_id": "t",
        "principal_arn": "arn:aws:iam::777788889999:role/stellar-connector",
        "connector_template": {"name": "vendorlink-aws-{{account_id}}", "type": "aws_cloudtrail",
            "config": {"role_arn": "{{role_arn}}"}},
        "base_url": format!("https://127.0.0.1:{port}")});
    if let Some(pem) = ca_pem {
        secret["ca_pem"] = json!(pem);
    }
    let parsed =
        VendorSecret::parse(VendorName::Stellarcyber, "test", &secret.to_string()).unwrap();
    vendors::connect(&VendorHttp::new().unwrap(), parsed).unwrap()
}

/// One vendor call over the network (Stellar Cyber's trust parameters
/// come from its secret): the connector listing.
async fn call(port: u16, ca_pem: Option<&str>) -> vendorlink_shared::Result<Option<bool>> {
    stellar(port, ca_pem)
        .is_registered(&vendorlink_shared::vendors::AccountToRegister {
            account_id: "222233334444".parse().unwrap(),
            account_name: "a".into(),
            role_arn: "arn:aws:iam::222233334444:role/r".into(),
            unlisted: false,
        })
        .await
}

/// An STS call to the https server on `port`: its error (the server is not STS).
async fn sts_at(
    sdk: &aws_config::SdkConfig,
    port: u16,
) -> aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError>
{
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .endpoint_url(format!("https://127.0.0.1:{port}"))
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::for_tests())
            .build(),
    );
    sts.get_caller_identity().send().await.unwrap_err()
}

fn tls_failure(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("certificate") || m.contains("tls") || m.contains("connect") || m.contains("sending")
}

#[tokio::test]
async fn the_sdk_and_the_vendors_trust_the_one_root_store_and_a_vendor_ca_replaces_it() {
    let dir = std::env::temp_dir().join(format!("vendorlink-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    make_ca(&dir, "system");
    make_ca(&dir, "vendor");
    // The "system" root store is the first CA only; read once, by both clients.
    std::env::set_var("SSL_CERT_FILE", dir.join("system.pem"));
    std::env::remove_var("SSL_CERT_DIR");
    let (_system, system_port) = serve(&dir, "system");
    let (_vendor, vendor_port) = serve(&dir, "vendor");

    // The AWS SDK completes the handshake with the system store: the call
    // fails only on the answer, which is not STS's.
    let sdk = vendorlink_shared::aws::load_sdk_config().await;
    let err = sts_at(&sdk, system_port).await;
    assert!(
        !matches!(err, aws_sdk_sts::error::SdkError::DispatchFailure(_)),
        "the SDK did not complete the handshake: {err:?}"
    );
    // ...and refuses a server of a CA the store does not hold.
    let err = sts_at(&sdk, vendor_port).await;
    assert!(
        matches!(err, aws_sdk_sts::error::SdkError::DispatchFailure(_)),
        "the SDK trusted a CA outside the store: {err:?}"
    );

    // The vendors' client trusts the same store...
    if let Err(e) = call(system_port, None).await {
        assert!(!tls_failure(&e.to_string()), "{e}");
    }
    let refused = call(vendor_port, None).await.unwrap_err();
    assert!(tls_failure(&refused.to_string()), "{refused}");
    // ...and a vendor's own `ca_pem` replaces it for that vendor only.
    let vendor_ca = std::fs::read_to_string(dir.join("vendor.pem")).unwrap();
    if let Err(e) = call(vendor_port, Some(&vendor_ca)).await {
        assert!(!tls_failure(&e.to_string()), "{e}");
    }
    let not_system = call(system_port, Some(&vendor_ca)).await.unwrap_err();
    assert!(tls_failure(&not_system.to_string()), "{not_system}");
    let _ = std::fs::remove_dir_all(&dir);
}

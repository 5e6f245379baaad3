//! `vendorlink reconcile`: find (and with `--repair`, fix) drift between the
//! ledger and the truth: roles that no longer match their spec, accounts a
//! vendor no longer lists. Then what needs healing (with `--heal`, start
//! the executions that fix it). `vendorlink resolve-unverified` settles what
//! only a person can.
//!
//! By default the deployed reconcile function does the work, with its own
//! permissions (the vendors' secrets, the member role): the operator needs
//! only `lambda:InvokeFunction` on it. `--in-process` runs it here instead,
//! with the operator's own credentials (for a stack too old to answer, or
//! an organization whose report outgrows Lambda's 6 MB answer).

use aws_config::SdkConfig;
use vendorlink_shared::ports::aws::StateMachine;
use vendorlink_shared::tasks::heal::HealAction;
use vendorlink_shared::tasks::{
    self, Context, DriftReport, HealFinding, HealMode, ReconcileOptions, Verdict,
};
use vendorlink_shared::{AccountId, Result, VendorName};

use crate::deployment::Deployment;
use crate::table::{self, Format};

pub async fn run(
    sdk: &SdkConfig,
    deployment: &Deployment,
    options: &ReconcileOptions,
    heal: HealMode,
    in_process: bool,
    format: Format,
) -> Result<crate::Found> {
    let (reports, findings) = if in_process {
        here(sdk, deployment, options, heal).await?
    } else {
        through_function(sdk, deployment, options, heal).await?
    };
    // Exit status 2 for scripts: something drifted, could not be checked,
    // or needs healing (even when --repair or --heal acted on it).
    let found = if findings.is_empty()
        && reports
            .iter()
            .all(|r| r.role.is_empty() && r.error.is_none() && r.registered != Some(false))
    {
        crate::Found::Nothing
    } else {
        crate::Found::Something
    };
    if format == Format::Json {
        let both = serde_json::json!({"drift": reports, "heal": findings});
        println!(
            "{}",
            serde_json::to_string_pretty(&both).unwrap_or_default()
        );
        return Ok(found);
    }
    print!("{}", render(&reports, format));
    print!("{}", render_heal(&findings));
    Ok(found)
}

/// The reconcile, run in this process with the operator's credentials.
async fn here(
    sdk: &SdkConfig,
    deployment: &Deployment,
    options: &ReconcileOptions,
    heal: HealMode,
) -> Result<(Vec<DriftReport>, Vec<HealFinding>)> {
    let ctx = Context::new(deployment.config.clone(), sdk.clone())?;
    let reports = tasks::reconcile_all(&ctx, options).await?;
    let state_machine = match heal {
        HealMode::Start => Some(StateMachine::new(
            aws_sdk_sfn::Client::new(sdk),
            deployment.state_machine()?,
        )),
        HealMode::Report => None,
    };
    let executions = state_machine
        .as_ref()
        .map(|s| s as &dyn vendorlink_shared::ports::Executions);
    let findings = tasks::heal(&ctx, options.account.as_ref(), heal, executions).await?;
    Ok((reports, findings))
}

/// The reconcile, run by the deployed reconcile function (one synchronous
/// invocation, never retried: it may repair; up to its 15-minute timeout).
async fn through_function(
    sdk: &SdkConfig,
    deployment: &Deployment,
    options: &ReconcileOptions,
    heal: HealMode,
) -> Result<(Vec<DriftReport>, Vec<HealFinding>)> {
    use vendorlink_shared::tasks::reconcile::{OperatorRequest, ReconcileMode};
    let function = deployment.reconcile_function()?;
    let request = OperatorRequest {
        account: options.account.clone(),
        repair: options.mode == ReconcileMode::Repair,
        heal: heal == HealMode::Start,
    };
    let payload = serde_json::to_vec(&serde_json::json!({ "reconcile": request }))
        .map_err(|e| vendorlink_shared::Error::bad_input(format!("encoding the request: {e}")))?;
    let once = aws_sdk_lambda::config::Builder::from(sdk)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(std::time::Duration::from_secs(905))
                .operation_timeout(std::time::Duration::from_secs(905))
                .build(),
        );
    let lambda = aws_sdk_lambda::Client::from_conf(once.build());
    let out = lambda
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            vendorlink_shared::aws::aws_error(
                &format!(
                    "invoking the reconcile function {function} (or run it here with --in-process)"
                ),
                e,
            )
        })?;
    let body = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if let Some(kind) = out.function_error() {
        return Err(vendorlink_shared::Error::config(format!(
            "the reconcile function {function} failed ({kind}): {} {}",
            answer["errorType"].as_str().unwrap_or_default(),
            answer["errorMessage"].as_str().unwrap_or_default()
        )));
    }
    if answer["operator"] != serde_json::Value::Bool(true) {
        return Err(vendorlink_shared::Error::config(format!(
            "the reconcile function {function} is older than this CLI and ran its scheduled \
             reconcile instead: deploy this release, or run it here with --in-process"
        )));
    }
    let drift = parse_part(&answer, "drift", function)?;
    let heal = parse_part(&answer, "heal", function)?;
    Ok((drift, heal))
}

fn parse_part<T: serde::de::DeserializeOwned>(
    answer: &serde_json::Value,
    what: &str,
    function: &str,
) -> Result<T> {
    serde_json::from_value(answer[what].clone()).map_err(|e| {
        vendorlink_shared::Error::config(format!(
            "the reconcile function {function} answered no `{what}` report ({e}): is the stack older \
             than this CLI? (--in-process runs it here)"
        ))
    })
}

pub async fn resolve_unverified(
    sdk: &SdkConfig,
    deployment: &Deployment,
    account: &AccountId,
    vendor: VendorName,
    verdict: &Verdict,
    format: Format,
) -> Result<()> {
    let ctx = Context::new(deployment.config.clone(), sdk.clone())?;
    let by = format!(
        "vendorlink-cli:{}",
        std::env::var("USER").unwrap_or_default()
    );
    let entry = tasks::resolve_unverified(&ctx, account, vendor, verdict, &by).await?;
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entry).unwrap_or_default()
        );
    } else {
        println!("{account} {vendor}: {}", entry.state);
    }
    Ok(())
}

/// What needs healing, and what was done about it.
pub fn render_heal(findings: &[HealFinding]) -> String {
    if findings.is_empty() {
        return "Nothing needs healing.\n".into();
    }
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let action = match &f.action {
                HealAction::Reported => "reported".to_owned(),
                HealAction::Started { execution } => format!("started {execution}"),
                HealAction::AlreadyStarted { execution } => {
                    format!("already started {execution}")
                }
                HealAction::StartFailed { error } => format!("start failed: {error}"),
            };
            let problem = serde_json::to_value(f.problem)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            vec![
                f.account_id.to_string(),
                f.vendor.to_string(),
                problem,
                action,
                f.detail.clone(),
            ]
        })
        .collect();
    format!(
        "{}{} need healing{}\n",
        table::render(&["ACCOUNT", "VENDOR", "PROBLEM", "ACTION", "DETAIL"], &rows),
        findings.len(),
        if findings
            .iter()
            .any(|f| f.action == HealAction::Reported && f.problem.startable())
        {
            " (`vendorlink reconcile --heal` starts what an execution can fix)"
        } else {
            ""
        }
    )
}

pub fn render(reports: &[DriftReport], format: Format) -> String {
    if format == Format::Json {
        return serde_json::to_string_pretty(reports).unwrap_or_default() + "\n";
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let role = if r.role.is_empty() {
                "ok".to_owned()
            } else {
                r.role
                    .iter()
                    .map(|d| {
                        serde_json::to_value(d)
                            .ok()
                            .and_then(|v| v["drift"].as_str().map(str::to_owned))
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let registration = match (r.registered, &r.error) {
                (Some(true), _) => "listed",
                (Some(false), _) => "NOT LISTED",
                (None, Some(_)) => "unknown",
                (None, None) => "no lookup API",
            };
            let action = match (&r.error, &r.repair_error, r.drifted(), r.repaired) {
                (Some(error), _, _, _) => format!("not checked: {error}"),
                (None, Some(error), _, _) => format!("repair failed: {error}"),
                (None, None, false, _) => "-".to_owned(),
                (None, None, true, true) => "repaired".to_owned(),
                (None, None, true, false) => "drift".to_owned(),
            };
            vec![
                r.account_id.to_string(),
                r.vendor.to_string(),
                role,
                registration.into(),
                action,
            ]
        })
        .collect();
    let unchecked = reports.iter().filter(|r| r.error.is_some()).count();
    let drifted = reports
        .iter()
        .filter(|r| r.error.is_none() && r.drifted())
        .count();
    format!(
        "{}{} checked, {drifted} drifted{}\n",
        table::render(
            &["ACCOUNT", "VENDOR", "ROLE", "REGISTRATION", "ACTION"],
            &rows
        ),
        reports.len() - unchecked,
        if unchecked > 0 {
            format!(", {unchecked} could not be checked (see ACTION)")
        } else {
            String::new()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vendorlink_shared::member_iam::Drift;
    use vendorlink_shared::VendorName;

    fn report(
        vendor: VendorName,
        role: Vec<Drift>,
        registered: Option<bool>,
        repaired: bool,
    ) -> DriftReport {
        DriftReport {
            account_id: "222222222222".parse().unwrap(),
            vendor,
            role,
            registered,
            repaired,
            error: None,
            repair_error: None,
        }
    }

    #[test]
    fn table_snapshot() {
        let reports = [
            report(VendorName::Datatheorem, vec![], None, false),
            report(
                VendorName::Cloudcraft,
                vec![Drift::RoleMissing],
                Some(true),
                false,
            ),
            report(
                VendorName::Risken,
                vec![Drift::TrustPolicy],
                Some(false),
                true,
            ),
            DriftReport {
                error: Some("Retryable.Throttled [vendor=stellarcyber]: HTTP 429".into()),
                ..report(VendorName::Stellarcyber, vec![], None, false)
            },
            DriftReport {
                repair_error: Some("Fatal.Vendor [vendor=skyhigh]: HTTP 400".into()),
                ..report(VendorName::Skyhigh, vec![], Some(false), false)
            },
        ];
        assert_eq!(
            render(&reports, Format::Table),
            "\
ACCOUNT       VENDOR        ROLE          REGISTRATION   ACTION
------------  ------------  ------------  -------------  ----------------------------------------------------------------
222222222222  datatheorem   ok            no lookup API  -
222222222222  cloudcraft    role_missing  listed         drift
222222222222  risken        trust_policy  NOT LISTED     repaired
222222222222  stellarcyber  ok            unknown        not checked: Retryable.Throttled [vendor=stellarcyber]: HTTP 429
222222222222  skyhigh       ok            NOT LISTED     repair failed: Fatal.Vendor [vendor=skyhigh]: HTTP 400
4 checked, 3 drifted, 1 could not be checked (see ACTION)
"
        );
    }

    #[test]
    fn json_snapshot() {
        let reports = [report(
            VendorName::Skyhigh,
            vec![Drift::ManagedPolicyMissing(
                "arn:aws:iam::aws:policy/SecurityAudit".into(),
            )],
            Some(true),
            false,
        )];
        assert_eq!(
            render(&reports, Format::Json),
            r#"[
  {
    "account_id": "222222222222",
    "vendor": "skyhigh",
    "role": [
      {
        "drift": "managed_policy_missing",
        "policy": "arn:aws:iam::aws:policy/SecurityAudit"
      }
    ],
    "registered": true,
    "repaired": false,
    "error": null,
    "repair_error": null
  }
]
"#
        );
    }
}

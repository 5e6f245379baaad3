//! Finding what the CLI works on: the state machine, the ledger and the
//! configuration, from the deployed stack, explicit flags, or the environment.

use std::collections::HashMap;

use aws_config::SdkConfig;
use vendorlink_shared::config::Config;
use vendorlink_shared::{Error, Result};

pub struct Deployment {
    pub state_machine_arn: Option<String>,
    pub backfill_state_machine_arn: Option<String>,
    pub reconcile_function: Option<String>,
    pub config: Config,
}

/// Stack parameters and the configuration variables they set.
const PARAMETERS: &[(&str, &str)] = &[
    ("Vendors", "VENDORS"),
    ("SecretPrefix", "SECRET_PREFIX"),
    ("MemberRoleName", "MEMBER_ROLE_NAME"),
    ("IncludeOus", "INCLUDE_OUS"),
    ("ExcludeAccounts", "EXCLUDE_ACCOUNTS"),
    ("TagPrefix", "TAG_PREFIX"),
];

impl Deployment {
    /// Flags win; then the stack's outputs and parameters; then the
    /// environment (`VENDORS`, `LEDGER_TABLE`, ...), as the functions read it.
    /// The stack is only read when the flags leave something open.
    pub async fn resolve(
        sdk: &SdkConfig,
        stack_name: &str,
        state_machine_arn: Option<String>,
        backfill_state_machine_arn: Option<String>,
        reconcile_function: Option<String>,
        ledger_table: Option<String>,
    ) -> Result<Deployment> {
        let mut backfill = backfill_state_machine_arn;
        let mut reconcile = reconcile_function;
        let mut vars: HashMap<String, String> = HashMap::new();
        let mut state_machine = state_machine_arn;
        let explicit = state_machine.is_some() && ledger_table.is_some();
        if !explicit {
            let cfn = aws_sdk_cloudformation::Client::new(sdk);
            let out = cfn
                .describe_stacks()
                .stack_name(stack_name)
                .send()
                .await
                .map_err(|e| {
                    vendorlink_shared::aws::aws_error(&format!("reading stack {stack_name} (or pass --state-machine-arn and --ledger-table)"), e)
                })?;
            let stack = out
                .stacks
                .unwrap_or_default()
                .into_iter()
                .next()
                .ok_or_else(|| Error::config(format!("stack {stack_name} not found")))?;
            for output in stack.outputs.unwrap_or_default() {
                match (output.output_key.as_deref(), output.output_value) {
                    (Some("StateMachineArn"), Some(v)) if state_machine.is_none() => {
                        state_machine = Some(v)
                    }
                    (Some("BackfillStateMachineArn"), Some(v)) if backfill.is_none() => {
                        backfill = Some(v)
                    }
                    (Some("ReconcileFunctionArn"), Some(v)) if reconcile.is_none() => {
                        reconcile = Some(v)
                    }
                    (Some("LedgerTableName"), Some(v)) => {
                        vars.insert("LEDGER_TABLE".into(), v);
                    }
                    _ => {}
                }
            }
            for p in stack.parameters.unwrap_or_default() {
                let (Some(key), Some(value)) = (p.parameter_key, p.parameter_value) else {
                    continue;
                };
                if let Some((_, var)) = PARAMETERS.iter().find(|(param, _)| *param == key) {
                    vars.insert((*var).into(), value);
                }
            }
        }
        if let Some(table) = ledger_table {
            vars.insert("LEDGER_TABLE".into(), table);
        }
        let config =
            Config::from_lookup(|key| vars.get(key).cloned().or_else(|| std::env::var(key).ok()))?;
        Ok(Deployment {
            state_machine_arn: state_machine,
            backfill_state_machine_arn: backfill,
            reconcile_function: reconcile,
            config,
        })
    }

    pub fn state_machine(&self) -> Result<&str> {
        self.state_machine_arn.as_deref().ok_or_else(|| {
            Error::config(
                "no state machine: pass --state-machine-arn or --stack-name of a deployed stack",
            )
        })
    }

    pub fn backfill_state_machine(&self) -> Result<&str> {
        self.backfill_state_machine_arn.as_deref().ok_or_else(|| {
            Error::config(
                "no backfill state machine: pass --backfill-state-machine-arn or --stack-name of a deployed stack",
            )
        })
    }

    pub fn reconcile_function(&self) -> Result<&str> {
        self.reconcile_function.as_deref().ok_or_else(|| {
            Error::config(
                "no reconcile function: pass --reconcile-function or --stack-name of a deployed stack (or run it here with --in-process)",
            )
        })
    }
}

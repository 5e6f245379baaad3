//! `vendorlink`: the admin command line. It reads the ledger and the
//! organization, starts the deployed state machines (onboarding, offboarding,
//! backfill) and follows them, and invokes the deployed reconcile function:
//! the work itself runs in AWS. `doctor`, `resolve-unverified` and
//! `reconcile --in-process` run here with the operator's credentials.

mod backfill;
mod deployment;
mod doctor;
mod reconcile;
mod start;
mod status;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vendorlink_shared::tasks::reconcile::ReconcileMode;
use vendorlink_shared::tasks::{HealMode, OffboardRoles, ReconcileOptions, Verdict};

use crate::table::Format;
use vendorlink_shared::{AccountId, ParentId, VendorName};

#[derive(Parser)]
#[command(
    name = "vendorlink",
    version,
    about = "Onboard AWS accounts with your security vendors: the admin command line"
)]
struct Cli {
    /// The deployed CloudFormation stack to find the state machine, ledger and settings in.
    #[arg(long, global = true, default_value = "vendorlink")]
    stack_name: String,
    /// The state machine, instead of reading it from the stack.
    #[arg(long, global = true, env = "VENDORLINK_STATE_MACHINE_ARN")]
    state_machine_arn: Option<String>,
    /// The backfill state machine, instead of reading it from the stack.
    #[arg(long, global = true, env = "VENDORLINK_BACKFILL_STATE_MACHINE_ARN")]
    backfill_state_machine_arn: Option<String>,
    /// The reconcile function (name or ARN), instead of reading it from the stack.
    #[arg(long, global = true, env = "VENDORLINK_RECONCILE_FUNCTION")]
    reconcile_function: Option<String>,
    /// The ledger table, instead of reading it from the stack.
    #[arg(long, global = true, env = "VENDORLINK_LEDGER_TABLE")]
    ledger_table: Option<String>,
    /// The AWS region of the stack (vendorlink lives in us-east-1, where
    /// Organizations events arrive).
    #[arg(long, global = true, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// A named profile of your AWS configuration, as the AWS CLI takes it.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    profile: Option<String>,
    /// Output format (`--format` is the same option).
    #[arg(long = "output", alias = "format", global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Where each account stands with each vendor, from the ledger: for the whole organization a
    /// matrix (a row per account, a column per vendor, totals); for one account or vendor, or with
    /// --detail, a row per registration.
    Status {
        /// Only this account.
        #[arg(long)]
        account: Option<AccountId>,
        /// Only this vendor.
        #[arg(long)]
        vendor: Option<VendorName>,
        /// Only accounts with a registration in this state (claimed, role_ready, registering,
        /// registered, active, unverified, failed, offboarding, offboarded).
        #[arg(long, value_parser = status::parse_state)]
        state: Option<vendorlink_shared::ledger::LedgerState>,
        /// A row per registration (role, reference, age, last error) even for the whole organization.
        #[arg(long)]
        detail: bool,
    },
    /// Bring in the organization's existing accounts: print the plan, start the backfill state
    /// machine in AWS (or join the running one) and follow it to the end. Ctrl-C stops only the
    /// following; running it again resumes.
    Backfill {
        /// Only accounts under these OUs (or roots), instead of the stack's IncludeOus.
        #[arg(long = "ou")]
        ous: Vec<ParentId>,
        /// Never these accounts (in addition to the stack's ExcludeAccounts).
        #[arg(long = "exclude-account")]
        exclude: Vec<AccountId>,
        /// Print the plan and start nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most this many onboardings running (or waiting for their turn) at once (default 200;
        /// the pace holds only while places are free).
        #[arg(long)]
        max_concurrent: Option<u32>,
        /// Start at most this many onboardings a minute (0: no pacing). Default: 18 when Cloudcraft
        /// is enabled (its API allows 20 requests a minute; a backfilled account makes 1, as the
        /// listing is read once per batch), else no pacing.
        #[arg(long)]
        per_minute: Option<u32>,
        /// Accounts planned per batch (default 500, at most 600).
        #[arg(long)]
        batch_size: Option<u32>,
        /// Start the backfill (or find the running one) and return; follow it in the Step Functions
        /// console, or with `vendorlink backfill` again.
        #[arg(long)]
        no_wait: bool,
    },
    /// Check every onboarded account: roles against their spec, vendors' lists against the ledger;
    /// then what needs healing. The deployed reconcile function does it, with its own permissions.
    Reconcile {
        /// Only this account.
        #[arg(long)]
        account: Option<AccountId>,
        /// Fix what drifted: re-ensure roles, register again where a vendor lost the account.
        #[arg(long)]
        repair: bool,
        /// Start the executions that heal what was found: accounts in scope never onboarded (a lost
        /// event), failed items, items stuck for hours. Without it they are only shown.
        #[arg(long)]
        heal: bool,
        /// Run it in this process with your own credentials (vendor secrets, the member role)
        /// instead of the deployed function.
        #[arg(long)]
        in_process: bool,
    },
    /// Settle a registration left `unverified` (the vendor's answer to a create was lost and it
    /// cannot be asked): say whether the vendor's console shows it.
    ResolveUnverified {
        #[arg(long)]
        account: AccountId,
        #[arg(long)]
        vendor: VendorName,
        /// The vendor holds the registration: mark it active.
        #[arg(long, conflicts_with = "absent", required_unless_present = "absent")]
        present: bool,
        /// The vendor's id of the registration, if the console shows one (with --present).
        #[arg(long, requires = "present")]
        reference: Option<String>,
        /// The vendor does not hold it: the next onboarding (or heal) creates it.
        #[arg(long)]
        absent: bool,
    },
    /// Run onboarding again for one account: vendors that failed (or were never done) are tried again; active ones are left as they are.
    Redrive {
        #[arg(long)]
        account: AccountId,
        /// Only these vendors (default: every enabled vendor).
        #[arg(long = "vendor")]
        vendors: Vec<VendorName>,
        /// Follow the execution to its end and print each vendor's outcome (exit status 2 when
        /// it failed).
        #[arg(long)]
        wait: bool,
    },
    /// Remove one account from the vendors and delete its trust roles.
    Offboard {
        #[arg(long)]
        account: AccountId,
        /// Only these vendors (default: every vendor the ledger has it with).
        #[arg(long = "vendor")]
        vendors: Vec<VendorName>,
        /// Leave the trust roles in the account.
        #[arg(long)]
        keep_roles: bool,
        /// Do it without asking (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Follow the execution to its end and print each vendor's outcome (exit status 2 when
        /// it failed).
        #[arg(long)]
        wait: bool,
    },
    /// Before the first account: check every enabled vendor's secret as an onboarding would, read
    /// its trust parameters and make one read-only call to its API. Writes nothing. Exit status 2
    /// when a vendor needs attention.
    Doctor,
    /// Print the shell completion script (e.g. `vendorlink completions bash > /etc/bash_completion.d/vendorlink`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Prints a shell's completion script for `vendorlink`.
fn completions(shell: clap_complete::Shell) {
    use clap::CommandFactory;
    use std::io::Write;
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "vendorlink", &mut script);
    // A closed pipe (`| head`) is the reader's choice, not an error.
    let _ = std::io::stdout().write_all(&script);
}

/// Exit status when the command worked and found something to act on:
/// drift or accounts to heal (reconcile), failed onboardings (backfill), a
/// vendor that needs attention (doctor), an execution that failed (--wait).
/// 1 is an error; 0 all clear.
const FOUND: u8 = 2;

/// What a command that worked found.
pub(crate) enum Found {
    Nothing,
    Something,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        completions(shell);
        return ExitCode::SUCCESS;
    }
    match run(cli).await {
        Ok(Found::Nothing) => ExitCode::SUCCESS,
        Ok(Found::Something) => ExitCode::from(FOUND),
        Err(e) => {
            eprintln!("vendorlink: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> vendorlink_shared::Result<Found> {
    let sdk =
        vendorlink_shared::aws::load_sdk_config_for(&cli.region, cli.profile.as_deref()).await;
    let deployment = deployment::Deployment::resolve(
        &sdk,
        &cli.stack_name,
        cli.state_machine_arn.clone(),
        cli.backfill_state_machine_arn.clone(),
        cli.reconcile_function.clone(),
        cli.ledger_table.clone(),
    )
    .await?;
    let format = cli.format;
    match cli.command {
        // Answered before any AWS set-up (see main).
        Command::Completions { shell } => {
            completions(shell);
            Ok(Found::Nothing)
        }
        Command::Doctor => doctor::run(&sdk, &deployment, format).await,
        Command::Status {
            account,
            vendor,
            state,
            detail,
        } => {
            let query = status::Query {
                account: account.as_ref(),
                vendor,
                state,
                detail,
            };
            status::run(&sdk, &deployment, &query, format).await?;
            Ok(Found::Nothing)
        }
        Command::Backfill {
            ous,
            exclude,
            dry_run,
            max_concurrent,
            per_minute,
            batch_size,
            no_wait,
        } => {
            let options = backfill::Options {
                backfill: vendorlink_shared::tasks::backfill::BackfillOptions {
                    ous,
                    exclude,
                    per_minute,
                    max_concurrent,
                    batch_size,
                },
                dry_run,
                wait: !no_wait,
            };
            backfill::run(&sdk, &deployment, &options, format).await
        }
        Command::Reconcile {
            account,
            repair,
            heal,
            in_process,
        } => {
            let options = ReconcileOptions {
                account,
                mode: if repair {
                    ReconcileMode::Repair
                } else {
                    ReconcileMode::Report
                },
                notify: false,
            };
            let heal = if heal {
                HealMode::Start
            } else {
                HealMode::Report
            };
            reconcile::run(&sdk, &deployment, &options, heal, in_process, format).await
        }
        Command::ResolveUnverified {
            account,
            vendor,
            present,
            reference,
            absent: _,
        } => {
            let verdict = if present {
                Verdict::Present { reference }
            } else {
                Verdict::Absent
            };
            reconcile::resolve_unverified(&sdk, &deployment, &account, vendor, &verdict, format)
                .await?;
            Ok(Found::Nothing)
        }
        Command::Redrive {
            account,
            vendors,
            wait,
        } => start::redrive(&sdk, &deployment, &account, &vendors, wait, format).await,
        Command::Offboard {
            account,
            vendors,
            keep_roles,
            yes,
            wait,
        } => {
            confirm(
                yes,
                &format!(
                    "Remove account {account} from {} and {} its trust roles?",
                    if vendors.is_empty() {
                        "every vendor that has it".to_owned()
                    } else {
                        vendors
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    if keep_roles { "keep" } else { "delete" }
                ),
            )?;
            start::offboard(
                &sdk,
                &deployment,
                &account,
                &vendors,
                if keep_roles {
                    OffboardRoles::Keep
                } else {
                    OffboardRoles::Delete
                },
                wait,
                format,
            )
            .await
        }
    }
}

/// Asks before a destructive command, unless `--yes`; without a terminal to
/// ask on, refuses.
fn confirm(yes: bool, question: &str) -> vendorlink_shared::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    let refused =
        |why: &str| vendorlink_shared::Error::bad_input(format!("{why}: pass --yes to go ahead"));
    if !std::io::stdin().is_terminal() {
        return Err(refused(
            "offboarding needs a confirmation and stdin is not a terminal",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| refused(&format!("could not read the answer ({e})")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(refused("not confirmed")),
    }
}

//! The `privgate` command line: a thin layer over the library. Exit codes: 0 ok, 1 the check
//! found problems (or scan/eval found what it reports), 2 usage or runtime error.
#![forbid(unsafe_code)]

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use privgate::config::{Config, Upstream};
use privgate::policy::PolicySet;
use privgate::redact::{Applied, PseudonymKey, Redaction};

/// privgate: a privacy-compliance proxy for AI chat APIs.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the proxy (HTTPS listener + admin listener).
    Serve(Box<ServeArgs>),
    /// Validate the config and every policy (and run the policies' [[test]] cases).
    Check {
        /// Config file (privgate.toml).
        #[arg(long, env = "PRIVGATE_CONFIG")]
        config: Option<PathBuf>,
        /// Directory of policy files.
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Redact text from stdin with a policy and print it (or the findings, with --json).
    Scan {
        /// Policy id.
        #[arg(long)]
        policy: Option<String>,
        /// Directory of policy files.
        #[arg(long)]
        policies: Option<PathBuf>,
        /// Print findings (byte offsets, entity type, score, action, and the policy's own
        /// recognizer when one found it) as JSON instead of redacted text.
        #[arg(long)]
        json: bool,
    },
    /// The audit trail: query, export (Art. 15), erase (Art. 17), purge, stats, verify. Works on
    /// the data dir of a stopped server, or through the admin API of a server running on it
    /// (token from the PRIVGATE_ADMIN_TOKEN environment variable or --token-file).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        /// Data directory [default: ./data].
        #[arg(long, global = true, default_value = "data")]
        data_dir: PathBuf,
        /// File holding an admin token (mode 0600), used when a server runs on the data dir;
        /// default: the PRIVGATE_ADMIN_TOKEN environment variable.
        #[arg(long, global = true)]
        token_file: Option<PathBuf>,
    },
    /// The consent registry (GDPR Art. 6, 7, 17, 18, 21): record a subject's grant or
    /// withdrawal of consent for a purpose, a restriction of all processing, show or erase what
    /// is recorded. Works on the data dir of a stopped server, or through the admin API of a
    /// server running on it (token from PRIVGATE_ADMIN_TOKEN or --token-file; role consent,
    /// officer or admin).
    Consent {
        #[command(subcommand)]
        command: ConsentCommand,
        /// Data directory [default: the config's server.data_dir, else ./data].
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
        /// Config file (privgate.toml) whose [server] data_dir is used when --data-dir is not
        /// given.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// File holding an admin token (mode 0600), used when a server runs on the data dir;
        /// default: the PRIVGATE_ADMIN_TOKEN environment variable.
        #[arg(long, global = true)]
        token_file: Option<PathBuf>,
        /// Print JSON (one document) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Admin API helpers.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Key management for the audit trail.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        /// Data directory [default: ./data].
        #[arg(long, global = true, default_value = "data")]
        data_dir: PathBuf,
        /// File holding an admin token (mode 0600), used when a server runs on the data dir;
        /// default: the PRIVGATE_ADMIN_TOKEN environment variable.
        #[arg(long, global = true)]
        token_file: Option<PathBuf>,
    },
    /// Score the detector on a labelled JSONL corpus (the format of pii-dev.jsonl): per-entity
    /// precision, recall, F1, F2, leak rate and over-redaction, overall and per language.
    Eval {
        /// The corpus file.
        file: PathBuf,
        /// Policy id whose detector settings are scored.
        #[arg(long)]
        policy: Option<String>,
        /// Directory of policy files.
        #[arg(long)]
        policies: Option<PathBuf>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Prints a fresh random admin token once, and the line to add to `[admin] tokens` (which
    /// holds only its SHA-256).
    Token {
        /// Who holds the token; recorded as the principal of every action taken with it.
        #[arg(long)]
        name: String,
        /// Roles, comma-separated: officer, consent, ops, admin.
        #[arg(long, required = true, value_delimiter = ',', value_parser = ["officer", "consent", "ops", "admin"])]
        roles: Vec<String>,
    },
}

/// A consent event for one purpose.
#[derive(clap::Args, Debug, Clone)]
struct PurposeEventArgs {
    /// The data subject's id (stored only as a keyed blind index).
    #[arg(long)]
    subject: String,
    /// The purpose: lowercase letters, digits, '_' and '-', at most 64.
    #[arg(long)]
    purpose: String,
    /// A reference to the evidence: form id, ticket, document hash.
    #[arg(long)]
    evidence: Option<String>,
    /// Who records it [default: cli, or admin:<token name> through a running server].
    #[arg(long)]
    source: Option<String>,
}

/// A restriction event (all purposes).
#[derive(clap::Args, Debug, Clone)]
struct RestrictionEventArgs {
    /// The data subject's id (stored only as a keyed blind index).
    #[arg(long)]
    subject: String,
    /// A reference to the evidence: the request's ticket, letter, form id.
    #[arg(long)]
    evidence: Option<String>,
    /// Who records it [default: cli, or admin:<token name> through a running server].
    #[arg(long)]
    source: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
enum ConsentCommand {
    /// Records that the subject consented to a purpose (Art. 6(1)(a), 7).
    Grant(PurposeEventArgs),
    /// Records that the subject withdrew consent for, or objected to, a purpose (Art. 7(3), 21).
    Withdraw(PurposeEventArgs),
    /// Restricts all processing of the subject's data (Art. 18).
    Restrict(RestrictionEventArgs),
    /// Lifts a restriction (Art. 18(3)).
    Unrestrict(RestrictionEventArgs),
    /// The subject's current state per purpose, restriction and history. Exit 1 when nothing is
    /// recorded.
    Show {
        /// The data subject's id.
        #[arg(long)]
        subject: String,
    },
    /// Deletes the subject's whole consent history (Art. 17); the subject is then `missing`
    /// for every purpose.
    Erase {
        /// The data subject's id.
        #[arg(long)]
        subject: String,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Re-wraps every data key under a new master key generation and destroys the old one.
    Rotate,
}

#[derive(Subcommand, Debug, Clone)]
enum AuditCommand {
    /// Records matching every filter given (oldest first).
    Query {
        /// Only this data subject's records (a subject id, or `ref:<hex>` as shown in records).
        #[arg(long)]
        subject: Option<String>,
        /// From this time (unix ms, YYYY-MM-DD or RFC 3339 UTC).
        #[arg(long)]
        since: Option<String>,
        /// Before this time.
        #[arg(long)]
        until: Option<String>,
        /// Route template, e.g. /v1/chat/completions.
        #[arg(long)]
        route: Option<String>,
        /// Policy id.
        #[arg(long)]
        policy: Option<String>,
        /// At least one finding of this entity type.
        #[arg(long)]
        entity: Option<String>,
        /// Final decision: forwarded, blocked, error, incomplete.
        #[arg(long)]
        decision: Option<String>,
        /// At most this many records.
        #[arg(long)]
        limit: Option<usize>,
        /// Output format.
        #[arg(long, default_value = "json", value_parser = ["json", "csv", "table"])]
        format: String,
    },
    /// Every record of one data subject as one JSON document (GDPR Art. 15 / 20).
    Export {
        /// The subject id (or `ref:<hex>`).
        #[arg(long)]
        subject: String,
    },
    /// Crypto-shreds a subject's data keys (GDPR Art. 17); the erasure is itself recorded.
    Erase {
        /// The subject id (or `ref:<hex>`).
        #[arg(long)]
        subject: String,
    },
    /// Deletes records stored before a time, or (--retention) applies the retention rules of
    /// the config and its policies: expired kept text is destroyed, expired records become
    /// tombstones (the chain still verifies) and a tombstone prefix is deleted.
    Purge {
        /// Cut-off (unix ms, YYYY-MM-DD or RFC 3339 UTC).
        #[arg(
            long,
            required_unless_present = "retention",
            conflicts_with = "retention"
        )]
        before: Option<String>,
        /// Apply the retention rules ([audit] retention_days and the policies' [retention]).
        #[arg(long)]
        retention: bool,
        /// The config whose rules --retention applies on a stopped server's data dir (a
        /// running server applies its own).
        #[arg(long, env = "PRIVGATE_CONFIG", requires = "retention")]
        config: Option<PathBuf>,
    },
    /// Counts, sizes, sequence range, checkpoints.
    Stats,
    /// Checks the hash chain and every signed checkpoint; names the first bad record.
    Verify {
        /// The checkpoint public key (hex); default: the one in the data dir.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Prints the checkpoint public key (hex) for auditors.
    PublicKey,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Config file (privgate.toml); flags below override it.
    #[arg(long, env = "PRIVGATE_CONFIG")]
    config: Option<PathBuf>,
    /// HTTPS listen address [default: 127.0.0.1:8443].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Admin listen address (/metrics, /healthz, /readyz and the token-protected /admin/... API)
    /// [default: 127.0.0.1:9090].
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Certificates directory; a dev CA and server certificate are generated here if missing.
    #[arg(long)]
    certs_dir: Option<PathBuf>,
    /// Data directory (keys, stores) [default: ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Directory of policy files (the embedded default is always available).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// Policy id to apply [default: gdpr-default].
    #[arg(long)]
    policy: Option<String>,
    /// OpenAI-compatible upstream base URL [default: https://api.openai.com].
    #[arg(long)]
    upstream_openai: Option<String>,
    /// Anthropic upstream base URL [default: https://api.anthropic.com].
    #[arg(long)]
    upstream_anthropic: Option<String>,
    /// Gemini upstream base URL [default: https://generativelanguage.googleapis.com].
    #[arg(long)]
    upstream_gemini: Option<String>,
    /// Ollama upstream base URL [default: http://127.0.0.1:11434].
    #[arg(long)]
    upstream_ollama: Option<String>,
    /// Route every provider to a built-in echo backend (no vendor account or network needed).
    #[arg(long)]
    demo: bool,
    /// Log format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();

    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Check { config, policies } => check(config, policies),
        Command::Scan {
            policy,
            policies,
            json,
        } => scan(policy, policies, json),
        Command::Audit {
            command,
            data_dir,
            token_file,
        } => audit(command, data_dir, token_file),
        Command::Consent {
            command,
            data_dir,
            config,
            token_file,
            json,
        } => consent(command, data_dir, config, token_file, json),
        Command::Keys {
            command: KeysCommand::Rotate,
            data_dir,
            token_file,
        } => keys_rotate(&data_dir, token_file.as_deref()),
        Command::Admin {
            command: AdminCommand::Token { name, roles },
        } => admin_token(&name, &roles),
        Command::Eval {
            file,
            policy,
            policies,
            json,
        } => eval(file, policy, policies, json),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("privgate: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Panic messages can carry request data; the hook prints only where it happened.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        // `privgate eval … | head`: the reader went away. End quietly, as Unix tools do, rather
        // than report an internal error. (std's own message; it holds no data of ours.)
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown location".into());
        eprintln!("privgate: internal error (panic) at {location}; message withheld");
    }));
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(&args.log_format);
    // A core dump would hold prompts in clear: none are written.
    #[cfg(unix)]
    if let Err(e) = rlimit::setrlimit(rlimit::Resource::CORE, 0, 0) {
        tracing::warn!(error = %e, "could not disable core dumps");
    }
    let mut config = load_config(args.config.as_ref())?;
    let s = &mut config.server;
    if let Some(v) = args.listen {
        s.listen = v;
    }
    if let Some(v) = args.admin_listen {
        s.admin_listen = v;
    }
    if let Some(v) = args.certs_dir {
        s.certs_dir = v;
    }
    if let Some(v) = args.data_dir {
        s.data_dir = v;
    }
    if let Some(v) = args.policies {
        s.policies_dir = Some(v);
    }
    if let Some(v) = args.policy {
        s.policy = v;
    }
    if let Some(v) = args.upstream_openai {
        config.upstreams.openai = Upstream::new(&v);
    }
    if let Some(v) = args.upstream_anthropic {
        config.upstreams.anthropic = Upstream::new(&v);
    }
    if let Some(v) = args.upstream_gemini {
        config.upstreams.gemini = Upstream::new(&v);
    }
    if let Some(v) = args.upstream_ollama {
        config.upstreams.ollama = Upstream::new(&v);
    }
    config.validate("command line")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        if args.demo {
            let addr = privgate::demo::start()
                .await
                .context("starting the demo echo backend")?;
            let url = format!("http://{addr}");
            config.upstreams.openai = Upstream::new(&url);
            config.upstreams.anthropic = Upstream::new(&url);
            config.upstreams.gemini = Upstream::new(&url);
            config.upstreams.ollama = Upstream::new(&url);
            println!(
                "privgate: DEMO MODE: every provider is routed to a built-in echo backend at {url}"
            );
        }
        if config.server.uses_dev_certs() {
            let paths = privgate::tls::CertPaths::in_dir(&config.server.certs_dir);
            if privgate::tls::ensure_dev_certs(&paths)? {
                println!(
                    "privgate: generated a development CA and a localhost certificate in {} \
                     (trust {} in your client; use real certificates in production)",
                    config.server.certs_dir.display(),
                    paths.ca.display()
                );
            }
        }
        let server = privgate::proxy::Server::start(config).await?;
        let st = &server.state;
        let policy = st.policy();
        println!(
            "privgate: listening on https://{} (HTTP/1.1 and HTTP/2)",
            server.addr
        );
        println!(
            "privgate: admin on {}://{} (/metrics, /healthz, /readyz, /admin/...; {} token(s))",
            if st.config.admin.tls { "https" } else { "http" },
            server.admin_addr,
            st.config.admin.tokens.len()
        );
        println!(
            "privgate: upstream openai    -> {}",
            st.upstreams.openai.display
        );
        println!(
            "privgate: upstream anthropic -> {}",
            st.upstreams.anthropic.display
        );
        println!(
            "privgate: upstream gemini    -> {}",
            st.upstreams.gemini.display
        );
        println!(
            "privgate: upstream ollama    -> {}",
            st.upstreams.ollama.display
        );
        for g in &st.upstreams.generic {
            println!(
                "privgate: generic route {} ({}) -> {}",
                g.path, g.name, g.upstream.display
            );
        }
        println!(
            "privgate: policy {} (version {}, hash {}, mode {}); data in {}",
            policy.id,
            policy.version,
            policy.version_hash,
            policy.mode.as_str(),
            st.config.server.data_dir.display()
        );
        for r in &st.config.routes {
            println!(
                "privgate: route {}{} -> policy {}{}",
                r.path,
                r.app
                    .as_deref()
                    .map(|a| format!(" (app {a})"))
                    .unwrap_or_default(),
                r.policy.as_deref().unwrap_or(&policy.id),
                r.purpose
                    .as_deref()
                    .map(|p| format!(", purpose {p}"))
                    .unwrap_or_default(),
            );
        }
        // SIGHUP reloads the policies; the task ends with the process.
        #[cfg(unix)]
        {
            let state = server.state.clone();
            tokio::spawn(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut hup) = signal(SignalKind::hangup()) else {
                    return;
                };
                while hup.recv().await.is_some() {
                    let _ = state.reload_policies();
                }
            });
        }
        shutdown_signal().await;
        println!("privgate: shutting down");
        server.shutdown(std::time::Duration::from_secs(10)).await;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn check(config: Option<PathBuf>, policies: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut problems: Vec<String> = Vec::new();
    let config = match load_config(config.as_ref()) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.extend(e.to_string().lines().map(str::to_string));
            None
        }
    };
    let dir = policies.or_else(|| config.as_ref().and_then(|c| c.server.policies_dir.clone()));
    let (set, policy_problems) = match &dir {
        Some(d) => PolicySet::load_dir_partial(d),
        None => (PolicySet::embedded(), Vec::new()),
    };
    problems.extend(policy_problems.iter().map(ToString::to_string));
    if let Some(c) = &config {
        // Unknown policies, purposes a policy does not permit, transfers it forbids.
        problems.extend(privgate::proxy::routing::route_problems(c, &set, true));
    }
    let mut checked = 0;
    for p in set.iter() {
        checked += 1;
        let failures = p.run_tests();
        println!(
            "policy {} ({}): {} test case(s), {} failed",
            p.id,
            p.source,
            p.tests.len(),
            failures.len()
        );
        problems.extend(failures.iter().map(ToString::to_string));
    }
    if problems.is_empty() {
        println!("ok: config and {checked} policies valid");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("{} problem(s) found", problems.len());
        Ok(ExitCode::from(1))
    }
}

/// `privgate audit …`: on the data dir itself, or, when a server runs on it (its `admin.json`
/// names a live process, or the store is locked and `admin.json` exists), through that server's
/// admin API with the same output and exit codes.
fn audit(
    command: AuditCommand,
    data_dir: PathBuf,
    token_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    use privgate::admin::client::Discovery;
    let running = Discovery::read(&data_dir);
    if let Some(d) = running.as_ref().filter(|d| d.alive()) {
        return audit_remote(command, &data_dir, d, token_file.as_deref());
    }
    match audit_local(command.clone(), &data_dir)? {
        Some(code) => Ok(code),
        None => {
            // audit_local returns None only when a discovery file exists (read again: a server
            // may have started in between).
            let d = running
                .or_else(|| Discovery::read(&data_dir))
                .context("the audit store is locked by another process")?;
            audit_remote(command, &data_dir, &d, token_file.as_deref())
        }
    }
}

/// Runs an audit command on the data dir. `Ok(None)`: the store is held by a server that left a
/// discovery file, so the caller goes through its admin API instead.
fn audit_local(
    command: AuditCommand,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<ExitCode>> {
    use privgate::admin::client::Discovery;
    use privgate::audit::{cli, AuditFilter, AuditLog, AuditOptions};
    let data_dir = data_dir.to_path_buf();
    let has_server = Discovery::read(&data_dir).is_some();
    if let AuditCommand::Verify { public_key } = &command {
        // Needs no secret and no lock: an auditor can run it on a copy of the data dir.
        let (report, ok) = match cli::verify(&data_dir, public_key.as_deref()) {
            Ok(r) => r,
            Err(_) if has_server => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        print!("{report}");
        return Ok(Some(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let log = match AuditLog::open(&data_dir, AuditOptions::default()) {
            Ok(log) => log,
            Err(_) if has_server => return Ok(None),
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!(
                    "opening the audit store in {} (is another process using it?)",
                    data_dir.display()
                )))
            }
        };
        let time = |s: &Option<String>| s.as_deref().map(cli::parse_time).transpose();
        let code = match command {
            AuditCommand::Query {
                subject,
                since,
                until,
                route,
                policy,
                entity,
                decision,
                limit,
                format,
            } => {
                let filter = AuditFilter {
                    subject: subject.map(|s| cli::subject_arg(&log, &s)).transpose()?,
                    since_ms: time(&since)?,
                    until_ms: time(&until)?,
                    route,
                    policy,
                    entity,
                    decision,
                    limit,
                };
                let format = cli::Format::parse(&format).unwrap_or_default();
                let (text, n) = cli::query(&log, filter.clone(), format).await?;
                log.record_access("cli", "query", &filter, n as u64).await?;
                print!("{text}");
                if n == 0 {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                }
            }
            other => {
                // Every other command: run it, record the access, print its text.
                let by_subject = |s: &str| {
                    cli::subject_arg(&log, s).map(|subject| AuditFilter {
                        subject: Some(subject),
                        ..AuditFilter::default()
                    })
                };
                let (action, filter, count, text) = match other {
                    AuditCommand::Export { subject } => {
                        let f = by_subject(&subject)?;
                        let subject = f.subject.expect("set by by_subject");
                        ("export", f, 1, cli::export(&log, subject).await?)
                    }
                    AuditCommand::Erase { subject } => {
                        let f = by_subject(&subject)?;
                        let subject = f.subject.expect("set by by_subject");
                        ("erase", f, 1, cli::erase(&log, subject).await?)
                    }
                    AuditCommand::Purge {
                        before: Some(before),
                        ..
                    } => {
                        let before = cli::parse_time(&before)?;
                        let f = AuditFilter {
                            until_ms: Some(before),
                            ..AuditFilter::default()
                        };
                        ("purge", f, 0, cli::purge(&log, before).await?)
                    }
                    AuditCommand::Purge {
                        before: None,
                        config,
                        ..
                    } => {
                        let config = load_config(config.as_ref())?;
                        let policies = match &config.server.policies_dir {
                            Some(dir) => privgate::policy::PolicySet::load_dir(dir)?,
                            None => privgate::policy::PolicySet::embedded(),
                        };
                        let rules = privgate::proxy::retention_rules(&config, &policies);
                        let now = privgate::proxy::auditing::now_ms();
                        let text = cli::apply_retention(&log, rules, now).await?;
                        ("purge", AuditFilter::default(), 0, text)
                    }
                    AuditCommand::Stats => {
                        ("stats", AuditFilter::default(), 0, cli::stats(&log).await?)
                    }
                    AuditCommand::PublicKey => (
                        "public-key",
                        AuditFilter::default(),
                        0,
                        format!("{}\n", log.export_public_key()),
                    ),
                    AuditCommand::Query { .. } => unreachable!("matched above"),
                    AuditCommand::Verify { .. } => {
                        unreachable!("handled before opening the store")
                    }
                };
                log.record_access("cli", action, &filter, count).await?;
                print!("{text}");
                ExitCode::SUCCESS
            }
        };
        log.shutdown();
        Ok::<_, anyhow::Error>(Some(code))
    })
}

/// The admin token for remote audit commands: `--token-file` (mode 0600 or narrower) or the
/// `PRIVGATE_ADMIN_TOKEN` environment variable. Never a flag, so it stays out of `ps` and shell
/// history.
/// `privgate keys rotate`: on a stopped server's data dir directly, or through the admin API of
/// a server running on it (admin role).
fn keys_rotate(
    data_dir: &std::path::Path,
    token_file: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use privgate::admin::client::{self, Discovery};
    use privgate::audit::{AuditLog, AuditOptions};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if let Some(server) = Discovery::read(data_dir).filter(Discovery::alive) {
        let token = admin_token_from(token_file)?.with_context(|| {
            format!(
                "a privgate server (pid {}) runs on {}: key rotation goes through its admin API \
                 and needs a token with the admin role (PRIVGATE_ADMIN_TOKEN or --token-file)",
                server.pid,
                data_dir.display()
            )
        })?;
        let resp = runtime.block_on(client::request(
            &server,
            &token,
            http::Method::POST,
            "/admin/keys/rotate",
            None,
        ))?;
        print!("{}", resp.body);
        return Ok(if resp.status == 200 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        });
    }
    runtime.block_on(async {
        let log = AuditLog::open(data_dir, AuditOptions::default())
            .with_context(|| format!("opening the audit store in {}", data_dir.display()))?;
        let generation = log.rotate_master_key().await?;
        log.shutdown();
        println!(
            "{}",
            serde_json::json!({ "master_key_generation": generation })
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn admin_token_from(
    token_file: Option<&std::path::Path>,
) -> anyhow::Result<Option<privgate::admin::auth::AdminToken>> {
    use privgate::admin::auth::AdminToken;
    if let Some(path) = token_file {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .with_context(|| format!("reading the token file {}", path.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                anyhow::bail!(
                    "the token file {} is readable by others (mode {:o}); chmod 600 it",
                    path.display(),
                    mode & 0o777
                );
            }
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the token file {}", path.display()))?;
        return Ok(Some(AdminToken::new(text.trim().to_string())));
    }
    Ok(std::env::var("PRIVGATE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(|t| AdminToken::new(t.trim().to_string())))
}

/// Runs an audit command through a running server's admin API.
fn audit_remote(
    command: AuditCommand,
    data_dir: &std::path::Path,
    server: &privgate::admin::client::Discovery,
    token_file: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use http::Method;
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let Some(token) = admin_token_from(token_file)? else {
        anyhow::bail!(
            "a privgate server (pid {pid}, admin API at {url}) is running on {dir} and holds the \
             audit store, so this command goes through its admin API, which needs a token: set \
             PRIVGATE_ADMIN_TOKEN or pass --token-file FILE. Create one with \
             `privgate admin token --name NAME --roles officer`, add the line it prints to \
             [admin] tokens in the server's config and restart it (or stop the server and run \
             the command on the data dir)",
            pid = server.pid,
            url = server.url(),
            dir = data_dir.display()
        );
    };
    let mut query: Vec<(&str, String)> = Vec::new();
    let (method, path, body) = match &command {
        AuditCommand::Query {
            subject,
            since,
            until,
            route,
            policy,
            entity,
            decision,
            limit,
            format,
        } => {
            for (k, v) in [
                ("subject", subject),
                ("since", since),
                ("until", until),
                ("route", route),
                ("policy", policy),
                ("entity", entity),
                ("decision", decision),
            ] {
                if let Some(v) = v {
                    query.push((k, v.clone()));
                }
            }
            if let Some(l) = limit {
                query.push(("limit", l.to_string()));
            }
            query.push(("format", format.clone()));
            (Method::GET, "/admin/audit/query", None)
        }
        AuditCommand::Export { subject } => {
            query.push(("subject", subject.clone()));
            (Method::GET, "/admin/audit/export", None)
        }
        AuditCommand::Erase { subject } => (
            Method::POST,
            "/admin/audit/erase",
            Some(serde_json::json!({ "subject": subject })),
        ),
        AuditCommand::Purge { before, .. } => (
            Method::POST,
            "/admin/audit/purge",
            Some(match before {
                Some(before) => serde_json::json!({ "before": before }),
                None => serde_json::json!({ "retention": true }),
            }),
        ),
        AuditCommand::Stats => (Method::GET, "/admin/audit/stats", None),
        AuditCommand::Verify { public_key } => {
            if let Some(k) = public_key {
                query.push(("public_key", k.clone()));
            }
            (Method::GET, "/admin/audit/verify", None)
        }
        AuditCommand::PublicKey => (Method::GET, "/admin/audit/public-key", None),
    };
    let mut target = path.to_string();
    for (i, (k, v)) in query.iter().enumerate() {
        target.push(if i == 0 { '?' } else { '&' });
        target.push_str(k);
        target.push('=');
        target.push_str(&utf8_percent_encode(v, NON_ALPHANUMERIC).to_string());
    }
    let resp = admin_call(server, &token, method, &target, body)?;
    print!("{}", resp.body);
    let header = |name: &str| resp.headers.get(name).and_then(|v| v.to_str().ok());
    let none_found =
        matches!(command, AuditCommand::Query { .. }) && header("x-privgate-count") == Some("0");
    let failed = matches!(command, AuditCommand::Verify { .. })
        && header("x-privgate-verify") == Some("failed");
    Ok(if none_found || failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One admin API request for a CLI command: the answer when it is 200; any other status becomes
/// the error the user sees (token refused, role missing, rate limited, or the server's message).
fn admin_call(
    server: &privgate::admin::client::Discovery,
    token: &privgate::admin::auth::AdminToken,
    method: http::Method,
    target: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<privgate::admin::client::ClientResponse> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let resp = runtime.block_on(privgate::admin::client::request(
        server, token, method, target, body,
    ))?;
    let message = || {
        serde_json::from_str::<serde_json::Value>(&resp.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| resp.body.trim().to_string())
    };
    match resp.status {
        200 => Ok(resp),
        401 => anyhow::bail!(
            "the admin API at {} refused the token (401): check PRIVGATE_ADMIN_TOKEN or \
             --token-file against the server's [admin] tokens",
            server.url()
        ),
        403 => anyhow::bail!("the token may not do this (403): {}", message()),
        429 => anyhow::bail!(
            "too many failed authentications from this host (429): wait a minute and retry"
        ),
        status => anyhow::bail!("the admin API answered {status}: {}", message()),
    }
}

// === consent ===

/// What a consent write asks for, local or remote.
struct ConsentWrite {
    kind: privgate::consent::ConsentEventKind,
    subject: String,
    purpose: Option<String>,
    evidence: Option<String>,
    source: Option<String>,
}

impl ConsentCommand {
    fn write(&self) -> Option<ConsentWrite> {
        use privgate::consent::ConsentEventKind as K;
        let (kind, subject, purpose, evidence, source) = match self {
            ConsentCommand::Grant(a) => (
                K::Grant,
                &a.subject,
                Some(&a.purpose),
                &a.evidence,
                &a.source,
            ),
            ConsentCommand::Withdraw(a) => (
                K::Withdraw,
                &a.subject,
                Some(&a.purpose),
                &a.evidence,
                &a.source,
            ),
            ConsentCommand::Restrict(a) => (K::Restrict, &a.subject, None, &a.evidence, &a.source),
            ConsentCommand::Unrestrict(a) => {
                (K::Unrestrict, &a.subject, None, &a.evidence, &a.source)
            }
            ConsentCommand::Show { .. } | ConsentCommand::Erase { .. } => return None,
        };
        Some(ConsentWrite {
            kind,
            subject: subject.clone(),
            purpose: purpose.cloned(),
            evidence: evidence.clone(),
            source: source.clone(),
        })
    }
}

/// The answer of a consent command, rendered the same whichever way it was obtained.
enum ConsentOutput {
    Recorded(privgate::consent::view::RecordedView),
    Shown(privgate::consent::view::ConsentView),
    Erased(u64),
}

impl ConsentOutput {
    fn print(&self, json: bool) -> ExitCode {
        match self {
            ConsentOutput::Recorded(v) if json => {
                println!("{}", serde_json::to_string(v).unwrap_or_default())
            }
            ConsentOutput::Recorded(v) => print!("{}", v.to_line()),
            ConsentOutput::Shown(v) if json => {
                println!("{}", serde_json::to_string(v).unwrap_or_default())
            }
            ConsentOutput::Shown(v) => print!("{}", v.to_table()),
            ConsentOutput::Erased(n) if json => {
                println!("{}", serde_json::json!({ "events_deleted": n }))
            }
            ConsentOutput::Erased(n) => println!("erased: {n} consent event(s) deleted"),
        }
        match self {
            ConsentOutput::Shown(v) if v.history.is_empty() => ExitCode::from(1),
            _ => ExitCode::SUCCESS,
        }
    }
}

/// `privgate consent …`: on the data dir itself, or, when a server runs on it (its `admin.json`
/// names a live process, or the store is locked and `admin.json` exists), through that server's
/// admin API, printing the same.
fn consent(
    command: ConsentCommand,
    data_dir: Option<PathBuf>,
    config: Option<PathBuf>,
    token_file: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use privgate::admin::client::Discovery;
    use privgate::consent::{ConsentError, ConsentEvent, ConsentRegistry};
    let data_dir = match (data_dir, &config) {
        (Some(d), _) => d,
        (None, Some(c)) => Config::load(c)?.server.data_dir,
        (None, None) => PathBuf::from("data"),
    };
    if let Some(d) = Discovery::read(&data_dir).filter(Discovery::alive) {
        return consent_remote(&command, &data_dir, &d, token_file.as_deref(), json);
    }
    let reg = match ConsentRegistry::open(&data_dir) {
        Ok(r) => r,
        Err(ConsentError::Locked) => {
            let d = Discovery::read(&data_dir)
                .context("the consent store is locked by another process")?;
            return consent_remote(&command, &data_dir, &d, token_file.as_deref(), json);
        }
        Err(e) => {
            return Err(anyhow::Error::from(e).context(format!(
                "opening the consent registry in {}",
                data_dir.display()
            )))
        }
    };
    let out = match (&command, command.write()) {
        (_, Some(w)) => {
            let event = ConsentEvent {
                time_ms: privgate::consent::now_ms(),
                kind: w.kind,
                purpose: w.purpose,
                source: w.source.unwrap_or_else(|| "cli".into()),
                evidence: w.evidence,
            };
            ConsentOutput::Recorded(reg.record_view(&w.subject, event)?)
        }
        (ConsentCommand::Show { subject }, None) => ConsentOutput::Shown(reg.show(subject)?),
        (ConsentCommand::Erase { subject }, None) => {
            ConsentOutput::Erased(reg.erase_subject(subject)?)
        }
        (_, None) => unreachable!("every other command is a write"),
    };
    Ok(out.print(json))
}

/// Runs a consent command through a running server's admin API.
fn consent_remote(
    command: &ConsentCommand,
    data_dir: &std::path::Path,
    server: &privgate::admin::client::Discovery,
    token_file: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use http::Method;
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let Some(token) = admin_token_from(token_file)? else {
        anyhow::bail!(
            "a privgate server (pid {pid}, admin API at {url}) is running on {dir} and holds the \
             consent registry, so this command goes through its admin API, which needs a token: \
             set PRIVGATE_ADMIN_TOKEN or pass --token-file FILE. Create one with \
             `privgate admin token --name NAME --roles consent` (or officer), add the line it \
             prints to [admin] tokens in the server's config and restart it",
            pid = server.pid,
            url = server.url(),
            dir = data_dir.display()
        );
    };
    let (method, target, body) = match (command, command.write()) {
        (_, Some(w)) => {
            let mut body = serde_json::json!({ "subject": w.subject });
            for (k, v) in [
                ("purpose", w.purpose),
                ("evidence", w.evidence),
                ("source", w.source),
            ] {
                if let Some(v) = v {
                    body[k] = serde_json::Value::String(v);
                }
            }
            (
                Method::POST,
                format!("/admin/consent/{}", w.kind.as_str()),
                Some(body),
            )
        }
        (ConsentCommand::Show { subject }, None) => (
            Method::GET,
            format!(
                "/admin/consent/show?subject={}",
                utf8_percent_encode(subject, NON_ALPHANUMERIC)
            ),
            None,
        ),
        (ConsentCommand::Erase { subject }, None) => (
            Method::POST,
            "/admin/consent/erase".to_string(),
            Some(serde_json::json!({ "subject": subject })),
        ),
        (_, None) => unreachable!("every other command is a write"),
    };
    let resp = admin_call(server, &token, method, &target, body)?;
    let unexpected = || format!("unexpected answer from the admin API at {}", server.url());
    let out = match command {
        ConsentCommand::Show { .. } => {
            ConsentOutput::Shown(serde_json::from_str(&resp.body).with_context(unexpected)?)
        }
        ConsentCommand::Erase { .. } => ConsentOutput::Erased(
            serde_json::from_str::<serde_json::Value>(&resp.body)
                .ok()
                .and_then(|v| v["events_deleted"].as_u64())
                .with_context(unexpected)?,
        ),
        _ => ConsentOutput::Recorded(serde_json::from_str(&resp.body).with_context(unexpected)?),
    };
    Ok(out.print(json))
}

/// `privgate admin token`: a fresh token, shown once, and its config line.
fn admin_token(name: &str, roles: &[String]) -> anyhow::Result<ExitCode> {
    if name.trim().is_empty() {
        anyhow::bail!("--name must not be empty");
    }
    let token = privgate::admin::auth::AdminToken::generate();
    let roles: Vec<toml::Value> = roles
        .iter()
        .map(|r| toml::Value::from(r.as_str()))
        .collect();
    println!("token: {}", token.expose());
    println!(
        "(shown once: store it now, e.g. in a file with mode 0600; privgate keeps only its SHA-256)"
    );
    println!();
    println!("add this entry to `tokens = [...]` under [admin] in the server's config:");
    println!(
        "{{ name = {}, sha256 = \"{}\", roles = {} }},",
        toml::Value::from(name),
        token.digest().to_hex(),
        toml::Value::Array(roles)
    );
    Ok(ExitCode::SUCCESS)
}

fn pick_policy(
    policy: Option<String>,
    policies: Option<PathBuf>,
) -> anyhow::Result<std::sync::Arc<privgate::policy::CompiledPolicy>> {
    let set = match &policies {
        Some(d) => PolicySet::load_dir(d)?,
        None => PolicySet::embedded(),
    };
    let id = policy.unwrap_or_else(|| privgate::policy::DEFAULT_POLICY_ID.to_string());
    set.get(&id)
        .with_context(|| format!("policy {id:?} not found (loaded: {})", set.ids().join(", ")))
}

fn eval(
    file: PathBuf,
    policy: Option<String>,
    policies: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let policy = pick_policy(policy, policies)?;
    let records = privgate::eval::load_corpus(&file)?;
    let started = std::time::Instant::now();
    let report = privgate::eval::evaluate(&policy.detector, &records);
    let elapsed = started.elapsed();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "privgate eval: {} records from {} with policy {} ({}), scored in {:.1} ms",
            records.len(),
            file.display(),
            policy.id,
            policy.version_hash,
            elapsed.as_secs_f64() * 1e3
        );
        print!("{}", report.to_table());
    }
    Ok(ExitCode::SUCCESS)
}

fn scan(policy: Option<String>, policies: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let policy = pick_policy(policy, policies)?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading stdin (expected UTF-8 text)")?;
    if json {
        let findings: Vec<_> = policy
            .detector
            .find(&input)
            .into_iter()
            .map(|f| {
                let mut j = serde_json::json!({
                    "start": f.start, "end": f.end, "entity": f.entity.as_str(),
                    "score": (f64::from(f.score) * 1000.0).round() / 1000.0, "action": policy.action_for(f.entity).as_str(),
                });
                // Which [[recognizer]] of the policy found it, when one did.
                if let Some(name) = policy.detector.custom_recognizer_of(&input, &f) {
                    j["recognizer"] = name.into();
                }
                j
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "policy": policy.id, "findings": findings })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut redaction = Redaction::new(PseudonymKey::generate());
    match policy.redact(&input, &mut redaction) {
        Applied::Text(t) => {
            print!("{t}");
            Ok(ExitCode::SUCCESS)
        }
        Applied::Blocked(e) => {
            eprintln!("blocked: the policy {} blocks {e}", policy.id);
            Ok(ExitCode::from(1))
        }
    }
}

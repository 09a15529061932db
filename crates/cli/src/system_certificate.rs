//! `portcullis connector system-certificate generate|import`: writes the connector's system
//! certificate (its TLS client certificate towards back ends, `[backend_tls]`) as the PEM
//! chain and key the connector reads, and prints the lines that use them.
//!
//! Nothing talks to the running connector: it reads the files at its next start (the admin
//! UI and API replace it on the running connector). Both verbs write the same way (key 0600,
//! certificate 0644, nothing replaced without `--force`), and what they write passes the
//! connector's own loader first: the rules are `portcullis_connector::system_cert`'s, the
//! same the admin UI and API call.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use portcullis_connector::pkcs12::ImportError;
use portcullis_connector::system_cert::{self, Pair, SystemCertError};

/// Where `import` looks for the password when no `--password-file` is given. A plain
/// `--password` flag would show in `ps` and in the shell's history.
pub const PASSWORD_ENV: &str = "PORTCULLIS_P12_PASSWORD";

/// Longest PKCS#12 file read: real ones are a few KiB; this keeps a wrong path (a disk
/// image, say) from being read whole.
pub const MAX_P12_LEN: u64 = 1 << 20;

/// `portcullis connector system-certificate`.
#[derive(Debug, clap::Subcommand)]
pub enum SystemCertificateCmd {
    /// Generates a self-signed system certificate; back ends that should accept it need it in
    /// their own trust list.
    Generate(GenerateArgs),
    /// Imports the system certificate and its key from a PKCS#12 (.p12/.pfx) file, as a
    /// customer's PKI issues them. The password comes from --password-file or the
    /// environment variable PORTCULLIS_P12_PASSWORD; with neither, the file is opened
    /// without one.
    Import(ImportArgs),
}

/// Where the pair goes.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Where to write the certificate chain (PEM, mode 0644).
    #[arg(long)]
    pub cert: PathBuf,
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long)]
    pub key: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}

/// `portcullis connector system-certificate generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Subject, e.g. "CN=connector-berlin, O=ACME, C=DE".
    #[arg(long)]
    pub subject: String,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    #[command(flatten)]
    pub target: Target,
}

/// `portcullis connector system-certificate import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The PKCS#12 file (.p12, .pfx).
    #[arg(long)]
    pub p12: PathBuf,
    /// File whose first line is the password (a trailing CR or LF is not part of it). Else
    /// the environment variable PORTCULLIS_P12_PASSWORD; else no password.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Which key to import when the file holds several: its friendly name, or #N for the
    /// N-th. The error for such a file lists them.
    #[arg(long)]
    pub alias: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

/// Runs one verb.
pub fn run(cmd: &SystemCertificateCmd) -> Result<()> {
    match cmd {
        SystemCertificateCmd::Generate(args) => generate(args),
        SystemCertificateCmd::Import(args) => import(args),
    }
}

fn generate(args: &GenerateArgs) -> Result<()> {
    args.target.refuse_overwrite()?;
    let pair = system_cert::generate(&args.subject, args.days).map_err(|e| anyhow!("{e}"))?;
    args.target.write(&pair)?;
    println!(
        "Self-signed system certificate for {:?}, valid {} days.\n{}\n\
         Back ends that should accept it need {} in their own trust list.",
        args.subject,
        args.days,
        args.target.config_lines(),
        args.target.cert.display()
    );
    Ok(())
}

fn import(args: &ImportArgs) -> Result<()> {
    args.target.refuse_overwrite()?;
    let (password, source) = password(args.password_file.as_deref())?;
    let file = read_p12(&args.p12)?;
    let (pair, got) =
        system_cert::import(&file, &password, args.alias.as_deref()).map_err(|e| {
            let SystemCertError::Import(e) = e else {
                return anyhow!("{}: {e}", args.p12.display());
            };
            let hint = match (&e, source) {
                (ImportError::WrongPassword, Source::None) => format!(
                    "wrong password, or the file needs one: give --password-file or \
                 {PASSWORD_ENV} (the file's integrity check, its MAC, failed)"
                ),
                (ImportError::Undecryptable(_), Source::None) => format!(
                    "wrong password, or the file needs one: give --password-file or \
                 {PASSWORD_ENV} ({e})"
                ),
                (ImportError::SeveralKeys(_), _) => format!("{e} with --alias NAME"),
                _ => e.to_string(),
            };
            anyhow!("{}: {hint}", args.p12.display())
        })?;
    args.target.write(&pair)?;
    let not_after = got
        .not_after
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| got.not_after.to_string());
    println!(
        "Imported the system certificate {:?} from {}:\n  \
         subject    {}\n  issuer     {}\n  not after  {}\n  chain      {} certificate(s)\n{}\n\
         Back ends that should accept it must trust its issuer.",
        got.alias,
        args.p12.display(),
        got.subject,
        got.issuer,
        not_after,
        got.chain_len,
        args.target.config_lines()
    );
    if got.not_after < time::OffsetDateTime::now_utc() {
        eprintln!("warning: this certificate expired on {not_after}; back ends will refuse it");
    }
    Ok(())
}

/// Where the password came from: the hint for a failed MAC check depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    File,
    Env,
    None,
}

/// The password: `--password-file`'s first line, else `PORTCULLIS_P12_PASSWORD`, else "".
fn password(file: Option<&Path>) -> Result<(String, Source)> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?;
        let line = text.split('\n').next().unwrap_or_default();
        let line = line.strip_suffix('\r').unwrap_or(line);
        return Ok((line.to_owned(), Source::File));
    }
    match std::env::var(PASSWORD_ENV) {
        Ok(p) => Ok((p, Source::Env)),
        Err(std::env::VarError::NotPresent) => Ok((String::new(), Source::None)),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{PASSWORD_ENV} is not UTF-8 text"),
    }
}

fn read_p12(path: &Path) -> Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_P12_LEN + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_P12_LEN {
        bail!(
            "{}: larger than {} KiB, too large to be a PKCS#12 file",
            path.display(),
            MAX_P12_LEN >> 10
        );
    }
    Ok(bytes)
}

impl Target {
    /// Refuses before anything is read or written, so a refused run changes nothing.
    fn refuse_overwrite(&self) -> Result<()> {
        if self.cert == self.key {
            bail!("--cert and --key name the same file");
        }
        for path in [&self.cert, &self.key] {
            if path.exists() && !self.force {
                bail!("{} exists; use --force to replace it", path.display());
            }
        }
        Ok(())
    }

    /// Writes the key (0600) first, then the chain (0644), replaced files too.
    fn write(&self, pair: &Pair) -> Result<()> {
        system_cert::write_pair(&self.cert, &self.key, pair).map_err(|e| anyhow!("{e}"))
    }

    /// The `[backend_tls]` lines, with absolute paths: the connector resolves relative ones
    /// against its configuration file's directory, not the directory this ran in.
    fn config_lines(&self) -> String {
        let quoted = |p: &Path| {
            let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
            toml::Value::String(p.display().to_string()).to_string()
        };
        format!(
            "Add to the connector's configuration and restart it:\n\n\
             [backend_tls]\n\
             system_certificate = {}\n\
             system_certificate_key = {}\n",
            quoted(&self.cert),
            quoted(&self.key)
        )
    }
}

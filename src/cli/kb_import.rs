//! `triage kb import PAGE --product ID`: reads the page, drafts the product
//! file with `kb::import`, and writes it, or, when the file already exists,
//! shows what changed instead of overwriting it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::kb::import::{self, ImportOptions, PageFormat};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The troubleshooting page: Markdown, HTML or plain text.
    pub page: PathBuf,
    /// The product id (lower-case, e.g. `convot`); entry ids are `ID/slug`.
    #[arg(long)]
    pub product: String,
    /// The product's name as customers know it.
    #[arg(long)]
    pub name: Option<String>,
    /// Write the draft here (name it ID.yaml inside a knowledge directory).
    /// Without it the draft goes to stdout and the report to stderr.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite --out when it exists (by default: show the diff, write nothing).
    #[arg(long)]
    pub force: bool,
    /// The page's format, when its file name does not say.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Also write the review report to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Markdown,
    Html,
    Text,
}

pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.page).with_context(|| format!("reading {}", args.page.display()))?;
    let text = import::page_text(&bytes).with_context(|| format!("{}", args.page.display()))?;
    let format = match args.format {
        Some(FormatArg::Markdown) => PageFormat::Markdown,
        Some(FormatArg::Html) => PageFormat::Html,
        Some(FormatArg::Text) => PageFormat::Text,
        None => PageFormat::detect(&args.page.to_string_lossy(), text),
    };
    let existing = match &args.out {
        Some(p) if p.exists() => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        _ => None,
    };
    let opts = ImportOptions {
        product: args.product.clone(),
        name: args.name.clone(),
        source: args.page.file_name().map_or_else(
            || args.page.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        format,
    };
    let imported = import::import(text, &opts, existing.as_deref())
        .with_context(|| format!("importing {}", args.page.display()))?;
    if let Some(r) = &args.report {
        std::fs::write(r, &imported.report).with_context(|| format!("writing {}", r.display()))?;
    }
    let Some(out) = &args.out else {
        print!("{}", imported.yaml);
        eprint!("{}", imported.report);
        return Ok(ExitCode::SUCCESS);
    };
    if out.file_stem().and_then(|s| s.to_str()) != Some(args.product.as_str()) {
        eprintln!(
            "note: `kb check` wants a product file named {}.yaml",
            args.product
        );
    }
    let mut stdout = std::io::stdout().lock();
    match &existing {
        Some(old) if *old == imported.yaml => {
            writeln!(stdout, "{} is up to date with the page", out.display())?;
        }
        Some(old) if !args.force => {
            writeln!(
                stdout,
                "{} exists; what importing the page again would change (nothing written; \
                 --force overwrites):",
                out.display()
            )?;
            let diff = similar::TextDiff::from_lines(old.as_str(), imported.yaml.as_str());
            write!(
                stdout,
                "{}",
                diff.unified_diff()
                    .context_radius(2)
                    .header(&out.display().to_string(), "page")
            )?;
            return Ok(ExitCode::from(1));
        }
        _ => {
            std::fs::write(out, &imported.yaml)
                .with_context(|| format!("writing {}", out.display()))?;
            writeln!(stdout, "wrote {}", out.display())?;
        }
    }
    write!(stdout, "\n{}", imported.report)?;
    Ok(ExitCode::SUCCESS)
}

//! `--generate man|complete-bash|complete-zsh|complete-fish`: the man page and completion
//! scripts, made from the clap definitions (the drop-in's and `run`'s), so they cannot drift.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Arg, Command};

pub(crate) fn print(what: &str) -> Result<ExitCode, String> {
    let mut out = Vec::new();
    match what {
        "man" => man(&mut out).map_err(|e| e.to_string())?,
        shell => {
            let shell = match shell {
                "complete-bash" => clap_complete::Shell::Bash,
                "complete-zsh" => clap_complete::Shell::Zsh,
                _ => clap_complete::Shell::Fish,
            };
            clap_complete::generate(shell, &mut full_command(), "sdnotify", &mut out);
        }
    }
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| format!("cannot write: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The drop-in's command with `run` and `ctl` as subcommands, as shells complete them.
fn full_command() -> Command {
    crate::args::command()
        .subcommand(crate::run::command().name("run"))
        .subcommand(crate::run::control::command().name("ctl"))
}

fn man(out: &mut Vec<u8>) -> std::io::Result<()> {
    let page = clap_mangen::Man::new(crate::args::command()).section("1");
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    out.extend_from_slice(RUN_INTRO.as_bytes());
    for arg in crate::run::command().get_arguments() {
        run_option(arg, out);
    }
    out.extend_from_slice(run_after_help().as_bytes());
    out.extend_from_slice(CTL_INTRO.as_bytes());
    for arg in crate::run::control::command().get_arguments() {
        run_option(arg, out);
    }
    let ctl_help = crate::run::control::command()
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let _ = write!(
        out,
        ".PP\n{}\n",
        roff_text(&ctl_help.lines().collect::<Vec<_>>().join(" "))
    );
    out.extend_from_slice(SECTIONS.as_bytes());
    page.render_version_section(out)?;
    Ok(())
}

/// One `sdnotify run` option as a roff `.TP` paragraph, from its clap definition.
fn run_option(arg: &Arg, out: &mut Vec<u8>) {
    let Some(long) = arg.get_long() else {
        // The command itself (CMD [ARGS]…), shown in the synopsis.
        return;
    };
    let mut head = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
    if let Some(names) = arg.get_value_names() {
        head.push_str(&format!("=\\fI{}\\fR", names.join(" ")));
    }
    let mut text = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && long != "help" {
        text.push_str(&format!(" [default: {}]", defaults.join(", ")));
    }
    let _ = write!(out, ".TP\n{head}\n{}\n", roff_text(&text));
}

/// `run`'s after-help: paragraphs, and its exit codes (`  124  text`) as a tagged list.
fn run_after_help() -> String {
    let text = crate::run::command()
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut out = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, out: &mut String| {
        if !paragraph.is_empty() {
            out.push_str(".PP\n");
            out.push_str(&roff_text(&paragraph.join(" ")));
            out.push('\n');
            paragraph.clear();
        }
    };
    for line in text.lines().map(str::trim) {
        let code = line
            .split_once("  ")
            .filter(|(n, _)| n.bytes().all(|b| b.is_ascii_digit()));
        match code {
            Some((number, meaning)) if !number.is_empty() => {
                flush(&mut paragraph, &mut out);
                out.push_str(&format!(".TP\n\\fB{number}\\fR\n{}\n", roff_text(meaning.trim())));
            }
            _ if line.is_empty() => flush(&mut paragraph, &mut out),
            _ => paragraph.push(line),
        }
    }
    flush(&mut paragraph, &mut out);
    out
}

/// Plain text for a roff paragraph: backslashes and hyphens escaped, no line taken for a
/// request.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

const RUN_INTRO: &str = r".SH SDNOTIFY RUN
\fBsdnotify run\fR [\fIOPTIONS\fR] \fB\-\-\fR \fICMD\fR [\fIARGS\fR...]
.PP
A local supervisor that plays systemd's part, for developing and testing a service without
systemd. It creates a private notification socket, starts \fICMD\fR with \fBNOTIFY_SOCKET\fR
set (and \fBWATCHDOG_USEC\fR/\fBWATCHDOG_PID\fR with \fB\-\-watchdog\fR), reports each
notification as an event, and enforces what systemd enforces: the start timeout, the watchdog,
\fBNotifyAccess=\fR, the notify\-reload handshake, main\-process handover (\fBMAINPID=\fR,
\fBMAINPIDFD=1\fR) to a live process of the service only, and ending every descendant by
\fB\-\-kill\-mode\fR, as a cgroup would.
";

const CTL_INTRO: &str = r".SH SDNOTIFY CTL
\fBsdnotify ctl\fR [\fB\-\-json\fR] \fINAME\fR \fBstatus\fR|\fBreload\fR|\fBrestart\fR|\fBstop\fR
.PP
Controls an \fBsdnotify run \-\-name\fR \fINAME\fR, as \fBsystemctl\fR controls a unit.
";

const SECTIONS: &str = r#".SH EXIT STATUS
.TP
\fB0\fR
The notification was sent (and, without \fB\-\-no\-block\fR, the manager confirmed it), or
\fB\-\-help\fR, \fB\-\-version\fR, \fB\-\-generate\fR, or \fB\-\-booted\fR on a system booted
with systemd.
.TP
\fB1\fR
Any failure: \fBNOTIFY_SOCKET\fR unset, a value refused, the manager unreachable, no arguments.
.PP
\fBsdnotify run\fR exits with the main process's own status (128+N when killed by signal N),
or with one of its own codes, listed under SDNOTIFY RUN above.
.SH DIFFERENCES FROM SYSTEMD\-NOTIFY
.IP \(bu 2
A backslash in a value is sent escaped (\e\e), so the manager shows it as written;
systemd\-notify's backslashes vanish in the manager's parser.
.IP \(bu 2
A value with a line feed, carriage return or NUL is refused with exit 1 and nothing is sent;
systemd\-notify sends it and the manager splits or drops it. So is a \fBSTATUS=\fR that is not
UTF\-8, which the manager would ignore.
.IP \(bu 2
A failing sdnotify does not report its own \fBERRNO=\fR/\fBEXIT_STATUS=\fR to the manager.
.IP \(bu 2
\fB\-\-generate\fR and the \fBrun\fR command exist only here.
.SH EXAMPLES
.TP
Tell the manager a script's service is ready, with a status:
\fBsdnotify \-\-ready \-\-status="serving on :8080"\fR
.TP
Hand descriptor 3 to the service manager's fd store, under a name:
\fBsdnotify \-\-fd=3 \-\-fdname=http\fR
.TP
Run a service as systemd would, with a 2 s watchdog, and see what it reports:
\fBsdnotify run \-\-watchdog=2s \-\- ./my\-service\fR
.TP
The same for scripts, one JSON object per event:
\fBsdnotify run \-\-json \-\-timeout\-start=10s \-\- ./my\-service | jq .event\fR
.SH SEE ALSO
\fBsystemd\-notify\fR(1), \fBsd_notify\fR(3), \fBsystemd.service\fR(5), \fBsystemd.time\fR(7)
"#;

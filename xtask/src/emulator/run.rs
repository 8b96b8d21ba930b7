//! Boots one image in the emulator: own temporary directory, bochsrc, COM1 streamed to
//! stdout and a log, stopped at the first `TESSERA-RESULT:` line or at the timeout.

use super::bochsrc::{self, BochsConfig};
use super::result::{parse_ips_line, parse_result_line, parse_summary_line, strip_ansi, Verdict};
use super::{iso, Emulator};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One run's parameters.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub image: PathBuf,
    pub cpus: u32,
    pub memory_mib: u32,
    pub timeout_s: u64,
    pub ipiv: bool,
    /// Offer APIC-timer virtualization (`cpu: timer_virt`).
    pub timer_virt: bool,
    pub quantum: u32,
    /// Copy COM1 output to stdout as it arrives (prefixed with `label` if non-empty).
    pub echo: bool,
    pub label: String,
    /// Also send each COM1 line here as it arrives (progress displays).
    pub lines: Option<std::sync::mpsc::Sender<String>>,
}

impl RunSpec {
    /// The emulator board of the project: 4 CPUs, 256 MiB, IPIv on.
    pub fn new(image: PathBuf) -> RunSpec {
        RunSpec {
            image,
            cpus: 4,
            memory_mib: 256,
            timeout_s: 300,
            ipiv: true,
            timer_virt: true,
            quantum: 16,
            echo: true,
            label: String::new(),
            lines: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Reported(Verdict),
    Timeout,
    EmulatorExited(String),
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub ending: Ending,
    pub elapsed: Duration,
    /// From the emulator's start to the image's first COM1 output (BIOS, GRUB and loading).
    pub first_output: Option<Duration>,
    /// Average emulated instructions per wall-clock second, as Bochs reported it.
    pub ips: Option<u64>,
    /// COM1 output, whole.
    pub serial: String,
    /// Kept when the run did not pass (serial log, bochs log, bochsrc); removed on pass.
    pub kept_dir: Option<PathBuf>,
}

impl RunOutcome {
    pub fn passed(&self) -> bool {
        self.ending == Ending::Reported(Verdict::Pass)
    }

    /// The `SUMMARY` lines as printed (a guest's behind its `[<partition>] ` prefix).
    pub fn summary_lines(&self) -> Vec<&str> {
        let lines = self.serial.lines().map(str::trim);
        lines
            .filter(|line| parse_summary_line(line).is_some())
            .collect()
    }

    /// The `SUMMARY` lines the hypervisor itself printed (never a guest's), parsed.
    pub fn hypervisor_summaries(&self) -> Vec<Vec<(String, String)>> {
        hypervisor_summaries(&self.serial)
    }
}

/// The `SUMMARY` lines of COM1 log `serial` that the hypervisor itself printed (never a guest's),
/// parsed.
pub fn hypervisor_summaries(serial: &str) -> Vec<Vec<(String, String)>> {
    let own = serial
        .lines()
        .filter(|line| super::source::is_hypervisor(line));
    own.filter_map(parse_summary_line).collect()
}

/// Boots `spec.image` with `emulator` and waits for its verdict.
pub fn run(emulator: &Emulator, spec: &RunSpec) -> Result<RunOutcome, String> {
    let dir = tempfile::Builder::new()
        .prefix("tessera-emu-")
        .tempdir()
        .map_err(|e| format!("cannot create a run directory: {e}"))?;
    // Bochs runs in the run directory: the image path must not be relative.
    let image = fs::canonicalize(&spec.image)
        .map_err(|e| format!("cannot read image {}: {e}", spec.image.display()))?;
    let medium = iso::boot_medium(&image, dir.path())?;
    let config = BochsConfig {
        cpus: spec.cpus,
        memory_mib: spec.memory_mib,
        quantum: spec.quantum,
        ipiv: spec.ipiv,
        timer_virt: spec.timer_virt,
        bios: emulator.bios.clone(),
        vga_bios: emulator.vga_bios.clone(),
        medium,
        serial_log: dir.path().join("com1.log"),
        bochs_log: dir.path().join("bochs.log"),
    };
    let rc_path = dir.path().join("bochsrc");
    fs::write(&rc_path, bochsrc::render(&config)).map_err(|e| e.to_string())?;
    fs::write(&config.serial_log, "").map_err(|e| e.to_string())?;
    let mut outcome = supervise(emulator, spec, &rc_path, &config)?;
    if !outcome.passed() {
        outcome.kept_dir = Some(dir.keep());
    }
    Ok(outcome)
}

fn supervise(
    emulator: &Emulator,
    spec: &RunSpec,
    rc_path: &Path,
    config: &BochsConfig,
) -> Result<RunOutcome, String> {
    let started = Instant::now();
    let mut child = Command::new(&emulator.bochs)
        .arg("-q")
        .arg("-f")
        .arg(rc_path)
        .current_dir(rc_path.parent().expect("bochsrc has a directory"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", emulator.bochs.display()))?;
    let ips = watch_ips(&mut child);
    let mut serial = SerialTail::open(&config.serial_log, started)?;
    let timeout = Duration::from_secs(spec.timeout_s);
    let ending = loop {
        for line in serial.new_lines()? {
            echo(spec, &line);
            if let Some(verdict) = parse_result_line(&line) {
                break_with(&mut child);
                return Ok(finish(Ending::Reported(verdict), started, &ips, serial));
            }
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let tail = super::compile::tail(&config.bochs_log, 15);
            break Ending::EmulatorExited(format!(
                "{status}; last lines of the Bochs log:\n{tail}"
            ));
        }
        if started.elapsed() >= timeout {
            break_with(&mut child);
            break Ending::Timeout;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for line in serial.new_lines()? {
        echo(spec, &line);
    }
    Ok(finish(ending, started, &ips, serial))
}

fn finish(
    ending: Ending,
    started: Instant,
    ips: &Arc<Mutex<Option<u64>>>,
    serial: SerialTail,
) -> RunOutcome {
    RunOutcome {
        ending,
        elapsed: started.elapsed(),
        first_output: serial.first_output,
        ips: *ips.lock().expect("ips lock"),
        serial: serial.text,
        kept_dir: None,
    }
}

fn echo(spec: &RunSpec, line: &str) {
    if let Some(lines) = &spec.lines {
        let _ = lines.send(line.to_string());
    }
    if spec.echo {
        if spec.label.is_empty() {
            println!("{line}");
        } else {
            println!("[{}] {line}", spec.label);
        }
    }
}

fn break_with(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads Bochs's stdout in a thread and keeps the latest average IPS it prints.
fn watch_ips(child: &mut Child) -> Arc<Mutex<Option<u64>>> {
    let ips = Arc::new(Mutex::new(None));
    if let Some(stdout) = child.stdout.take() {
        let ips = Arc::clone(&ips);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(value) = parse_ips_line(&line) {
                    *ips.lock().expect("ips lock") = Some(value);
                }
            }
        });
    }
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
    }
    ips
}

/// Follows the COM1 log file as Bochs appends to it, yielding complete lines.
struct SerialTail {
    file: File,
    pending: String,
    text: String,
    started: Instant,
    first_output: Option<Duration>,
}

impl SerialTail {
    fn open(path: &Path, started: Instant) -> Result<SerialTail, String> {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(SerialTail {
            file,
            pending: String::new(),
            text: String::new(),
            started,
            first_output: None,
        })
    }

    fn new_lines(&mut self) -> Result<Vec<String>, String> {
        let mut bytes = Vec::new();
        self.file
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if !bytes.is_empty() && self.first_output.is_none() {
            self.first_output = Some(self.started.elapsed());
        }
        let chunk = String::from_utf8_lossy(&bytes).replace('\r', "");
        self.text.push_str(&chunk);
        self.pending.push_str(&chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.find('\n') {
            lines.push(strip_ansi(&self.pending[..end]));
            self.pending.drain(..=end);
        }
        Ok(lines)
    }
}

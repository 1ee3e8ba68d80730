//! Running as PID 1 inside a VM (`exile-conformance --init`, or started as
//! `/init`): mount the pseudo filesystems, apply the boot options from
//! `/proc/cmdline`, run every probe, write JSON lines to the serial device
//! named by `exile.out=`, power off.
//!
//! Kernel command line options:
//! - `exile.out=/dev/ttyS1` — where the JSON lines go (default `/dev/console`);
//! - `exile.sysctl=key=value` — set before the probes (repeatable), e.g.
//!   `exile.sysctl=user.max_user_namespaces=0`;
//! - `exile.persona=VERSION` — emulate an older kernel.

use std::io::Write;

/// Options read from the kernel command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootOptions {
    /// Output device.
    pub out: Option<String>,
    /// sysctls to set (dotted key, value).
    pub sysctls: Vec<(String, String)>,
    /// Persona to emulate.
    pub persona: Option<String>,
}

impl BootOptions {
    /// Parse a kernel command line.
    ///
    /// ```
    /// let o = exile_conformance::init::BootOptions::parse(
    ///     "console=ttyS0 exile.out=/dev/ttyS1 exile.sysctl=user.max_user_namespaces=0 exile.persona=4.14");
    /// assert_eq!(o.out.as_deref(), Some("/dev/ttyS1"));
    /// assert_eq!(o.sysctls, vec![("user.max_user_namespaces".to_string(), "0".to_string())]);
    /// assert_eq!(o.persona.as_deref(), Some("4.14"));
    /// ```
    pub fn parse(cmdline: &str) -> BootOptions {
        let mut o = BootOptions::default();
        for word in cmdline.split_whitespace() {
            if let Some(v) = word.strip_prefix("exile.out=") {
                o.out = Some(v.to_owned());
            } else if let Some(v) = word.strip_prefix("exile.sysctl=") {
                if let Some((k, val)) = v.split_once('=') {
                    o.sysctls.push((k.to_owned(), val.to_owned()));
                }
            } else if let Some(v) = word.strip_prefix("exile.persona=") {
                o.persona = Some(v.to_owned());
            }
        }
        o
    }
}

fn mount(source: &str, target: &str, fstype: &str) -> Result<(), String> {
    // create_dir, not create_dir_all: the latter stats an existing
    // directory, and std would cache "statx works" before a persona that
    // hides statx is entered (see `persona`). Mount points are top-level.
    let _ = std::fs::create_dir(target);
    // /dev must allow device nodes (the serial port is one).
    let flags = if fstype == "devtmpfs" {
        nix::mount::MsFlags::MS_NOSUID
    } else {
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV
    };
    nix::mount::mount(Some(source), target, Some(fstype), flags, None::<&str>)
        .or_else(|e| {
            if e == nix::errno::Errno::EBUSY {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|e| format!("mount {fstype} on {target}: {e}"))
}

/// Read a small file without `fs::read_to_string`, whose size hint is a
/// `statx` (see [`mount`] on why none may run before the persona).
fn read_plain(path: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk)? {
            0 => break,
            n => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `ip link set lo up`: SIOCSIFFLAGS on a datagram socket.
fn loopback_up() -> std::io::Result<()> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
    let mut req = [0u8; 40]; // struct ifreq
    req[..2].copy_from_slice(b"lo");
    let flags = (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as i16;
    req[16..18].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: SIOCSIFFLAGS reads an ifreq-sized buffer we own.
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&sock),
            libc::SIOCSIFFLAGS,
            req.as_mut_ptr(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Prepare the VM: pseudo filesystems and sysctls. Returns the options.
pub fn setup() -> Result<BootOptions, String> {
    mount("proc", "/proc", "proc")?;
    mount("sysfs", "/sys", "sysfs")?;
    mount("devtmpfs", "/dev", "devtmpfs")?;
    mount("tmpfs", "/tmp", "tmpfs")?;
    let cmdline = read_plain("/proc/cmdline").map_err(|e| format!("/proc/cmdline: {e}"))?;
    let options = BootOptions::parse(&cmdline);
    // Like any booted system, with lo up: probes that cannot make a
    // private network namespace (no user namespaces) use this one.
    loopback_up().map_err(|e| format!("bringing lo up: {e}"))?;
    for (key, value) in &options.sysctls {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| format!("sysctl {key}={value}: {e}"))?;
    }
    Ok(options)
}

/// Open the output device of the options (or the console).
pub fn output(options: &BootOptions) -> Box<dyn Write> {
    let path = options.out.as_deref().unwrap_or("/dev/console");
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => Box::new(f),
        Err(_) => Box::new(std::io::stdout()),
    }
}

/// Power the VM off (PID 1 must never exit).
pub fn power_off() -> ! {
    nix::unistd::sync();
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

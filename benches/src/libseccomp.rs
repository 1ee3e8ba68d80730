//! libseccomp, loaded at run time (`dlopen("libseccomp.so.2")`), so that
//! the workspace builds and its tests pass where libseccomp is not
//! installed, and statically linked binaries never try to load it.
//!
//! Only the handful of functions needed to build a filter and export its
//! BPF are used: `seccomp_init`, `seccomp_attr_set`,
//! `seccomp_rule_add_exact_array`, `seccomp_export_bpf_mem` (libseccomp ≥
//! 2.6) or else `seccomp_export_bpf` into a memfd, `seccomp_release`,
//! `seccomp_version`.

use std::fmt;

use exile::seccomp::bpf::SockFilter;

/// `SCMP_FLTATR_ACT_BADARCH`: the action for a foreign architecture.
pub const ATTR_ACT_BADARCH: u32 = 2;
/// `SCMP_FLTATR_CTL_NNP`: set no_new_privs when loading (unused on export).
pub const ATTR_CTL_NNP: u32 = 3;
/// `SCMP_FLTATR_CTL_OPTIMIZE`: 1 = rules in priority order, 2 = a binary
/// tree sorted by system call number (libseccomp ≥ 2.5).
pub const ATTR_CTL_OPTIMIZE: u32 = 8;

/// `enum scmp_compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub enum ScmpCompare {
    /// `SCMP_CMP_NE`
    Ne = 1,
    /// `SCMP_CMP_LT`
    Lt = 2,
    /// `SCMP_CMP_LE`
    Le = 3,
    /// `SCMP_CMP_EQ`
    Eq = 4,
    /// `SCMP_CMP_GE`
    Ge = 5,
    /// `SCMP_CMP_GT`
    Gt = 6,
    /// `SCMP_CMP_MASKED_EQ`: `(arg & datum_a) == datum_b`.
    MaskedEq = 7,
}

/// `struct scmp_arg_cmp`: a 64-bit comparison of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ScmpArgCmp {
    /// Argument index, 0..=5.
    pub arg: libc::c_uint,
    /// The comparison.
    pub op: ScmpCompare,
    /// The value (the mask for [`ScmpCompare::MaskedEq`]).
    pub datum_a: u64,
    /// The value for [`ScmpCompare::MaskedEq`].
    pub datum_b: u64,
}

/// Why libseccomp could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LibError {
    /// The library is not there (or this binary cannot load libraries).
    NotFound(String),
    /// A libseccomp call failed (`-errno`).
    Call {
        /// The function.
        function: &'static str,
        /// Its negative errno.
        rc: i32,
    },
    /// The exported program is not a whole number of instructions.
    BadExport(usize),
}

impl fmt::Display for LibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibError::NotFound(why) => write!(f, "skipped: {why}"),
            LibError::Call { function, rc } => write!(
                f,
                "{function} failed: {}",
                std::io::Error::from_raw_os_error(-rc)
            ),
            LibError::BadExport(n) => write!(f, "exported {n} bytes: not whole instructions"),
        }
    }
}

impl std::error::Error for LibError {}

/// A rule to add: action, system call number, comparisons (ANDed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScmpRule {
    /// `SCMP_ACT_*` (the kernel's `SECCOMP_RET_*` value).
    pub action: u32,
    /// The native system call number.
    pub nr: u32,
    /// The comparisons.
    pub cmps: Vec<ScmpArgCmp>,
}

/// What to build: defaults, optimisation level and rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScmpFilter {
    /// Default action.
    pub default_action: u32,
    /// Action for a foreign architecture (and, on x86_64, x32 numbers).
    pub bad_arch_action: u32,
    /// `SCMP_FLTATR_CTL_OPTIMIZE`: 2 for the binary tree.
    pub optimize: u32,
    /// The rules, added in order.
    pub rules: Vec<ScmpRule>,
}

/// The loaded library's version, `(major, minor, micro)`.
pub fn version() -> Result<(u32, u32, u32), LibError> {
    imp::version()
}

/// Build `filter` with libseccomp and export its BPF.
pub fn export(filter: &ScmpFilter) -> Result<Vec<SockFilter>, LibError> {
    imp::export(filter)
}

#[cfg(target_feature = "crt-static")]
mod imp {
    use super::*;

    pub fn version() -> Result<(u32, u32, u32), LibError> {
        Err(LibError::NotFound(
            "statically linked binary: libseccomp.so.2 not loaded".into(),
        ))
    }

    pub fn export(_: &ScmpFilter) -> Result<Vec<SockFilter>, LibError> {
        version().map(|_| Vec::new())
    }
}

#[cfg(not(target_feature = "crt-static"))]
mod imp {
    use std::ffi::{c_void, CStr};
    use std::sync::OnceLock;

    use super::*;

    type Ctx = *mut c_void;

    #[repr(C)]
    struct ScmpVersion {
        major: libc::c_uint,
        minor: libc::c_uint,
        micro: libc::c_uint,
    }

    struct Lib {
        init: unsafe extern "C" fn(u32) -> Ctx,
        release: unsafe extern "C" fn(Ctx),
        attr_set: unsafe extern "C" fn(Ctx, libc::c_int, u32) -> libc::c_int,
        rule_add_exact_array: unsafe extern "C" fn(
            Ctx,
            u32,
            libc::c_int,
            libc::c_uint,
            *const ScmpArgCmp,
        ) -> libc::c_int,
        export_bpf: unsafe extern "C" fn(Ctx, libc::c_int) -> libc::c_int,
        export_bpf_mem:
            Option<unsafe extern "C" fn(Ctx, *mut c_void, *mut libc::size_t) -> libc::c_int>,
        version: (u32, u32, u32),
    }

    // SAFETY: the fields are plain function pointers into a library that is
    // never unloaded; libseccomp's functions are thread-safe on distinct
    // contexts.
    unsafe impl Send for Lib {}
    // SAFETY: as above; nothing in `Lib` is mutated after loading.
    unsafe impl Sync for Lib {}

    static LIB: OnceLock<Result<Lib, LibError>> = OnceLock::new();

    fn sym(handle: *mut c_void, name: &CStr) -> Option<*mut c_void> {
        // SAFETY: `handle` is a live dlopen handle and `name` a NUL-terminated
        // string; dlsym only reads it.
        let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
        (!p.is_null()).then_some(p)
    }

    fn load() -> Result<Lib, LibError> {
        // SAFETY: dlopen with a NUL-terminated name; the handle is kept for
        // the life of the process (never dlclose'd), so the symbols stay valid.
        let handle = unsafe { libc::dlopen(c"libseccomp.so.2".as_ptr(), libc::RTLD_NOW) };
        if handle.is_null() {
            return Err(LibError::NotFound("libseccomp.so.2 not found".into()));
        }
        let need = |name: &CStr| {
            sym(handle, name).ok_or_else(|| {
                LibError::NotFound(format!("libseccomp.so.2 lacks {}", name.to_string_lossy()))
            })
        };
        let init = need(c"seccomp_init")?;
        let release = need(c"seccomp_release")?;
        let attr_set = need(c"seccomp_attr_set")?;
        let rule_add = need(c"seccomp_rule_add_exact_array")?;
        let export_bpf = need(c"seccomp_export_bpf")?;
        let version_fn = need(c"seccomp_version")?;
        let export_mem = sym(handle, c"seccomp_export_bpf_mem");
        // SAFETY: each pointer is the libseccomp function of that name, whose
        // C prototype the target type spells out (scmp_filter_ctx is void*,
        // enums are int, scmp_datum_t is uint64_t).
        unsafe {
            let version_fn: unsafe extern "C" fn() -> *const ScmpVersion =
                std::mem::transmute(version_fn);
            let v = version_fn();
            let version = if v.is_null() {
                (0, 0, 0)
            } else {
                ((*v).major, (*v).minor, (*v).micro)
            };
            Ok(Lib {
                init: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(u32) -> Ctx>(init),
                release: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(Ctx)>(release),
                attr_set: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(Ctx, libc::c_int, u32) -> libc::c_int,
                >(attr_set),
                rule_add_exact_array: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(
                        Ctx,
                        u32,
                        libc::c_int,
                        libc::c_uint,
                        *const ScmpArgCmp,
                    ) -> libc::c_int,
                >(rule_add),
                export_bpf: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(Ctx, libc::c_int) -> libc::c_int,
                >(export_bpf),
                export_bpf_mem: export_mem.map(|p| {
                    std::mem::transmute::<
                        *mut c_void,
                        unsafe extern "C" fn(Ctx, *mut c_void, *mut libc::size_t) -> libc::c_int,
                    >(p)
                }),
                version,
            })
        }
    }

    fn lib() -> Result<&'static Lib, LibError> {
        LIB.get_or_init(load).as_ref().map_err(Clone::clone)
    }

    pub fn version() -> Result<(u32, u32, u32), LibError> {
        lib().map(|l| l.version)
    }

    /// Frees the context however `export` returns.
    struct Guard<'a>(&'a Lib, Ctx);

    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            // SAFETY: the context came from seccomp_init and is released once.
            unsafe { (self.0.release)(self.1) }
        }
    }

    fn check(function: &'static str, rc: libc::c_int) -> Result<(), LibError> {
        if rc < 0 {
            Err(LibError::Call { function, rc })
        } else {
            Ok(())
        }
    }

    pub fn export(filter: &ScmpFilter) -> Result<Vec<SockFilter>, LibError> {
        let lib = lib()?;
        // SAFETY: seccomp_init takes an action value and returns a new
        // context or NULL.
        let ctx = unsafe { (lib.init)(filter.default_action) };
        if ctx.is_null() {
            return Err(LibError::Call {
                function: "seccomp_init",
                rc: -libc::EINVAL,
            });
        }
        let guard = Guard(lib, ctx);
        for (attr, value) in [
            (ATTR_ACT_BADARCH, filter.bad_arch_action),
            (ATTR_CTL_NNP, 0),
            (ATTR_CTL_OPTIMIZE, filter.optimize),
        ] {
            // SAFETY: a live context, an attribute number and a value.
            let rc = unsafe { (lib.attr_set)(guard.1, attr as libc::c_int, value) };
            check("seccomp_attr_set", rc)?;
        }
        for rule in &filter.rules {
            // SAFETY: a live context; `cmps` points to `len` initialised
            // scmp_arg_cmp structures that outlive the call (libseccomp
            // copies them).
            let rc = unsafe {
                (lib.rule_add_exact_array)(
                    guard.1,
                    rule.action,
                    rule.nr as libc::c_int,
                    rule.cmps.len() as libc::c_uint,
                    rule.cmps.as_ptr(),
                )
            };
            check("seccomp_rule_add_exact_array", rc)?;
        }
        let bytes = match lib.export_bpf_mem {
            Some(export_mem) => {
                let mut buf = vec![0u8; 4096 * 8];
                let mut len: libc::size_t = buf.len();
                // SAFETY: `buf` has `len` writable bytes; libseccomp writes at
                // most `len` and stores the used length back.
                let rc = unsafe { export_mem(guard.1, buf.as_mut_ptr().cast(), &mut len) };
                check("seccomp_export_bpf_mem", rc)?;
                buf.truncate(len);
                buf
            }
            None => export_through_memfd(lib, guard.1)?,
        };
        drop(guard);
        if bytes.len() % 8 != 0 {
            return Err(LibError::BadExport(bytes.len()));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| SockFilter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect())
    }

    fn export_through_memfd(lib: &Lib, ctx: Ctx) -> Result<Vec<u8>, LibError> {
        use std::io::{Read, Seek, SeekFrom};
        use std::os::fd::FromRawFd;

        // SAFETY: memfd_create with a NUL-terminated name; returns a new fd.
        let fd = unsafe { libc::memfd_create(c"libseccomp-export".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(LibError::Call {
                function: "memfd_create",
                rc: -std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            });
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        // SAFETY: a live context and a writable fd.
        let rc = unsafe { (lib.export_bpf)(ctx, fd) };
        check("seccomp_export_bpf", rc)?;
        let io = |e: std::io::Error| LibError::Call {
            function: "read(memfd)",
            rc: -e.raw_os_error().unwrap_or(libc::EIO),
        };
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        Ok(bytes)
    }
}

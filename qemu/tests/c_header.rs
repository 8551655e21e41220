//! The C headers agree with the Rust ABI (the `abi` crate): a C program
//! compiled with `musl-gcc` against `<door.h>`, `<ucred.h>` and libdoor's
//! `native.h` prints every size, offset and constant, and each must equal
//! the Rust definition; the C library's errno values must be
//! `Errno::linux()` of every error the kernel returns. No QEMU: a host test.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;
use std::{env, fs};

use abi::{DoorArg, DoorCred, DoorDesc, DoorInfo, Errno, SpawnArgs, Sys, Ucred};

/// What the C side must print: `name value` per line.
fn expected() -> BTreeMap<String, i128> {
    let mut e: BTreeMap<String, i128> = BTreeMap::new();
    let mut put = |name: &str, value: i128| {
        e.insert(name.to_owned(), value);
    };
    put("sizeof(door_desc_t)", size_of::<DoorDesc>() as i128);
    put("alignof(door_desc_t)", 4);
    put(
        "offsetof(door_desc_t, d_attributes)",
        offset_of!(DoorDesc, d_attributes) as i128,
    );
    put(
        "offsetof(door_desc_t, d_data.d_desc.d_descriptor)",
        offset_of!(DoorDesc, d_descriptor) as i128,
    );
    put(
        "offsetof(door_desc_t, d_data.d_desc.d_id)",
        offset_of!(DoorDesc, d_id) as i128,
    );
    put(
        "offsetof(door_desc_t, d_data.d_resv)",
        offset_of!(DoorDesc, d_descriptor) as i128,
    );
    put("sizeof(door_info_t)", size_of::<DoorInfo>() as i128);
    put(
        "offsetof(door_info_t, di_target)",
        offset_of!(DoorInfo, di_target) as i128,
    );
    put(
        "offsetof(door_info_t, di_proc)",
        offset_of!(DoorInfo, di_proc) as i128,
    );
    put(
        "offsetof(door_info_t, di_data)",
        offset_of!(DoorInfo, di_data) as i128,
    );
    put(
        "offsetof(door_info_t, di_attributes)",
        offset_of!(DoorInfo, di_attributes) as i128,
    );
    put(
        "offsetof(door_info_t, di_uniquifier)",
        offset_of!(DoorInfo, di_uniquifier) as i128,
    );
    put(
        "offsetof(door_info_t, di_resv)",
        offset_of!(DoorInfo, di_resv) as i128,
    );
    put("sizeof(door_arg_t)", size_of::<DoorArg>() as i128);
    put(
        "offsetof(door_arg_t, data_ptr)",
        offset_of!(DoorArg, data_ptr) as i128,
    );
    put(
        "offsetof(door_arg_t, data_size)",
        offset_of!(DoorArg, data_size) as i128,
    );
    put(
        "offsetof(door_arg_t, desc_ptr)",
        offset_of!(DoorArg, desc_ptr) as i128,
    );
    put(
        "offsetof(door_arg_t, desc_num)",
        offset_of!(DoorArg, desc_num) as i128,
    );
    put(
        "offsetof(door_arg_t, rbuf)",
        offset_of!(DoorArg, rbuf) as i128,
    );
    put(
        "offsetof(door_arg_t, rsize)",
        offset_of!(DoorArg, rsize) as i128,
    );
    put("sizeof(door_cred_t)", size_of::<DoorCred>() as i128);
    put(
        "offsetof(door_cred_t, dc_euid)",
        offset_of!(DoorCred, dc_euid) as i128,
    );
    put(
        "offsetof(door_cred_t, dc_egid)",
        offset_of!(DoorCred, dc_egid) as i128,
    );
    put(
        "offsetof(door_cred_t, dc_ruid)",
        offset_of!(DoorCred, dc_ruid) as i128,
    );
    put(
        "offsetof(door_cred_t, dc_rgid)",
        offset_of!(DoorCred, dc_rgid) as i128,
    );
    put(
        "offsetof(door_cred_t, dc_pid)",
        offset_of!(DoorCred, dc_pid) as i128,
    );
    put("sizeof(ucred_t)", size_of::<Ucred>() as i128);
    put(
        "offsetof(ucred_t, uc_pid)",
        offset_of!(Ucred, uc_pid) as i128,
    );
    put(
        "offsetof(ucred_t, uc_euid)",
        offset_of!(Ucred, uc_euid) as i128,
    );
    put(
        "offsetof(ucred_t, uc_egid)",
        offset_of!(Ucred, uc_egid) as i128,
    );
    put(
        "offsetof(ucred_t, uc_ruid)",
        offset_of!(Ucred, uc_ruid) as i128,
    );
    put(
        "offsetof(ucred_t, uc_rgid)",
        offset_of!(Ucred, uc_rgid) as i128,
    );
    put(
        "sizeof(struct native_spawn_args)",
        size_of::<SpawnArgs>() as i128,
    );
    put(
        "offsetof(struct native_spawn_args, descs_len)",
        offset_of!(SpawnArgs, descs_len) as i128,
    );
    for (name, value) in [
        ("DOOR_UNREF", abi::DOOR_UNREF),
        ("DOOR_PRIVATE", abi::DOOR_PRIVATE),
        ("DOOR_LOCAL", abi::DOOR_LOCAL),
        ("DOOR_REVOKED", abi::DOOR_REVOKED),
        ("DOOR_UNREF_MULTI", abi::DOOR_UNREF_MULTI),
        ("DOOR_IS_UNREF", abi::DOOR_IS_UNREF),
        ("DOOR_REFUSE_DESC", abi::DOOR_REFUSE_DESC),
        ("DOOR_NO_CANCEL", abi::DOOR_NO_CANCEL),
        ("DOOR_CREATE_MASK", abi::DOOR_CREATE_MASK),
        ("DOOR_DESCRIPTOR", abi::DOOR_DESCRIPTOR),
        ("DOOR_RELEASE", abi::DOOR_RELEASE),
    ] {
        put(name, value.into());
    }
    put("DOOR_INVAL", abi::DOOR_INVAL.into());
    put("DOOR_QUERY", abi::DOOR_QUERY.into());
    put("(long)DOOR_UNREF_DATA", abi::DOOR_UNREF_DATA.into());
    put("DOOR_PARAM_DESC_MAX", abi::DOOR_PARAM_DESC_MAX.into());
    put("DOOR_PARAM_DATA_MAX", abi::DOOR_PARAM_DATA_MAX.into());
    put("DOOR_PARAM_DATA_MIN", abi::DOOR_PARAM_DATA_MIN.into());
    put(
        "DOOR_CREATE_RUN_SERVER_CREATE",
        abi::DOOR_CREATE_RUN_SERVER_CREATE as i128,
    );
    put("INVOCATION_RUN", abi::invocation::RUN.into());
    put(
        "INVOCATION_DEPLETED_SHARED",
        abi::invocation::DEPLETED_SHARED.into(),
    );
    put("MAIN_STACK_TOP", abi::MAIN_STACK_TOP.into());
    put("MAIN_STACK_SIZE", abi::MAIN_STACK_SIZE.into());
    put(
        "MAIN_STACK_ARGS_RESERVE",
        abi::MAIN_STACK_ARGS_RESERVE.into(),
    );
    put("NATIVE_BASE", abi::NATIVE_BASE as i128);
    put("KSTAT_FREE_FRAMES", abi::kstat::FREE_FRAMES as i128);
    put("MEM_MAP_MAX", abi::MEM_MAP_MAX.into());
    for (name, call) in native_calls() {
        put(name, call.number() as i128);
    }
    for e in Errno::ALL {
        put(e.name(), e.linux().into());
    }
    e
}

/// libdoor's names for the native calls it makes (and the tests' memory
/// calls).
fn native_calls() -> [(&'static str, Sys); 19] {
    [
        ("SYS_native_spawn", Sys::Spawn),
        ("SYS_mem_map", Sys::MemMap),
        ("SYS_mem_unmap", Sys::MemUnmap),
        ("SYS_kstat", Sys::Kstat),
        ("SYS_door_create", Sys::DoorCreate),
        ("SYS_door_call", Sys::DoorCall),
        ("SYS_door_return", Sys::DoorReturn),
        ("SYS_door_info", Sys::DoorInfo),
        ("SYS_door_revoke", Sys::DoorRevoke),
        ("SYS_door_setparam", Sys::DoorSetparam),
        ("SYS_door_getparam", Sys::DoorGetparam),
        ("SYS_door_ucred", Sys::DoorUcred),
        ("SYS_door_cred", Sys::DoorCred),
        ("SYS_door_bind", Sys::DoorBind),
        ("SYS_door_unbind", Sys::DoorUnbind),
        ("SYS_door_cancelled", Sys::DoorCancelled),
        ("SYS_door_abort", Sys::DoorAbort),
        ("SYS_fattach", Sys::Fattach),
        ("SYS_fdetach", Sys::Fdetach),
    ]
}

/// A C program printing `name value` for every expected name.
fn program(names: &BTreeMap<String, i128>) -> String {
    let mut c = String::from(
        "#include <door.h>\n#include <errno.h>\n#include <stdalign.h>\n\
         #include <stddef.h>\n#include <stdio.h>\n#include <stropts.h>\n\
         #include <spawn_np.h>\n#include <ucred.h>\n#include \"native.h\"\n\
         typedef struct ucred_s ucred_s_t;\n\
         int main(void) {\n",
    );
    for name in names.keys() {
        // ucred_t is opaque in <ucred.h>; libdoor's native.h defines it.
        let expr = name.replace("(ucred_t,", "(ucred_s_t,");
        c.push_str(&format!(
            "  printf(\"%s %lld\\n\", \"{name}\", (long long)({expr}));\n"
        ));
    }
    c.push_str("  return 0;\n}\n");
    c
}

#[test]
fn c_headers_match_the_rust_abi() {
    if let Err(e) = qemu::setup::ensure_musl() {
        panic!("{e}");
    }
    let root = qemu::images::workspace_root();
    let c_dir = root.join("userland/c");
    let dir = env::temp_dir().join(format!("qemu-c-header-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let expected = expected();
    let source = dir.join("abi.c");
    fs::write(&source, program(&expected)).unwrap();
    let exe = dir.join("abi");
    let include = |p: &Path| format!("-I{}", p.display());
    let out = Command::new(qemu::setup::MUSL_GCC)
        .args(["-static", "-std=gnu11", "-Wall", "-Werror"])
        .arg(include(&c_dir.join("include")))
        .arg(include(&c_dir.join("lib")))
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the headers do not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    fs::remove_dir_all(&dir).unwrap();
    assert!(run.status.success());
    let printed: BTreeMap<String, i128> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect();
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(name, value)| printed.get(*name) != Some(value))
        .map(|(name, value)| format!("{name}: C {:?}, Rust {value}", printed.get(name)))
        .collect();
    assert!(
        wrong.is_empty(),
        "C and Rust disagree:\n{}",
        wrong.join("\n")
    );
}

"""labgen's seccomp profile for the NFS server container (nfs-ganesha), in the JSON format Docker
documents (https://docs.docker.com/engine/security/seccomp/).

Why a deny list (`defaultAction: SCMP_ACT_ALLOW`) and not an allowlist: `strace -f` of the host's
ganesha.nfsd 4.3 under tests/integration/test_nfsmount_host.py's workload (FUSE mounts, reads,
writes, appends, fsync, renames, links, listings, unlink while open, parallel threads) saw 85
distinct syscalls, none of them in the deny list below. But which ones a run makes depends on
glibc, libntirpc, the kernel (statx or fstatat, clone3 or clone, rseq...) and on code paths a test
does not reach (grace periods, recovery, DBus, upcalls): an allowlist built from one measurement
fails later as EPERM deep inside the server. So everything is allowed except
the groups Docker's default profile refuses to a container without CAP_SYS_ADMIN and the other
capabilities this container drops, each denied with EPERM. `name_to_handle_at` and
`open_by_handle_at`, which Docker's profile ties to CAP_SYS_ADMIN on Engine 20.10, stay allowed:
ganesha's VFS backend reaches every file by its handle. The container still holds only the six
capabilities of names.NFS_CAPABILITIES, so the kernel refuses most of these calls anyway; the
filter also closes the kernel code behind them (the usual way out of a container is a bug there).
"""

from __future__ import annotations

import json

EPERM = 1
ENOSYS = 38  # clone3: glibc falls back to clone(2), whose flags the filter can read

# Namespace flags of clone(2) (linux/sched.h): a new namespace is a step of most escapes.
CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}

# (why, syscalls) denied whole. Names a kernel architecture lacks (vm86 on aarch64) are skipped
# by the engine.
DENIED_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "kernel modules and kexec: load code into the kernel or replace it (CAP_SYS_MODULE, CAP_SYS_BOOT)",
        (
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
            "query_module",
            "get_kernel_syms",
            "kexec_load",
            "kexec_file_load",
            "reboot",
        ),
    ),
    (
        "mounts and the new mount API: remount or reach the host's file systems (CAP_SYS_ADMIN)",
        (
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "chroot",
            "open_tree",
            "move_mount",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "mount_setattr",
        ),
    ),
    (
        "namespaces: enter or make namespaces (CAP_SYS_ADMIN); clone with namespace flags below",
        ("unshare", "setns"),
    ),
    (
        "kernel keyrings: not namespaced, shared with the host (Docker denies them to every container)",
        ("keyctl", "add_key", "request_key"),
    ),
    (
        "eBPF, perf and userfaultfd: large kernel attack surface, tracing of other processes",
        ("bpf", "perf_event_open", "userfaultfd", "lookup_dcookie", "fanotify_init"),
    ),
    (
        "tracing and reading other processes' memory (CAP_SYS_PTRACE)",
        ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"),
    ),
    (
        "execution domains: personality changes have disabled ASLR and exposed kernel bugs",
        ("personality",),
    ),
    (
        "host resources: swap, process accounting, quotas, the kernel log (CAP_SYS_ADMIN, CAP_SYS_PACCT)",
        ("swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup"),
    ),
    (
        "the clock is the host's: setting it is CAP_SYS_TIME",
        ("settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64"),
    ),
    (
        "raw I/O ports and vm86 (CAP_SYS_RAWIO)",
        ("iopl", "ioperm", "vm86", "vm86old"),
    ),
    (
        "NUMA memory policy of the host's memory (CAP_SYS_NICE in Docker's profile)",
        ("mbind", "set_mempolicy", "get_mempolicy", "move_pages", "migrate_pages"),
    ),
    (
        "obsolete interfaces with a history of bugs",
        ("_sysctl", "sysfs", "ustat", "uselib", "nfsservctl"),
    ),
)

# ganesha's VFS backend: Docker 20.10's default profile allows these only with CAP_SYS_ADMIN.
HANDLE_SYSCALLS = ("name_to_handle_at", "open_by_handle_at")

ARCHITECTURES = (
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
)


def denied_syscalls() -> set[str]:
    """Every syscall the profile denies whole (clone is denied only with namespace flags)."""
    return {name for _, group in DENIED_GROUPS for name in group}


def nfs_profile() -> dict[str, object]:
    """The profile as a JSON object."""
    rules: list[dict[str, object]] = [
        {"names": list(group), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM, "comment": why}
        for why, group in DENIED_GROUPS
    ]
    # one rule per flag: the rules of one syscall are OR-ed, the args of one rule AND-ed
    rules += [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": EPERM,
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
            "comment": f"clone with {name}: a new namespace (CAP_SYS_ADMIN)",
        }
        for name, flag in CLONE_NAMESPACE_FLAGS.items()
    ]
    rules.append(
        {
            "names": ["clone3"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": ENOSYS,
            "comment": "clone3 passes its flags in memory the filter cannot read: ENOSYS, glibc uses clone",
        }
    )
    return {
        "comment": "labgen: the NFS server (nfs-ganesha). Everything but these groups is allowed, "
        "including name_to_handle_at and open_by_handle_at, which ganesha's VFS backend needs; see "
        "labgen/model/seccomp.py for why a deny list.",
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": list(ARCHITECTURES),
        "syscalls": rules,
    }


def nfs_profile_json() -> str:
    """The profile as the file labgen writes into the lab (and as `docker run` takes it inline)."""
    return json.dumps(nfs_profile(), indent=2) + "\n"

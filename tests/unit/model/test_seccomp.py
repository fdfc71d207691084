"""The NFS server's seccomp profile: valid Docker JSON, the handle syscalls allowed, escapes denied."""

import json

import pytest
import yaml

from labgen.generate.render import COMPOSE_FILE, render_files
from labgen.model import names, seccomp
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology

DANGEROUS = (
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "mount",
    "umount2",
    "pivot_root",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsmount",
    "fspick",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "personality",
    "userfaultfd",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "iopl",
    "ioperm",
    "quotactl",
    "syslog",
    "lookup_dcookie",
)


@pytest.fixture(scope="module")
def profile() -> dict:
    files = render_files(Topology.resolve(LabSpec(), flavour="lite", nfs_client="fuse"))
    return json.loads(files[names.NFS_SECCOMP_PROFILE])


def _rules_for(profile: dict, syscall: str) -> list[dict]:
    return [rule for rule in profile["syscalls"] if syscall in rule["names"]]


def test_everything_else_is_allowed_and_denials_are_errors(profile: dict) -> None:
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    assert {rule["action"] for rule in profile["syscalls"]} == {"SCMP_ACT_ERRNO"}
    assert all(rule.get("comment") for rule in profile["syscalls"])
    arches = {entry["architecture"] for entry in profile["archMap"]}
    assert {"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"} <= arches


@pytest.mark.parametrize("syscall", seccomp.HANDLE_SYSCALLS)
def test_the_handle_syscalls_ganesha_needs_are_allowed(profile: dict, syscall: str) -> None:
    assert _rules_for(profile, syscall) == []


@pytest.mark.parametrize("syscall", DANGEROUS)
def test_a_dangerous_syscall_is_denied_whatever_its_arguments(profile: dict, syscall: str) -> None:
    rules = _rules_for(profile, syscall)
    assert rules and all("args" not in rule and rule["errnoRet"] == seccomp.EPERM for rule in rules)


@pytest.mark.parametrize("flag", sorted(seccomp.CLONE_NAMESPACE_FLAGS.values()))
def test_clone_is_denied_with_each_namespace_flag(profile: dict, flag: int) -> None:
    match = {"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}
    assert any(rule["args"] == [match] for rule in _rules_for(profile, "clone"))


def test_clone_without_namespace_flags_stays_allowed(profile: dict) -> None:
    # threads and fork: every clone rule needs one of the namespace bits set
    assert all(rule["args"][0]["valueTwo"] != 0 for rule in _rules_for(profile, "clone"))
    assert _rules_for(profile, "clone3")[0]["errnoRet"] == seccomp.ENOSYS


def test_compose_gives_the_nfs_container_the_profile_and_not_unconfined() -> None:
    files = render_files(Topology.resolve(LabSpec(), flavour="lite", nfs_client="fuse"))
    service = yaml.safe_load(files[COMPOSE_FILE])["services"][names.NFS]
    assert service["security_opt"] == [f"seccomp=./{names.NFS_SECCOMP_PROFILE}"]
    assert not any("unconfined" in opt for opt in service["security_opt"])


def test_docker_run_gets_the_profile_inline() -> None:
    options = names.nfs_run_options()["security_opt"]
    assert isinstance(options, list) and len(options) == 1
    option = options[0]
    assert option.startswith("seccomp=")
    assert json.loads(option.removeprefix("seccomp=")) == seccomp.nfs_profile()

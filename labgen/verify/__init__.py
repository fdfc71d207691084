"""Stage 6, verify: the failover experiment (`experiment`), what it records (`model`), how a
trial is judged (`judge`) and the reports for people and CI (`report`)."""

from labgen.verify.experiment import FAULTS, run_failover, run_switchover
from labgen.verify.model import HAProxyMark, Sample, Trial, VerifyResult, WriteOp

__all__ = ["FAULTS", "HAProxyMark", "Sample", "Trial", "VerifyResult", "WriteOp", "run_failover", "run_switchover"]

"""Stage 6, verify: the trial engine (`trial`: named phases on a `recorder` under a `load`), the
experiments composed of those phases (`experiment`: failover and switchover; `faults`: a held
fault of any service, and the matrix), what they record (`model`), how a trial is judged
(`judge`) and the reports for people and CI (`report`)."""

from labgen.chaos import FAULTS
from labgen.verify.experiment import run_failover, run_switchover
from labgen.verify.model import HAProxyMark, Sample, Trial, VerifyResult, WriteOp

__all__ = ["FAULTS", "HAProxyMark", "Sample", "Trial", "VerifyResult", "WriteOp", "run_failover", "run_switchover"]

"""labgen's home check: does this master's JENKINS_HOME still answer?

A tiny stdlib agent, started in the background by the Jenkins entrypoint. It probes JENKINS_HOME
(stat, then a small write and read back) in a thread of its own, so that a file system call hung
on a dead NFS server never hangs the agent, and answers HAProxy's agent-check protocol on a TCP
port: `up`, or `down #why`. The Docker health check and `labgen status` ask it the same way
(`python3 -m labgen_homecheck ask`).
"""

PROG = "labgen-homecheck"

"""A user's own HA test with labgen's pytest plugin. Copy this file into your tests.

    pip install 'labgen[pytest]'    # labgen, pytest and python-jenkins; the plugin is active at once
    labgen images load labgen-images.tar || labgen build    # optional: a CI cache of the images
    pytest example_test.py --junitxml=junit.xml

`jenkins_ha_lab` is a running lab (`labgen.JenkinsHALab`) for each test: HAProxy in front of
Jenkins masters sharing JENKINS_HOME over NFS, on free ports, removed after the test (also
when it fails). The marker chooses the lab; change it to what you want to prove.
"""

from __future__ import annotations

import jenkins  # python-jenkins
import pytest

JOB_XML = """<?xml version='1.1' encoding='UTF-8'?>
<project>
  <description>my team's job</description>
  <builders><hudson.tasks.Shell><command>make test</command></hudson.tasks.Shell></builders>
</project>
"""


@pytest.mark.labgen(profile="ha", flavour="lite", masters=2)
def test_my_job_survives_losing_the_active_master(jenkins_ha_lab):
    server: jenkins.Jenkins = jenkins_ha_lab.python_jenkins()  # through HAProxy, with the lab's API token
    server.create_job("my-pipeline", JOB_XML)
    before = jenkins_ha_lab.active_master()
    assert before in jenkins_ha_lab.masters

    jenkins_ha_lab.chaos("kill", before)  # labgen chaos kill <master>
    after = jenkins_ha_lab.wait_for_master(other_than=before, timeout=60)

    # the standby took over, through the same URL, and knows the job written before the fault
    assert after != before
    assert server.job_exists("my-pipeline")
    assert "my team's job" in server.get_job_config("my-pipeline")
    servers = jenkins_ha_lab.http_servers()  # HAProxy's view of the masters
    assert [s.server for s in servers if s.up] != [], servers


@pytest.mark.labgen(profile="ha", masters=2)
def test_failover_is_verified_by_labgen(jenkins_ha_lab):
    result = jenkins_ha_lab.verify_failover(action="kill", trials=1)  # labgen verify failover
    assert result.passed, [reason for trial in result.trials for reason in trial.reasons]

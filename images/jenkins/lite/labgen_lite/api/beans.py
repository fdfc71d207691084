"""Lite's objects as Jenkins 2.190.2 exports them (the @Exported properties of each class, their visibility
and inlining, read from core at tag jenkins-2.190.2): Job/AbstractItem/AbstractProject, Run/AbstractBuild,
Queue.Item, Executor, Computer, View, User, ParameterDefinition/ParameterValue, CauseAction, ParametersAction.
Call with app.lock held; a lazy property (a lambda) runs while the answer is exported, under the same lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from labgen_lite import params
from labgen_lite.api.export import Bean, P, bean
from labgen_lite.identity import PRODUCT
from labgen_lite.jobs import Build, Job
from labgen_lite.queue import BLOCKED, BUILDABLE, ITEM_CLASSES, LEFT, WAITING, QueueItem, now_ms

if TYPE_CHECKING:
    from labgen_lite.app import JenkinsLite

API_BUILDS_LIMIT = 100  # Job.getNewBuilds: the newest 100
MASTER = "master"  # Hudson.Computer.DisplayName in 2.190 (the "Built-In Node" came in 2.307)
TOP = 999  # AbstractItem's name and url, Queue.Item's properties, User's url and fullName


def job_path(name: str) -> str:
    return f"job/{quote(name, safe='')}/"


# ---- parameters (ParameterDefinition, ParameterValue: defaultVisibility 3; a value's `value` 4)


def value_bean(value_class: str, name: str, value: str) -> Bean:
    shown = params.typed(value_class, value)
    props: dict[str, Any] = {"name": name}
    if not value_class.endswith("PasswordParameterValue"):
        props["value"] = P(shown, visibility=4)
    return Bean(value_class, props, default_visibility=3)


def definition_bean(definition: params.ParamDef) -> Bean:
    props: dict[str, Any] = {
        "defaultParameterValue": value_bean(definition.value_class, definition.name, definition.default),
        "description": definition.description,
        "name": definition.name,
        "type": definition.kind.rsplit(".", 1)[-1],
    }
    if definition.kind.endswith("ChoiceParameterDefinition"):
        props["choices"] = list(definition.choices)
    return Bean(definition.kind, props, default_visibility=3)


def definitions_property(defs: list[params.ParamDef]) -> Bean:
    """ParametersDefinitionProperty (defaultVisibility 2): a job property, and one of the job's actions."""
    return bean(params.PROPERTY, 2, parameterDefinitions=[definition_bean(d) for d in defs])


def parameters_action(values: params.Values, defs: list[params.ParamDef]) -> list[Bean]:
    if not values:
        return []
    classes = {d.name: d.value_class for d in defs}
    parameters = [value_bean(classes.get(n, "hudson.model.StringParameterValue"), n, v) for n, v in values]
    return [bean("hudson.model.ParametersAction", parameters=P(parameters, visibility=2))]


def cause_action(user: str) -> list[Bean]:
    cause = bean(
        "hudson.model.Cause$UserIdCause",
        3,
        shortDescription=f"Started by user {user}",
        userId=user,
        userName=user,
    )
    return [bean("hudson.model.CauseAction", causes=P([cause], visibility=2))]


# ---- builds and executors


def build_bean(app: JenkinsLite, job: Job, build: Build, root: str) -> Bean:
    """FreeStyleBuild (Run, AbstractBuild): number and url at visibility 2, the rest at 1."""

    def executor() -> Bean | None:  # lazy both ways: a running build's executor runs that build
        return executor_bean(app, job, build, root, build.executor or 0) if build.building else None

    return bean(
        job.build_class,
        actions=lambda: cause_action(build.user) + parameters_action(build.params, params.definitions(job.config)),
        artifacts=[],
        building=build.building,
        description=build.description,
        displayName=f"#{build.number}",
        duration=build.duration,
        estimatedDuration=lambda: job.estimated_duration(),
        executor=executor,
        fullDisplayName=f"{job.name} #{build.number}",
        id=str(build.number),
        keepLog=build.keep_log,
        number=P(build.number, visibility=2),
        queueId=build.queue_id,
        result=build.result,
        timestamp=build.timestamp,
        url=P(f"{root}{job_path(job.name)}{build.number}/", visibility=2),
        builtOn="",
        changeSet=bean("hudson.scm.EmptyChangeLogSet", items=[], kind=None),
        culprits=[],
    )


def executor_bean(app: JenkinsLite, job: Job | None, build: Build | None, root: str, number: int) -> Bean:
    progress = -1
    if job is not None and build is not None:
        estimate = job.estimated_duration()
        if estimate > 0:
            progress = min(99, (now_ms() - build.timestamp) * 100 // estimate)

    def current() -> Bean | None:
        return build_bean(app, job, build, root) if job is not None and build is not None else None

    return bean(
        "hudson.model.Executor",
        currentExecutable=current,
        idle=build is None,
        likelyStuck=False,
        number=number,
        progress=progress,
    )


# ---- jobs


def job_bean(app: JenkinsLite, job: Job, root: str) -> Bean:
    """FreeStyleProject (AbstractItem, Job, AbstractProject). Every property that costs (config.xml parsed,
    a build.xml read for the colour, the queue searched) is lazy: as Stapler calls a getter only for a
    property the answer shows, `?tree=jobs[name]` of a big home costs no more than the names. Kept on the
    job for the next request (every property that can change is read when exported)."""
    key = (root, job.name, job.config)
    cached: Bean | None = job.api_beans.get(key)
    if cached is not None:
        return cached

    def ref(name: str) -> Bean | None:
        found = job.find_build(name)
        return build_bean(app, job, found, root) if found is not None else None

    def builds(limit: int | None) -> list[Bean]:
        numbers = sorted(job.builds, reverse=True)[:limit]
        return [build_bean(app, job, job.builds[n], root) for n in numbers]

    memo: dict[str, Any] = {}

    def properties() -> list[Bean]:
        if "properties" not in memo:
            defs = params.definitions(job.config)
            memo["properties"] = [definitions_property(defs)] if defs else []
        return list(memo["properties"])

    def queued() -> QueueItem | None:
        return next(iter(app.queue.of_job(job.name)), None)

    def queue_item() -> Bean | None:
        item = queued()
        return queue_item_bean(app, item, root) if item is not None else None

    made = bean(
        job.item_class,
        actions=properties,
        description=lambda: job.description,
        displayName=job.name,
        displayNameOrNull=None,
        fullDisplayName=job.name,
        fullName=job.name,
        name=P(job.name, visibility=TOP),
        url=P(root + job_path(job.name), visibility=TOP),
        buildable=lambda: not job.disabled,
        builds=lambda: builds(API_BUILDS_LIMIT),
        allBuilds=P(lambda: builds(None), visibility=-2),
        color=P(lambda: job.color, visibility=2),
        firstBuild=lambda: ref("firstBuild"),
        healthReport=[],
        inQueue=lambda: queued() is not None,
        keepDependencies=False,
        lastBuild=lambda: ref("lastBuild"),
        lastCompletedBuild=lambda: ref("lastCompletedBuild"),
        lastFailedBuild=lambda: ref("lastFailedBuild"),
        lastStableBuild=lambda: ref("lastStableBuild"),
        lastSuccessfulBuild=lambda: ref("lastSuccessfulBuild"),
        lastUnstableBuild=lambda: ref("lastUnstableBuild"),
        lastUnsuccessfulBuild=lambda: ref("lastUnsuccessfulBuild"),
        nextBuildNumber=lambda: job.next_build_number,
        property=P(properties, inline=True),
        queueItem=queue_item,
        concurrentBuild=lambda: job.concurrent,
        disabled=lambda: job.disabled,
        downstreamProjects=[],
        labelExpression=None,
        scm=lambda: bean("hudson.scm.NullSCM"),
        upstreamProjects=[],
    )
    job.api_beans.clear()  # (the config or the root URL changed: the old one is not asked for again)
    job.api_beans[key] = made
    return made


# ---- the queue (Queue.Item: defaultVisibility 999, but `actions` is Actionable's, at 1)


def queue_item_bean(app: JenkinsLite, item: QueueItem, root: str) -> Bean | None:
    job = app.jobs.get(item.job)
    if job is None:
        return None
    defs = params.definitions(job.config)
    props: dict[str, Any] = {
        "actions": P(cause_action(item.user) + parameters_action(item.params, defs), visibility=1),
        "blocked": item.state == BLOCKED,
        "buildable": item.state == BUILDABLE,
        "id": item.id,
        "inQueueSince": item.since,
        "params": "".join(f"\n{name}={value}" for name, value in item.params),
        "stuck": False,
        "task": job_bean(app, job, root),
        "url": f"queue/item/{item.id}/",
        "why": app.queue.why(item, app.quieting_down),
    }
    if item.state == WAITING:
        props["timestamp"] = item.due
    elif item.state in (BLOCKED, BUILDABLE):
        props["buildableStartMilliseconds"] = item.buildable_since
        if item.state == BUILDABLE:
            props["pending"] = False
    elif item.state == LEFT:
        build = job.builds.get(item.number) if item.number is not None else None
        props["cancelled"] = item.cancelled
        props["executable"] = build_bean(app, job, build, root) if build is not None else None
    return Bean(ITEM_CLASSES[item.state], props, default_visibility=TOP)


def queue_bean(app: JenkinsLite, root: str) -> Bean:
    items = [queue_item_bean(app, item, root) for item in app.queue.ordered()]
    return bean(
        "hudson.model.Queue",
        discoverableItems=P([], inline=True),
        items=P([i for i in items if i is not None], inline=True),
    )


# ---- the built-in node


def master_bean(app: JenkinsLite, root: str) -> Bean:
    executors = []
    busy = 0
    for number in range(app.executors.count):
        execution = app.executors.busy.get(number)
        build, job = (execution.plan.build, app.jobs.get(execution.plan.job)) if execution else (None, None)
        busy += build is not None
        executors.append(executor_bean(app, job, build, root, number))
    offline = app.offline_cause is not None
    cause = bean("hudson.slaves.OfflineCause$UserCause", description=app.offline_cause) if offline else None
    return bean(
        "hudson.model.Hudson$MasterComputer",
        actions=[],
        assignedLabels=[bean("hudson.model.labels.LabelAtom", name=MASTER)],
        description=f"the master Jenkins node ({PRODUCT} on {app.node}, NOT Jenkins)",
        displayName=MASTER,
        executors=executors,
        icon="computer.png",
        iconClassName="icon-computer",
        idle=busy == 0,
        jnlpAgent=False,
        launchSupported=True,
        loadStatistics=bean("hudson.model.Label$1"),
        manualLaunchAllowed=True,
        monitorData=P({}, inline=True),
        numExecutors=app.executors.count,
        offline=offline,
        offlineCause=cause,
        offlineCauseReason=app.offline_cause or "",
        oneOffExecutors=[],
        temporarilyOffline=offline,
    )


def computer_set_bean(app: JenkinsLite, root: str) -> Bean:
    """ComputerSet: `computer` is inline, so the nodes show their fields at depth 0."""
    return bean(
        "hudson.model.ComputerSet",
        busyExecutors=len(app.executors.busy),
        computer=P([master_bean(app, root)], inline=True),
        displayName="Nodes",
        totalExecutors=app.executors.count,
    )

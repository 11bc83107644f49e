"""Replication (Harbor's model): endpoint registries, push- and pull-based policies
triggered manually, by pushes or on a schedule, and a persistent work queue in the registry's
database whose tasks copy one artifact each (blobs the other side lacks, the manifest, its
signatures and referrers), retried with backoff, resumed after a restart."""

from dockyard.registry.replication._copy import ArtifactCopy, CopyStats, SourceGone, ping
from dockyard.registry.replication._delete import DELETE, DestinationDelete, deletion_tasks
from dockyard.registry.replication._observe import (
    ReplicationMetrics,
    TaskObserver,
    replication_payload,
)
from dockyard.registry.replication._policies import (
    EVENT_BASED,
    MANUAL,
    SCHEDULED,
    ArtifactFacts,
    Filter,
    Policy,
    PolicyNotFound,
    PolicyStore,
    accessory_tag,
    artifact_facts,
    next_fire,
    policy_from_json,
    replace_namespace,
    valid_cron,
)
from dockyard.registry.replication._queue import (
    ERROR,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCESS,
    ExecutionInfo,
    NewTask,
    ReplicationQueue,
    TaskInfo,
)
from dockyard.registry.replication._registries import (
    MASK,
    REGISTRY_TYPES,
    RegistryNotFound,
    RegistryStore,
    RemoteRegistry,
    ping_target,
    registry_from_json,
    registry_update,
)
from dockyard.registry.replication._secrets import SecretBox, WrongSecretKey, load_box
from dockyard.registry.replication._select import local_facts, local_tasks
from dockyard.registry.replication._service import (
    Replication,
    ReplicationPushes,
    ReplicationSchedule,
    manual_tasks,
    open_replication,
    replication_of,
)
from dockyard.registry.replication._settings import (
    REPLICATION_SCHEMA,
    ReplicationSettings,
    replication_settings,
)
from dockyard.registry.replication._worker import (
    Pushed,
    ReplicationWorker,
    retry_delay,
    tasks_for_push,
)

__all__ = [
    "DELETE",
    "ERROR",
    "EVENT_BASED",
    "MANUAL",
    "MASK",
    "PENDING",
    "REGISTRY_TYPES",
    "REPLICATION_SCHEMA",
    "RUNNING",
    "SCHEDULED",
    "STOPPED",
    "SUCCESS",
    "ArtifactCopy",
    "ArtifactFacts",
    "CopyStats",
    "DestinationDelete",
    "ExecutionInfo",
    "Filter",
    "NewTask",
    "Policy",
    "PolicyNotFound",
    "PolicyStore",
    "Pushed",
    "RegistryNotFound",
    "RegistryStore",
    "RemoteRegistry",
    "Replication",
    "ReplicationMetrics",
    "ReplicationPushes",
    "ReplicationQueue",
    "ReplicationSchedule",
    "ReplicationSettings",
    "ReplicationWorker",
    "SecretBox",
    "SourceGone",
    "TaskInfo",
    "TaskObserver",
    "WrongSecretKey",
    "accessory_tag",
    "artifact_facts",
    "deletion_tasks",
    "load_box",
    "local_facts",
    "local_tasks",
    "manual_tasks",
    "next_fire",
    "open_replication",
    "ping",
    "ping_target",
    "policy_from_json",
    "registry_from_json",
    "registry_update",
    "replace_namespace",
    "replication_of",
    "replication_payload",
    "replication_settings",
    "retry_delay",
    "tasks_for_push",
    "valid_cron",
]

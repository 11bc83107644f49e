"""Harbor's replication filter chain, over a real registry in this process: tag filters
matching untagged artifacts as the empty tag (as Harbor's ``artifactTagFilter`` does), label
filters (every label named, ``matches``/``excludes``), resource type ``image`` vs
``artifact``, what a manual run selects (tagged and untagged, accessories left to their
subjects), what an event-based push queues, and which deletions a policy replicates."""

from __future__ import annotations

import pytest

from _infra.registry_server import ASGIClient, push_blob, push_image
from _infra.replication import cosign_signature_manifest, push_labelled
from dockyard.registry import Registry
from dockyard.registry.replication import (
    DELETE,
    ArtifactFacts,
    NewTask,
    Policy,
    Pushed,
    artifact_facts,
    deletion_tasks,
    local_tasks,
    policy_from_json,
    tasks_for_push,
)

ARTIFACT_CONFIG = "application/vnd.example.thing.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _policy(*filters: dict[str, object], **fields: object) -> Policy:
    body = {"name": "p", "dest_registry": {"id": 1}, "filters": list(filters), **fields}
    return policy_from_json(body)


@pytest.mark.parametrize(
    ("tag_filter", "untagged", "v1", "dev"),
    [
        # Harbor's artifactTagFilter: an untagged artifact is matched as "" (the pattern
        # "" means no filter at all)
        (None, True, True, True),
        ({"type": "tag", "value": ""}, True, True, True),
        ({"type": "tag", "value": "**"}, True, True, True),
        ({"type": "tag", "value": "v*"}, False, True, False),
        ({"type": "tag", "value": "v*", "decoration": "excludes"}, True, False, True),
        ({"type": "tag", "value": "{v*,}"}, True, True, False),
    ],
)
def test_tag_filters_take_untagged_artifacts_as_harbor_does(
    tag_filter: dict[str, object] | None, untagged: bool, v1: bool, dev: bool
) -> None:
    policy = _policy(*([tag_filter] if tag_filter else []))
    assert (policy.selects_untagged, policy.selects_tag("v1"), policy.selects_tag("dev")) == (
        untagged,
        v1,
        dev,
    )


def test_label_and_resource_filters_decide_on_the_artifacts_facts() -> None:
    prod = ArtifactFacts(frozenset({"tier", "tier=prod", "team", "team=web"}), image=True)
    dev = ArtifactFacts(frozenset({"tier", "tier=dev"}), image=True)
    chart = ArtifactFacts(frozenset({"tier", "tier=prod"}), image=False)
    every = _policy({"type": "label", "value": ["tier=prod", "team=web"]})
    assert [every.selects_facts(f) for f in (prod, dev, chart)] == [True, False, False]
    # excludes keeps what does not carry every label named
    others = _policy({"type": "label", "value": ["tier=prod", "team=web"],
                      "decoration": "excludes"})  # fmt: skip
    assert [others.selects_facts(f) for f in (prod, dev, chart)] == [False, True, True]
    images = _policy({"type": "resource", "value": "image"}, {"type": "label", "value": ["tier"]})
    assert [images.selects_facts(f) for f in (prod, dev, chart)] == [True, True, False]
    anything = _policy({"type": "resource", "value": "artifact"}, {"type": "label", "value": []})
    assert not anything.reads_content and anything.filters == ()
    # Harbor's body round-trips (a label filter's value is a list)
    assert every.filters[0].json() == {"type": "label", "value": ["tier=prod", "team=web"],
                                       "decoration": "matches"}  # fmt: skip


def test_facts_come_from_the_image_config_labels_and_the_manifest_annotations() -> None:
    config = b'{"config": {"Labels": {"tier": "prod"}}}'
    manifest = (
        b'{"schemaVersion": 2, "config": {"mediaType": '
        b'"application/vnd.oci.image.config.v1+json", "digest": "sha256:c", "size": 1},'
        b' "layers": [], "annotations": {"org.opencontainers.image.vendor": "acme"}}'
    )
    facts = artifact_facts(manifest, lambda digest: config if digest == "sha256:c" else None)
    assert facts.image
    assert {"tier", "tier=prod", "org.opencontainers.image.vendor=acme"} <= facts.labels
    index = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}'
    assert artifact_facts(index, lambda d: None).image
    other = manifest.replace(b"application/vnd.oci.image.config.v1+json", ARTIFACT_CONFIG.encode())
    found = artifact_facts(other, lambda d: config)
    assert not found.image and "tier" not in found.labels  # an artifact's config is no image's
    assert artifact_facts(b"not json", lambda d: None) == ArtifactFacts(image=False)


def test_a_manual_run_selects_tagged_and_untagged_artifacts_by_every_filter(
    registry: Registry, client: ASGIClient
) -> None:
    prod = push_labelled(client, "team/app", "v1", labels={"tier": "prod"}, seed="a")
    dev = push_labelled(client, "team/app", "v2", labels={"tier": "dev"}, seed="b")
    loose = push_labelled(client, "team/app", None, labels={"tier": "prod"}, seed="c")
    thing = push_labelled(client, "team/app", "t1", labels={"tier": "prod"}, seed="d",
                          config_type=ARTIFACT_CONFIG)  # fmt: skip
    signature = cosign_signature_manifest(push_blob, client, "team/app")
    sig_tag = "sha256-" + prod.partition(":")[2] + ".sig"
    r = client.put(f"/v2/team/app/manifests/{sig_tag}", content=signature,
                   headers={"content-type": OCI_MANIFEST})  # fmt: skip
    assert r.status_code == 201, r.text
    push_image(client, "other/app", "v1", seed="e")

    def selected(*filters: dict[str, object]) -> set[tuple[str, str]]:
        policy = _policy({"type": "name", "value": "team/**"}, *filters)
        tasks = local_tasks(registry, policy)
        assert all(t.dst_repository == "team/app" for t in tasks)
        assert all(t.dst_tag == ("" if ":" in t.src_reference else t.src_reference)
                   for t in tasks)  # fmt: skip
        return {(t.src_repository, t.src_reference) for t in tasks}

    app = "team/app"
    # no tag filter: every artifact, the untagged one by digest; the signature travels
    # with its subject (no task of its own)
    assert selected() == {(app, "v1"), (app, "v2"), (app, "t1"), (app, loose)}
    assert selected({"type": "tag", "value": "v*"}) == {(app, "v1"), (app, "v2")}
    # (an artifact's config is no image config: its labels are not read)
    assert selected({"type": "label", "value": ["tier=prod"]}) == {(app, "v1"), (app, loose)}
    assert selected({"type": "label", "value": ["tier=prod"], "decoration": "excludes"}) == {
        (app, "v2"), (app, "t1")}  # fmt: skip
    assert selected({"type": "resource", "value": "image"},
                    {"type": "tag", "value": "t*", "decoration": "excludes"}) == {
        (app, "v1"), (app, "v2"), (app, loose)}  # fmt: skip
    assert dev and thing


def test_event_based_pushes_queue_untagged_artifacts_when_the_tag_filters_take_them() -> None:
    digest = "sha256:" + "cd" * 32
    loose = Pushed("team/app", digest, ())
    referrer = Pushed("team/app", "sha256:" + "ef" * 32, (), subject=digest)
    anything = _policy({"type": "name", "value": "team/**"})
    assert tasks_for_push(anything, loose) == [NewTask("team/app", digest, "team/app", "")]
    assert tasks_for_push(anything, referrer) == [NewTask("team/app", digest, "team/app", "")]
    releases = _policy({"type": "tag", "value": "v*"})
    assert tasks_for_push(releases, loose) == []


def test_deletions_are_replicated_by_policies_that_ask_for_them(
    registry: Registry, client: ASGIClient
) -> None:
    v1 = push_labelled(client, "team/app", "v1", labels={"tier": "prod"}, seed="a")
    push_labelled(client, "team/app", "dev", labels={"tier": "dev"}, seed="b")
    loose = push_labelled(client, "team/app", None, seed="c")
    events = {"trigger": {"type": "event_based"}, "dest_namespace": "mirror"}
    policy = _policy({"type": "tag", "value": "v*"}, replicate_deletion=True, **events)
    assert deletion_tasks(registry, policy, "team/app", "v1") == [
        NewTask("team/app", "v1", "mirror/app", "v1", DELETE)
    ]
    # a digest: by the tags on it (or as untagged); every tag on it goes at the destination
    assert deletion_tasks(registry, policy, "team/app", v1) == [
        NewTask("team/app", v1, "mirror/app", "", DELETE)
    ]
    assert deletion_tasks(registry, policy, "team/app", "dev") == []  # not selected
    assert deletion_tasks(registry, policy, "team/app", loose) == []  # "" does not match v*
    assert deletion_tasks(registry, policy, "team/app", "gone") == []  # nothing to delete
    labelled = _policy({"type": "label", "value": ["tier=prod"]}, replicate_deletion=True,
                       **events)  # fmt: skip
    assert [t.src_reference for t in deletion_tasks(registry, labelled, "team/app", "v1")] == ["v1"]
    assert deletion_tasks(registry, labelled, "team/app", "dev") == []
    # a policy that does not replicate deletions queues none
    assert deletion_tasks(registry, _policy(**events), "team/app", "v1") == []
    # nor does a pull-based one that keeps the flag (Harbor: deletions here are replicated
    # only by policies whose source is this registry)
    pull = policy_from_json({"name": "p", "src_registry": {"id": 1}, "replicate_deletion": True})
    assert pull.replicate_deletion and deletion_tasks(registry, pull, "team/app", "v1") == []

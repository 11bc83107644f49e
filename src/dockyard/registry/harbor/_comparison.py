"""dockyard extension ``GET …/artifacts/{reference}/compare?with=<reference>``: how the image
``with`` names differs from the path's (the console's compare page shows this answer).

Both artifacts need the caller's ``artifact`` ``read`` (403/404 otherwise, and nothing of
either image). The answer: layers added, removed and shared (with the command that made each);
``diff``, the files added, removed and changed and the config changes, as ``dockyard diff
--format json`` writes them; packages added, removed and changed (the scanner's catalogue of
both images); and, when the registry scans and both reports are done, the vulnerabilities
fixed and introduced (``null`` otherwise). An index is refused (400: compare two of its
images by digest); images whose layers hold more than 512 MiB together or that differ in more
than 100,000 files are refused (412, pointing to ``dockyard diff``)."""

from __future__ import annotations

from dockyard.errors import Unsupported
from dockyard.registry.contents import compare, comparison_json
from dockyard.registry.harbor._artifacts import _resolve
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._repositories import full_name
from dockyard.registry.scanning import scan_all_of

__all__ = ["MAX_REFERENCE", "get_comparison"]

#: a tag is at most 128 characters, a digest about 71; ``with`` longer than this is refused
MAX_REFERENCE = 256


async def get_comparison(call: Call) -> Reply:
    """dockyard extension: from the path's artifact to ``with``'s."""
    other = (call.query("with") or "").strip()
    if not other:
        raise BadRequest("name the artifact to compare with: ?with=<tag or digest>")
    if len(other) > MAX_REFERENCE:
        raise BadRequest(f"with is longer than {MAX_REFERENCE} characters")
    project, name = full_name(call)
    await call.require(project, "artifact", "read")
    a = await _resolve(call, name)
    b = await _resolve(call, name, other)
    reports = scan_all_of(call.registry)
    try:
        result = await call.run(compare, call.registry, name, a.digest, b.digest, reports)
    except Unsupported as exc:  # an index
        raise BadRequest(str(exc)) from None
    doc = comparison_json(result)
    doc["from"] = {"reference": call.param("reference"), "digest": a.digest}
    doc["to"] = {"reference": other, "digest": b.digest}
    return Reply(json=doc)

"""Tag immutability (Harbor's immutable tag rules): per project, repository and tag patterns
in doublestar syntax whose tags, once pushed, never move to another digest nor are deleted.

The rules live in the registry's database (:class:`ImmutableRules`); the
:class:`ImmutabilityGuard` enforces them as one guard of the registry's chain
(``Registry.guard``), so ``/v2/`` pushes and deletes, the API and server-side jobs all obey
them. The API handlers (``_api``) are imported by the API's route table only.
"""

from dockyard.registry.immutability._doublestar import BadPattern, compile_pattern, match
from dockyard.registry.immutability._guard import ImmutabilityGuard, TagImmutable
from dockyard.registry.immutability._rules import (
    ImmutableRule,
    InvalidRule,
    Selector,
    protecting_rule,
    rule_from_json,
)
from dockyard.registry.immutability._store import (
    DuplicateRule,
    ImmutableRules,
    RuleNotFound,
    rules_of,
)

__all__ = [
    "BadPattern",
    "DuplicateRule",
    "ImmutabilityGuard",
    "ImmutableRule",
    "ImmutableRules",
    "InvalidRule",
    "RuleNotFound",
    "Selector",
    "TagImmutable",
    "compile_pattern",
    "match",
    "protecting_rule",
    "rule_from_json",
    "rules_of",
]

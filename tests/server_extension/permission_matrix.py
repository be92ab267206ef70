"""The permission matrix the tests expect, written out by hand from DESIGN.md and issue 3.

It is deliberately a literal table and never computed from ``PermissionPolicy``: the tests compare
the code against it, so it must be able to disagree. ``docs/permissions.md`` shows the same table;
``python -m tests.server_extension.permission_matrix`` prints it as Markdown.

Rules (DESIGN.md "Permissions", issue 3 "Permissions"), on data owned by a plain member:
- view: other members in every level but private; the group owner and admins always.
- annotate: other members in read-annotate and read-write; the group owner and admins in all but private.
- edit, delete, link/unlink: other members in read-write only; the group owner and admins always.
- change owner: the group owner and admins, never the data's owner nor a member.
- move to another group: admins only ("only admins move objects between groups").
- the data's owner may do anything else to their own data.
- someone outside the group (not an admin) sees nothing of it: 404, absent from lists, counts, search.
"""

from __future__ import annotations

LEVELS = ("private", "read-only", "read-annotate", "read-write")
# owner: the plain member who owns the data; member: another plain member; group-owner: role owner in
# the group (not the data's owner); admin: an admin who is not in the group; non-member: none of these.
ACTORS = ("owner", "member", "group-owner", "admin", "non-member")
ACTIONS = ("view", "annotate", "edit", "delete", "link", "chown", "chgrp")

YES, NO, HIDDEN = "Y", "N", "-"  # allowed; visible but refused (403); invisible (404)

# Columns follow ACTIONS: view annotate edit delete link chown chgrp.
# fmt: off
MATRIX: dict[str, dict[str, str]] = {
    "private": {
        "owner":       "Y Y Y Y Y N N",
        "member":      "- - - - - - -",
        "group-owner": "Y N Y Y Y Y N",
        "admin":       "Y N Y Y Y Y Y",
        "non-member":  "- - - - - - -",
    },
    "read-only": {
        "owner":       "Y Y Y Y Y N N",
        "member":      "Y N N N N N N",
        "group-owner": "Y Y Y Y Y Y N",
        "admin":       "Y Y Y Y Y Y Y",
        "non-member":  "- - - - - - -",
    },
    "read-annotate": {
        "owner":       "Y Y Y Y Y N N",
        "member":      "Y Y N N N N N",
        "group-owner": "Y Y Y Y Y Y N",
        "admin":       "Y Y Y Y Y Y Y",
        "non-member":  "- - - - - - -",
    },
    "read-write": {
        "owner":       "Y Y Y Y Y N N",
        "member":      "Y Y Y Y Y N N",
        "group-owner": "Y Y Y Y Y Y N",
        "admin":       "Y Y Y Y Y Y Y",
        "non-member":  "- - - - - - -",
    },
}
# fmt: on


def expected(level: str, actor: str, action: str) -> str:
    """``Y``, ``N`` or ``-`` for one cell."""
    return MATRIX[level][actor].split()[ACTIONS.index(action)]


def allowed(level: str, actor: str, action: str) -> bool:
    return expected(level, actor, action) == YES


def reply_flags(level: str, actor: str) -> dict[str, bool]:
    """The ``can_*`` flags an object in a reply must carry for this actor."""
    return {
        "can_edit": allowed(level, actor, "edit"),
        "can_delete": allowed(level, actor, "delete"),
        "can_annotate": allowed(level, actor, "annotate"),
        "can_link": allowed(level, actor, "link"),
        "can_chown": allowed(level, actor, "chown"),
        "can_chgrp": allowed(level, actor, "chgrp"),
    }


ACTION_TITLES = {
    "view": "view",
    "annotate": "annotate",
    "edit": "edit",
    "delete": "delete",
    "link": "link, unlink",
    "chown": "change owner",
    "chgrp": "move group",
}
ACTOR_TITLES = {
    "owner": "the data's owner",
    "member": "another member",
    "group-owner": "group owner",
    "admin": "admin",
    "non-member": "not in the group",
}
SYMBOLS = {YES: "yes", NO: "no (403)", HIDDEN: "hidden (404)"}


def markdown() -> str:
    """The matrix as one Markdown table per group level, as in docs/permissions.md."""
    parts = []
    for level in LEVELS:
        lines = [
            f"### {level}",
            "",
            "| who | " + " | ".join(ACTION_TITLES[a] for a in ACTIONS) + " |",
            "|---|" + "---|" * len(ACTIONS),
        ]
        for actor in ACTORS:
            cells = [SYMBOLS[expected(level, actor, a)] for a in ACTIONS]
            lines.append(f"| {ACTOR_TITLES[actor]} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")

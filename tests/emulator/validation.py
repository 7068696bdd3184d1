"""Discord's limits on what the bot sends: message bodies and application command schemas.

Violations raise 50035 Invalid Form Body with an ``errors`` tree like Discord's, e.g.
``{"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "..."}]}}``.
"""

from __future__ import annotations

import re
from typing import Any

from . import errors

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
MAX_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
MAX_ACTION_ROWS = 5
MAX_ROW_WIDTH = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_OPTIONS = 25
MAX_COMPONENTS_V2 = 40
MAX_ATTACHMENTS = 10

COMMAND_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
MAX_COMMANDS = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25


def _max_length(limit: int) -> tuple[str, str]:
    return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


def validate_message(body: dict[str, Any], *, require_content: bool = True, file_count: int = 0) -> None:
    """Check a message create/edit body against Discord's limits (50035 / 50006 on failure)."""
    tree: dict[str, Any] = {}
    content = body.get("content")
    if content is not None and len(str(content)) > MAX_CONTENT:
        tree["content"] = errors.field_error(*_max_length(MAX_CONTENT))

    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        tree["embeds"] = errors.field_error(*_max_length(MAX_EMBEDS))
    else:
        embed_errors: dict[str, Any] = {}
        total = 0
        for index, embed in enumerate(embeds):
            problems, size = _embed_problems(embed)
            total += size
            if problems:
                embed_errors[str(index)] = problems
        if embed_errors:
            tree["embeds"] = embed_errors
        elif total > MAX_EMBED_TOTAL:
            tree["embeds"] = errors.field_error(
                "MESSAGE_EMBEDS_TOTAL_LENGTH", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
            )

    component_errors = _component_problems(body.get("components") or [], body.get("flags") or 0)
    if component_errors:
        tree["components"] = component_errors

    attachments = body.get("attachments") or []
    if max(len(attachments), file_count) > MAX_ATTACHMENTS:
        tree["attachments"] = errors.field_error(*_max_length(MAX_ATTACHMENTS))

    if tree:
        raise errors.invalid_form(tree)

    if require_content and not (
        (content not in (None, ""))
        or embeds
        or body.get("components")
        or attachments
        or file_count
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        raise errors.empty_message()


def _embed_problems(embed: dict[str, Any]) -> tuple[dict[str, Any], int]:
    problems: dict[str, Any] = {}
    size = 0
    for key, limit in EMBED_LIMITS.items():
        value = embed.get(key)
        if value is not None:
            size += len(str(value))
            if len(str(value)) > limit:
                problems[key] = errors.field_error(*_max_length(limit))
    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        problems["fields"] = errors.field_error(*_max_length(MAX_FIELDS))
    else:
        field_problems: dict[str, Any] = {}
        for index, field in enumerate(fields):
            one: dict[str, Any] = {}
            name, value = str(field.get("name", "")), str(field.get("value", ""))
            size += len(name) + len(value)
            if not name:
                one["name"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
            elif len(name) > FIELD_NAME:
                one["name"] = errors.field_error(*_max_length(FIELD_NAME))
            if not value:
                one["value"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
            elif len(value) > FIELD_VALUE:
                one["value"] = errors.field_error(*_max_length(FIELD_VALUE))
            if one:
                field_problems[str(index)] = one
        if field_problems:
            problems["fields"] = field_problems
    footer = (embed.get("footer") or {}).get("text")
    if footer is not None:
        size += len(footer)
        if len(footer) > FOOTER_TEXT:
            problems["footer"] = {"text": errors.field_error(*_max_length(FOOTER_TEXT))}
    author = (embed.get("author") or {}).get("name")
    if author is not None:
        size += len(author)
        if len(author) > AUTHOR_NAME:
            problems["author"] = {"name": errors.field_error(*_max_length(AUTHOR_NAME))}
    return problems, size


def _component_problems(components: list[dict[str, Any]], flags: int) -> dict[str, Any]:
    problems: dict[str, Any] = {}
    v2 = bool(flags & (1 << 15))
    if not v2 and len(components) > MAX_ACTION_ROWS:
        return errors.field_error(*_max_length(MAX_ACTION_ROWS))
    seen: set[str] = set()
    for index, row in enumerate(components):
        row_problems: dict[str, Any] = {}
        if not v2 and row.get("type") != 1:
            row_problems = errors.field_error(
                "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).'
            )
        children = row.get("components") or []
        if row.get("type") == 1 and len(children) > MAX_ROW_WIDTH:
            row_problems = {"components": errors.field_error(*_max_length(MAX_ROW_WIDTH))}
        for child_index, child in enumerate(children):
            custom_id = child.get("custom_id")
            child_problem: dict[str, Any] = {}
            if custom_id is not None:
                if len(custom_id) > MAX_CUSTOM_ID:
                    child_problem["custom_id"] = errors.field_error(*_max_length(MAX_CUSTOM_ID))
                elif custom_id in seen:
                    child_problem["custom_id"] = errors.field_error(
                        "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
                    )
                seen.add(custom_id)
            label = child.get("label")
            if label is not None and child.get("type") == 2 and len(label) > MAX_BUTTON_LABEL:
                child_problem["label"] = errors.field_error(*_max_length(MAX_BUTTON_LABEL))
            options = child.get("options")
            if options is not None and len(options) > MAX_SELECT_OPTIONS:
                child_problem["options"] = errors.field_error(*_max_length(MAX_SELECT_OPTIONS))
            if child_problem:
                row_problems.setdefault("components", {})[str(child_index)] = child_problem
        if row_problems:
            problems[str(index)] = row_problems
    return problems


def validate_modal(data: dict[str, Any]) -> None:
    """A modal (interaction callback type 9): title ≤ 45, 1-5 top-level components, custom ids."""
    tree: dict[str, Any] = {}
    if not data.get("custom_id"):
        tree["custom_id"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
    title = data.get("title") or ""
    if not title:
        tree["title"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
    elif len(title) > 45:
        tree["title"] = errors.field_error(*_max_length(45))
    components = data.get("components") or []
    if not components or len(components) > 5:
        tree["components"] = errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    if tree:
        raise errors.invalid_form({"data": tree})


# -- application commands ---------------------------------------------------------------------


def validate_commands(commands: list[dict[str, Any]]) -> None:
    """Check a bulk-overwrite body like Discord does (names, descriptions, option rules)."""
    if len(commands) > MAX_COMMANDS:
        raise errors.invalid_form(errors.field_error(*_max_length(MAX_COMMANDS)))
    tree: dict[str, Any] = {}
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        problems = _command_problems(command)
        key = (command.get("type", 1), command.get("name", ""))
        if key in seen:
            problems.setdefault(
                "name",
                errors.field_error(
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique: {key[1]}",
                ),
            )
        seen.add(key)
        if problems:
            tree[str(index)] = problems
    if tree:
        raise errors.invalid_form(tree)


def validate_command(command: dict[str, Any]) -> None:
    problems = _command_problems(command)
    if problems:
        raise errors.invalid_form(problems)


def _command_problems(command: dict[str, Any]) -> dict[str, Any]:
    problems: dict[str, Any] = {}
    name = command.get("name") or ""
    ctype = command.get("type", 1)
    if ctype == 1:
        if not COMMAND_NAME.match(name) or name != name.lower():
            problems["name"] = errors.field_error(
                "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        description = command.get("description") or ""
        if not 1 <= len(description) <= 100:
            problems["description"] = errors.field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        option_problems = _options_problems(command.get("options") or [], depth=0)
        if option_problems:
            problems["options"] = option_problems
    elif not 1 <= len(name) <= 32:
        problems["name"] = errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    return problems


def _options_problems(options: list[dict[str, Any]], *, depth: int) -> dict[str, Any]:
    if len(options) > MAX_OPTIONS:
        return errors.field_error(*_max_length(MAX_OPTIONS))
    problems: dict[str, Any] = {}
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        one: dict[str, Any] = {}
        otype = option.get("type")
        name = option.get("name") or ""
        if not COMMAND_NAME.match(name) or name != name.lower():
            one["name"] = errors.field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        elif name in names:
            one["name"] = errors.field_error(
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
            )
        names.add(name)
        description = option.get("description") or ""
        if not 1 <= len(description) <= 100:
            one["description"] = errors.field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        if otype in (1, 2):
            if (otype == 2 and depth > 0) or (otype == 1 and depth > 1):
                one["type"] = errors.field_error(
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-command nesting is too deep"
                )
            nested = _options_problems(option.get("options") or [], depth=depth + 1)
            if nested:
                one["options"] = nested
        else:
            if option.get("required"):
                if seen_optional:
                    one["required"] = errors.field_error(
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
            choices = option.get("choices") or []
            if len(choices) > MAX_CHOICES:
                one["choices"] = errors.field_error(*_max_length(MAX_CHOICES))
        if one:
            problems[str(index)] = one
    return problems

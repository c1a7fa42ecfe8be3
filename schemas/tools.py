"""Tools a seed set declares (`NAME.tools.json` beside the seeds: a list of OpenAI tool schemas) and
the output schema their calls make.

A tool-call seed's output is `{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}` (an empty list
when the request asks for no call). The tools become that output's JSON schema (`calls_schema`), so
every stage that reads an output schema (seed checks naming file and line, the teacher's structured
output, the validator's schema check, evaluation) reads the calls; the tools ride inside it under
`x-tools` (`tools_of`), so they travel with the run's `split/schema.json`.

    tools = load_tools(tools_next_to(seeds_path))       # SeedFileError naming file and tool
    schema = calls_schema(tools); tools_of(schema) == tools
    call_errors({"tool_calls": [...]}, tools)           # [] when every call is valid under its tool
"""

from __future__ import annotations

from pathlib import Path

import jsonschema

TOOLS_KEY = "x-tools"


def tools_next_to(seeds_path: Path) -> Path | None:
    """`foo.tools.json` beside `foo.jsonl`, if there is one."""
    candidate = seeds_path.with_name(seeds_path.stem + ".tools.json")
    return candidate if candidate.is_file() else None


def _function(tool, where: str) -> dict:
    from seedfactory.schemas.seedfile import SeedFileError

    fn = tool.get("function", tool) if isinstance(tool, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise SeedFileError(f"{where}: field 'function.name': a tool is {{\"type\": \"function\", \"function\": "
                            "{\"name\", \"description\", \"parameters\"}}")
    params = fn.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(params, dict) or params.get("type") != "object":
        raise SeedFileError(f"{where}: field 'function.parameters': the parameters are a JSON schema of type object")
    try:
        jsonschema.Draft202012Validator.check_schema(params)
    except jsonschema.SchemaError as e:
        raise SeedFileError(f"{where}: field 'function.parameters': not a valid JSON schema: {e.message}") from None
    return {"name": fn["name"], "description": fn.get("description", ""), "parameters": params}


def load_tools(path: str | Path, *, max_bytes: int = 20_000_000, max_depth: int = 32) -> list[dict]:
    """The tools of a `.tools.json` file, each as `{"name", "description", "parameters"}`."""
    from seedfactory.schemas.seedfile import SeedFileError, read_json_file

    path = Path(path)
    raw = read_json_file(path, max_bytes=max_bytes, max_depth=max_depth)
    if not isinstance(raw, list) or not raw:
        raise SeedFileError(f"{path}: a tools file is a non-empty list of OpenAI tool schemas")
    tools, seen = [], set()
    for i, t in enumerate(raw):
        fn = _function(t, f"{path}: tool {i}")
        if fn["name"] in seen:
            raise SeedFileError(f"{path}: tool {i}: field 'function.name': {fn['name']!r} declared twice")
        seen.add(fn["name"])
        tools.append(fn)
    return tools


def calls_schema(tools: list[dict]) -> dict:
    """The output schema of a tool-call seed set: a list of calls, each a declared tool with arguments
    valid under its parameters."""
    one = [{"type": "object", "properties": {"name": {"const": t["name"]}, "arguments": t["parameters"]},
            "required": ["name", "arguments"], "additionalProperties": False} for t in tools]
    return {"type": "object", "properties": {"tool_calls": {
        "type": "array", "description": "the calls that serve the request, in order; empty for none",
        "items": {"anyOf": one}}}, "required": ["tool_calls"], "additionalProperties": False,
        TOOLS_KEY: tools}


def tools_of(schema: dict | None) -> list[dict] | None:
    """The tools a calls schema was made from; None for any other schema."""
    return schema.get(TOOLS_KEY) if isinstance(schema, dict) else None


def call_errors(output, tools: list[dict]) -> list[str]:
    """What is wrong with an output's calls: an unknown tool, arguments against its schema (the first
    error per call, naming the argument). Empty when all are valid."""
    if not isinstance(output, dict) or not isinstance(output.get("tool_calls"), list):
        return ["the output is not {\"tool_calls\": [...]}"]
    by_name = {t["name"]: t for t in tools}
    errors = []
    for i, call in enumerate(output["tool_calls"]):
        if not isinstance(call, dict) or call.get("name") not in by_name:
            name = call.get("name") if isinstance(call, dict) else call
            errors.append(f"call {i}: unknown tool {name!r} (tools: {', '.join(by_name)})")
            continue
        args = call.get("arguments")
        if not isinstance(args, dict):
            errors.append(f"call {i} {call['name']}: arguments are not an object")
            continue
        found = sorted(jsonschema.Draft202012Validator(
            by_name[call["name"]]["parameters"], format_checker=jsonschema.FormatChecker()).iter_errors(args),
            key=lambda e: list(e.path))
        if found:
            at = ".".join(map(str, found[0].path))
            errors.append(f"call {i} {call['name']}{'.' + at if at else ''}: {found[0].message}")
    return errors

#!/usr/bin/env python3
"""Helpers for scripts/validate (stdlib only; runs with any python3).

Subcommands:

  stacks ASSEMBLY_DIR
      Print, one per line, the name `cdk ls` is expected to show for every
      stack artifact (type aws:cloudformation:stack) in ASSEMBLY_DIR/manifest.json
      (its displayName, falling back to the artifact id, then ` (stackName)` when
      the stack name differs from the artifact id, as the CDK CLI does). Nested assemblies
      (type cdk:cloud-assembly) are followed.

  extract-asl OUT_DIR TEMPLATE...
      Extract every AWS::StepFunctions::StateMachine definition from the given
      CloudFormation templates into OUT_DIR/<template-stem>.<LogicalId>.asl.json
      and print one tab-separated line per state machine:
          ok<TAB>FILE<TAB>LABEL      definition written to FILE
          error<TAB>-<TAB>LABEL: MESSAGE   could not be extracted/rendered
      Definitions are taken from `Definition` (an object) or `DefinitionString`
      (a plain string, or an Fn::Join / Fn::Sub intrinsic). Non-literal parts of
      intrinsics are rendered as placeholders: pseudo parameters become sensible
      literals (AWS::Partition -> "aws", ...) and everything else becomes
      PLACEHOLDER_ARN inside a JSON string, or 0 outside one (number tokens).
      Intrinsics nested in a `Definition` object become PLACEHOLDER_ARN.
      `${name}` references to DefinitionSubstitutions are replaced the same way
      Step Functions would.

  checkov-report JSON_FILE
      Read checkov's JSON output (`-o json`, all checks, not --quiet) and print
      `passed N, skipped M (answered)` or the unanswered findings, one per line:
          CHECK_ID<TAB>RESOURCE<TAB>FILE<TAB>CHECK NAME
      and every skip that carries no reason. Exits 1 if there is any failed check or
      any skip without a reason, 2 if the file is not checkov's JSON.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

PLACEHOLDER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:placeholder"

PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "placeholder-stack",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/placeholder-stack/00000000-0000-0000-0000-000000000000",
    "AWS::NoValue": "",
}

STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"

# ${Name}, ${Resource.Attr}, ${AWS::Region}; ${!Literal} is an escape.
SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class RenderError(Exception):
    pass


# JSON lexical state while rendering a DefinitionString piece by piece:
# (inside a JSON string?, previous char was a backslash inside a string?).
# A non-literal part inside a JSON string becomes PLACEHOLDER_ARN; outside a
# string (e.g. `"TimeoutSeconds": <Ref>`, how CDK renders number tokens) it
# becomes 0 so the result still parses.
State = tuple[bool, bool]
IN_STRING: State = (True, False)
TOP_LEVEL: State = (False, False)


def scan(text: str, state: State) -> State:
    in_string, escaped = state
    for ch in text:
        if escaped:
            escaped = False
        elif in_string:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
    return (in_string, escaped)


def placeholder(state: State) -> str:
    return PLACEHOLDER_ARN if state[0] else "0"


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or key.startswith("Fn::") or key == "Condition"


def render(value: Any, state: State = IN_STRING) -> str:
    """Render a CloudFormation string-valued expression to a plain string.

    `state` is the JSON lexical state of the text the result is spliced into.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Fn::Join":
            return render_join(arg, state)
        if key == "Fn::Sub":
            return render_sub(arg, state)
        if key == "Ref" and isinstance(arg, str) and arg in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[arg]
        # Ref, Fn::GetAtt, Fn::ImportValue, Fn::Select, Fn::If, ...: unknown
        # at synth time; assume it is an ARN (the common case in ASL).
        return placeholder(state)
    raise RenderError(f"cannot render {json.dumps(value)[:200]}")


def render_join(arg: Any, state: State) -> str:
    if (
        not isinstance(arg, list)
        or len(arg) != 2
        or not isinstance(arg[0], str)
    ):
        raise RenderError(f"malformed Fn::Join: {json.dumps(arg)[:200]}")
    delimiter, parts = arg
    if not isinstance(parts, list):
        # e.g. {"Fn::Join": ["", {"Ref": "SomeList"}]}
        return placeholder(state)
    out: list[str] = []
    for i, part in enumerate(parts):
        if i:
            out.append(delimiter)
            state = scan(delimiter, state)
        text = render(part, state)
        out.append(text)
        state = scan(text, state)
    return "".join(out)


def substitute_vars(template: str, variables: dict[str, Any], state: State) -> str:
    out: list[str] = []
    pos = 0
    for m in SUB_VAR.finditer(template):
        literal = template[pos : m.start()]
        out.append(literal)
        state = scan(literal, state)
        name = m.group(1)
        if name.startswith("!"):
            text = "${" + name[1:] + "}"
        elif name in variables:
            text = render(variables[name], state)
        elif name in PSEUDO_PARAMETERS:
            text = PSEUDO_PARAMETERS[name]
        else:
            text = placeholder(state)
        out.append(text)
        state = scan(text, state)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out)


def render_sub(arg: Any, state: State) -> str:
    if isinstance(arg, str):
        return substitute_vars(arg, {}, state)
    if (
        isinstance(arg, list)
        and len(arg) == 2
        and isinstance(arg[0], str)
        and isinstance(arg[1], dict)
    ):
        return substitute_vars(arg[0], arg[1], state)
    raise RenderError(f"malformed Fn::Sub: {json.dumps(arg)[:200]}")


def resolve_object(value: Any) -> Any:
    """Resolve intrinsics nested in a `Definition` object to plain strings."""
    if is_intrinsic(value):
        return render(value, IN_STRING)
    if isinstance(value, dict):
        return {k: resolve_object(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_object(v) for v in value]
    return value


def apply_definition_substitutions(text: str, subs: Any) -> str:
    """Step Functions' own ${key} substitution (DefinitionSubstitutions)."""
    if not isinstance(subs, dict) or not subs:
        return text

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in subs:
            return render(subs[name], IN_STRING)
        return m.group(0)

    return SUB_VAR.sub(repl, text)


def definition_text(props: dict[str, Any]) -> str:
    if "Definition" in props:
        definition = props["Definition"]
        if not isinstance(definition, dict):
            raise RenderError("Definition is not an object")
        text = json.dumps(resolve_object(definition))
    elif "DefinitionString" in props:
        text = render(props["DefinitionString"], TOP_LEVEL)
    elif "DefinitionS3Location" in props:
        raise RenderError("DefinitionS3Location is not supported by the validator")
    else:
        raise RenderError("no Definition or DefinitionString property")
    return apply_definition_substitutions(text, props.get("DefinitionSubstitutions"))


def extract_asl(out_dir: str, templates: list[str]) -> int:
    os.makedirs(out_dir, exist_ok=True)
    for path in templates:
        stem = os.path.basename(path)
        if stem.endswith(".template.json"):
            stem = stem[: -len(".template.json")]
        try:
            with open(path, encoding="utf-8") as f:
                template = json.load(f)
        except (OSError, ValueError) as e:
            print(f"error\t-\t{path}: cannot read template: {e}")
            continue
        resources = template.get("Resources") if isinstance(template, dict) else None
        if not isinstance(resources, dict):
            continue
        for logical_id, resource in resources.items():
            if not isinstance(resource, dict) or resource.get("Type") != STATE_MACHINE_TYPE:
                continue
            label = f"{os.path.basename(path)}:{logical_id}"
            props = resource.get("Properties") or {}
            try:
                text = definition_text(props)
                try:
                    parsed = json.loads(text)
                except ValueError as e:
                    raise RenderError(
                        f"rendered definition is not valid JSON ({e}): {text[:300]}"
                    ) from None
                if not isinstance(parsed, dict):
                    raise RenderError("rendered definition is not a JSON object")
            except RenderError as e:
                print(f"error\t-\t{label}: {e}")
                continue
            out = os.path.join(out_dir, f"{stem}.{logical_id}.asl.json")
            with open(out, "w", encoding="utf-8") as f:
                json.dump(parsed, f, indent=2)
                f.write("\n")
            print(f"ok\t{out}\t{label}")
    return 0


def stack_names(assembly_dir: str) -> list[str]:
    with open(os.path.join(assembly_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    names: list[str] = []
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        kind = artifact.get("type")
        if kind == "aws:cloudformation:stack":
            # As the CDK CLI shows it: the display name, followed by the stack name in
            # parentheses when that differs from the artifact id (stages, hyphenated ids).
            display = artifact.get("displayName") or artifact_id
            stack_name = (artifact.get("properties") or {}).get("stackName") or artifact_id
            names.append(display if stack_name == artifact_id else f"{display} ({stack_name})")
        elif kind == "cdk:cloud-assembly":
            sub = (artifact.get("properties") or {}).get("directoryName")
            if sub:
                names.extend(stack_names(os.path.join(assembly_dir, sub)))
    return names


def checkov_report(path: str) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read checkov's JSON output {path}: {e}")
        return 2
    reports = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) and "results" in r for r in reports):
        print(f"{path} is not checkov's JSON report")
        return 2
    passed = skipped = 0
    bad: list[str] = []
    for r in reports:
        results = r.get("results") or {}
        passed += len(results.get("passed_checks") or [])
        for c in results.get("failed_checks") or []:
            bad.append(
                f"{c.get('check_id')}\t{c.get('resource')}\t{os.path.basename(c.get('file_path') or '')}\t{c.get('check_name')}"
            )
        for c in results.get("skipped_checks") or []:
            skipped += 1
            comment = ((c.get("check_result") or {}).get("suppress_comment") or "").strip()
            if not comment or comment == "No comment provided":
                bad.append(
                    f"{c.get('check_id')}\t{c.get('resource')}\t{os.path.basename(c.get('file_path') or '')}\tskipped without a reason"
                )
    if bad:
        for line in bad:
            print(line)
        return 1
    print(f"passed {passed}, skipped {skipped} (answered)")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "stacks":
        for name in stack_names(argv[1]):
            print(name)
        return 0
    if len(argv) == 2 and argv[0] == "checkov-report":
        return checkov_report(argv[1])
    if len(argv) >= 2 and argv[0] == "extract-asl":
        return extract_asl(argv[1], argv[2:])
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# shellcheck shell=bash
# Shared helpers for scripts/validate and scripts/lib/validate-assembly.
# Source it; it does not change shell options.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

CFN_LINT="$ROOT/.tools/venv/bin/cfn-lint"
CHECKOV="$ROOT/.tools/checkov-venv/bin/checkov"
# The checkov checks that cairn's recommended rules cover (kept equal to the rules'
# mappings by a test in aspects/tests/checkov_ids.rs).
CHECKOV_CHECKS_FILE="$ROOT/scripts/checkov-checks.txt"
NODE_BIN="$ROOT/.tools/node/node_modules/.bin"
CDK="$NODE_BIN/cdk"
ASL_VALIDATOR="$NODE_BIN/asl-validator"
if [[ -x "$ROOT/.tools/venv/bin/python" ]]; then
    PY="$ROOT/.tools/venv/bin/python"
else
    PY="$(command -v python3)"
fi
CFN_TOOLS="$ROOT/scripts/lib/cfn_tools.py"

# Keep the CDK CLI off the network: no version check, no telemetry (the
# `--no-notices` flag passed to `cdk ls` below stops the notices download and
# its connectivity probe). No AWS credentials are needed for
# `cdk ls --app <assembly dir>`. CDK_HOME keeps its cache out of ~/.cdk.
export CDK_DISABLE_VERSION_CHECK=1
export CDK_DISABLE_CLI_TELEMETRY=true
export CDK_HOME="${CDK_HOME:-$ROOT/target/validate/.cdk-home}"

PASSED=0
FAILED=0
FAILURES=()

pass() {
    PASSED=$((PASSED + 1))
    echo "  ok    $*"
}

fail() {
    FAILED=$((FAILED + 1))
    FAILURES+=("$*")
    echo "  FAIL  $*"
}

# Print captured tool output indented (nothing if empty).
show() {
    [[ -n "$1" ]] && printf '%s\n' "$1" | sed 's/^/        | /'
    return 0
}

require_tools() {
    local t missing=0
    for t in "$CFN_LINT" "$CDK" "$ASL_VALIDATOR" "$CHECKOV"; do
        if [[ ! -x "$t" ]]; then
            echo "missing tool: $t (run scripts/lib/install-tools, or scripts/test)" >&2
            missing=1
        fi
    done
    return "$missing"
}

# cfn-lint's exit code is a bitmask: 2 = error, 4 = warning, 8 = informational.
# Errors fail; warnings/informational are shown but pass. Any other bit set
# (1, 16, ...: crashes, usage errors) fails too.
lint_template() {
    local tpl="$1" label="$2" out rc=0
    out="$("$CFN_LINT" -- "$tpl" 2>&1)" || rc=$?
    if ((rc == 0)); then
        pass "cfn-lint $label"
    elif ((rc & 2)) || ((rc & ~12)); then
        fail "cfn-lint $label (exit $rc)"
        show "$out"
    else
        pass "cfn-lint $label (warnings only, exit $rc)"
        show "$out"
    fi
}

# validate_assembly DIR ASL_OUT_DIR [cdk-ls]
#   cfn-lint every *.template.json, asl-validator every state machine
#   definition, and (if the 3rd arg is "cdk-ls") check `cdk ls --app DIR`
#   lists exactly the stacks in DIR/manifest.json.
validate_assembly() {
    local dir="$1" asl_out="$2" want_cdk_ls="${3:-}"
    local name tpl status file label out rc

    name="$(basename "$dir")"
    if [[ ! -f "$dir/manifest.json" ]]; then
        fail "$name: no manifest.json in $dir"
        return 0
    fi

    local templates=()
    while IFS= read -r tpl; do
        templates+=("$tpl")
    done < <(find "$dir" -name '*.template.json' -type f | LC_ALL=C sort)
    if ((${#templates[@]} == 0)); then
        fail "$name: no *.template.json in $dir"
        return 0
    fi

    for tpl in "${templates[@]}"; do
        lint_template "$tpl" "$name/${tpl#"$dir"/}"
    done

    # Step Functions definitions -> asl-validator
    rm -rf "$asl_out"
    mkdir -p "$asl_out"
    local extracted n_sm=0
    extracted="$("$PY" "$CFN_TOOLS" extract-asl "$asl_out" "${templates[@]}")" || {
        fail "$name: state machine extraction crashed"
        extracted=""
    }
    while IFS=$'\t' read -r status file label; do
        [[ -z "$status" ]] && continue
        n_sm=$((n_sm + 1))
        if [[ "$status" != ok ]]; then
            fail "asl-validator $name/$label"
            continue
        fi
        rc=0
        out="$("$ASL_VALIDATOR" --json-path "$file" 2>&1)" || rc=$?
        if ((rc == 0)); then
            pass "asl-validator $name/$label"
        else
            fail "asl-validator $name/$label (exit $rc; definition: ${file#"$ROOT"/})"
            show "$out"
        fi
    done <<<"$extracted"
    ((n_sm == 0)) && echo "  --    $name: no state machines"

    checkov_check "$dir" "$name"

    if [[ "$want_cdk_ls" == cdk-ls ]]; then
        cdk_ls_check "$dir"
    fi
    return 0
}

# checkov over an assembly, with all its CloudFormation checks: every finding must be
# answered, either fixed (by an L2 default or a recommended rule in fix mode) or
# suppressed on the resource with a reason (cairn's Suppressions write checkov's
# `checkov: skip` metadata with the reason as its comment). A failed check, or a skip
# without a reason, fails. The assemblies named in CHECKOV_COVERED_ONLY are held only to
# the checks cairn's rules cover (scripts/checkov-checks.txt): bench-app is the
# benchmark's 1000-bucket app, kept the same as its aws-cdk-lib twin in bench/cdk.
CHECKOV_COVERED_ONLY="${CHECKOV_COVERED_ONLY:-bench-app}"

checkov_check() {
    local dir="$1" name="$2" checks out rc=0 report
    if [[ " $CHECKOV_COVERED_ONLY " == *" $name "* ]]; then
        checks="$(grep -v '^#' "$CHECKOV_CHECKS_FILE" | tr -s '\n' ',' | sed 's/,$//')"
        out="$("$CHECKOV" -d "$dir" --framework cloudformation --check "$checks" \
            --compact --quiet --skip-download 2>&1)" || rc=$?
        if ((rc == 0)); then
            pass "checkov $name, the checks cairn's rules cover ($(grep -o 'Passed checks: [0-9]*' <<<"$out" || echo 'no applicable checks'))"
        else
            fail "checkov $name, the checks cairn's rules cover (exit $rc)"
            show "$out"
        fi
        return 0
    fi
    report="$(mktemp)"
    "$CHECKOV" -d "$dir" --framework cloudformation --compact --skip-download \
        -o json >"$report" 2>"$report.err" || rc=$?
    # checkov exits 1 when a check fails; anything else is a crash or a usage error.
    if ((rc != 0 && rc != 1)); then
        fail "checkov $name (exit $rc)"
        show "$(cat "$report.err")"
    else
        rc=0
        out="$("$PY" "$CFN_TOOLS" checkov-report "$report" 2>&1)" || rc=$?
        if ((rc == 0)); then
            pass "checkov $name, all checks ($out)"
        else
            fail "checkov $name, all checks: unanswered findings (fix them, or suppress each with Suppressions::of(app, node).add(id, reason))"
            show "$out"
        fi
    fi
    rm -f "$report" "$report.err"
    return 0
}

# `cdk ls --app DIR` must list exactly the stack artifacts of DIR/manifest.json
# (by displayName, or artifact id when there is none). Runs offline, without
# AWS credentials, from an empty scratch cwd so no cdk.json is picked up.
cdk_ls_check() {
    local dir="$1" name expected actual err rc=0 scratch
    name="$(basename "$dir")"
    if ! expected="$("$PY" "$CFN_TOOLS" stacks "$dir" | LC_ALL=C sort)"; then
        fail "cdk ls $name: cannot read stacks from manifest.json"
        return 0
    fi
    if [[ -z "$expected" ]]; then
        fail "cdk ls $name: manifest.json has no aws:cloudformation:stack artifacts"
        return 0
    fi
    scratch="$(mktemp -d)"
    err="$scratch.err"
    actual="$(cd "$scratch" && timeout 120 "$CDK" ls --app "$dir" --no-notices \
        </dev/null 2>"$err")" || rc=$?
    actual="$(printf '%s\n' "$actual" | sed '/^[[:space:]]*$/d' | LC_ALL=C sort)"
    if ((rc == 0)) && [[ "$actual" == "$expected" ]]; then
        pass "cdk ls $name ($(echo "$expected" | wc -l | tr -d ' ') stacks: $(echo "$expected" | paste -sd' ' -))"
    else
        fail "cdk ls $name (exit $rc)"
        echo "        expected:"; show "$expected"
        echo "        got:"; show "$actual"
        show "$(cat "$err")"
    fi
    rm -rf "$scratch" "$err"
    return 0
}

summary() {
    local label="$1"
    if ((FAILED > 0)); then
        echo
        echo "failed checks:"
        local f
        for f in "${FAILURES[@]}"; do
            echo "  - $f"
        done
    fi
    echo
    echo "$label: $PASSED passed, $FAILED failed"
}

# start_local_aws DIR: starts the local environment (scripts/lib/local-aws.py; its output in
# DIR/local-aws.out and DIR/local-aws.log), waits until it serves (at most 60 s), and sets
# LOCAL_AWS_PID and LOCAL_AWS_ENDPOINT; then exports what the AWS clients need to use it:
# the endpoint, dummy credentials, us-east-1, no config or credentials files. Stop it with
# stop_local_aws (in the caller's exit trap). launch_local_aws and use_local_aws are its two
# halves, for a caller that has other work to do while the environment starts.
start_local_aws() {
    launch_local_aws "$1"
    use_local_aws "$1"
}

# launch_local_aws DIR: starts the local environment in the background; sets LOCAL_AWS_PID.
launch_local_aws() {
    local dir="$1"
    "$PY" "$ROOT/scripts/lib/local-aws.py" --ready-file "$dir/endpoint" >"$dir/local-aws.out" 2>"$dir/local-aws.log" &
    LOCAL_AWS_PID=$!
}

# use_local_aws DIR: waits until the environment launch_local_aws started serves, then sets
# LOCAL_AWS_ENDPOINT and exports the AWS clients' environment (as start_local_aws says).
use_local_aws() {
    local dir="$1"
    for _ in $(seq 1 600); do
        [[ -s "$dir/endpoint" ]] && break
        if ! kill -0 "$LOCAL_AWS_PID" 2>/dev/null; then
            echo "the local environment did not start:" >&2
            tail -n 30 "$dir/local-aws.log" >&2
            return 1
        fi
        sleep 0.1
    done
    [[ -s "$dir/endpoint" ]] || { echo "the local environment did not start within 60 s" >&2; return 1; }
    LOCAL_AWS_ENDPOINT="$(cat "$dir/endpoint")"
    echo "local environment on $LOCAL_AWS_ENDPOINT (pid $LOCAL_AWS_PID); what it changes in moto:"
    grep '^local-aws:' "$dir/local-aws.log" | sed 's/^/  /' || true

    export AWS_ENDPOINT_URL="$LOCAL_AWS_ENDPOINT"
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    export AWS_CONFIG_FILE="$dir/no-config" AWS_SHARED_CREDENTIALS_FILE="$dir/no-credentials"
    unset AWS_PROFILE
}

# stop_local_aws: stops the environment start_local_aws started (if any).
stop_local_aws() {
    if [[ -n "${LOCAL_AWS_PID:-}" ]]; then
        kill "$LOCAL_AWS_PID" 2>/dev/null || true
        wait "$LOCAL_AWS_PID" 2>/dev/null || true
        LOCAL_AWS_PID=""
    fi
}

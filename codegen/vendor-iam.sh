#!/usr/bin/env bash
# Re-vendors the IAM service reference (every service's actions with their access level,
# resource types with ARN formats, condition keys; per action the resource types it takes
# and the condition keys that apply) that cairn checks policy documents against.
#
# Source: `iam_definition.json` shipped inside the parliament Python package (BSD-3-Clause,
# Copyright 2019 Duo Security; the licence is kept next to the data in codegen/iam/LICENSE),
# itself scraped from the AWS Service Authorization Reference. The version is pinned in
# codegen/iam/VERSION. This script downloads that exact wheel with pip (no dependencies,
# nothing installed) and stores the file gzip-compressed, deterministically (no name, zero
# mtime), as codegen/iam/iam_definition.json.gz.
#
# Usage:  codegen/vendor-iam.sh             # uses codegen/iam/VERSION
#         codegen/vendor-iam.sh 1.6.5       # bump: writes VERSION too
# Then:   cargo run -p cairn-codegen -- iam  # regenerate constructs/cfn/src/policy/reference.txt
#
# Needs python3 with pip; only this script does. A normal build reads the compact table.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="$HERE/iam"
VERSION="${1:-$(tr -d '[:space:]' <"$OUT_DIR/VERSION")}"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: -d "$WORK/wheel" "parliament==$VERSION"
WHEEL="$(ls "$WORK"/wheel/parliament-"$VERSION"-*.whl)"

"$PYTHON" - "$WHEEL" "$VERSION" "$OUT_DIR" <<'PY'
import gzip, json, sys, zipfile

wheel, version, out = sys.argv[1:4]
z = zipfile.ZipFile(wheel)
data = z.read("parliament/iam_definition.json")
services = json.loads(data)
licence = [n for n in z.namelist() if n.endswith("/LICENSE") and ".dist-info/" in n]
with open(out + "/LICENSE", "wb") as f:
    f.write(z.read(licence[0]))
with open(out + "/iam_definition.json.gz", "wb") as f:
    with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
        gz.write(data)
print("vendored %d service entries (%d actions) from parliament %s into %s"
      % (len(services), sum(len(s["privileges"]) for s in services), version, out))
PY
printf '%s\n' "$VERSION" >"$OUT_DIR/VERSION"

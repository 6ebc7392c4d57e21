#!/usr/bin/env bash
# `make bench`, part 3: the size of every function as Lambda gets it: the
# arm64 release build (stripped by the release profile), and its zip.
# Writes bench-results/sizes.json.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
# Every function under functions/, and the two reference binaries.
functions=()
for dir in functions/*/; do functions+=("$(basename "$dir")"); done
functions+=(bench-floor bench-noop)
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
cargo lambda build --release --arm64 --locked --output-format zip \
  --lambda-dir "$target/lambda-bench" "${packages[@]}" >&2
mkdir -p bench-results
{
  echo "{"
  sep=""
  for f in "${functions[@]}"; do
    dir="$target/lambda-bench/$f"
    unzip -o -q "$dir/bootstrap.zip" -d "$dir/unzipped"
    echo "$sep \"$f\": {\"binary\": $(stat -c %s "$dir/unzipped/bootstrap"), \"zip\": $(stat -c %s "$dir/bootstrap.zip")}"
    sep=","
  done
  echo "}"
} > bench-results/sizes.json
cat bench-results/sizes.json

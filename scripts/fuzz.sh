#!/usr/bin/env bash
# Fuzzes what strangers can send the server, with cargo-fuzz (libFuzzer, on the nightly
# toolchain it installs through rustup): initData, uploaded files through the image pipeline,
# socket messages, upload forms. Each target runs MINUTES minutes (default 10); the counts of
# executions and what was found go into the "Fuzzing" section of BENCHMARKS.md. A crash leaves
# its input in fuzz/artifacts/<target>/ (replay: cargo +nightly fuzz run <target> <file>), to be
# turned into a regression test. Naming targets reruns only those; the other targets' rows stay.
#
#   scripts/fuzz.sh [MINUTES] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

minutes=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(init_data image_pipeline client_message multipart)

export PATH="$HOME/.cargo/bin:$PATH"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

rows=()
for target in "${targets[@]}"; do
  log "fuzzing $target for $minutes minutes"
  mkdir -p "fuzz/corpus/$target"
  output=$(mktemp)
  status=0
  (cd fuzz && cargo +nightly fuzz run "$target" -- -max_total_time=$((minutes * 60)) \
    -rss_limit_mb=2048 -print_final_stats=1) >"$output" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$output" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$output" | tail -n 1)
  # Nothing to find when the target did not build: the failure below says why.
  coverage=$( (grep -o 'cov: [0-9]*' "$output" || true) | tail -n 1 | sed 's/cov: //')
  if [ "$status" -eq 0 ]; then
    found="none"
  else
    found="a failure (exit $status): $(grep -m1 -E 'panicked|ERROR: libFuzzer' "$output" | cut -c1-120)"
    tail -n 40 "$output" >&2
  fi
  rows+=("| \`$target\` | $minutes min | ${runs:-?} | ${speed:-?} | ${coverage:-?} | $found | $(date -u +%Y-%m-%d) |")
  rm -f "$output"
done

# Rows of targets not run this time are kept from the last report.
for target in init_data image_pipeline client_message multipart; do
  [[ " ${targets[*]} " == *" $target "* ]] && continue
  kept=$(grep "^| \`$target\` | [0-9]* min |" BENCHMARKS.md 2>/dev/null || true)
  [ -n "$kept" ] && rows+=("$kept")
done

report=$(
  cat <<REPORT
## Fuzzing

cargo-fuzz (libFuzzer), each target for the time in its row: \`init_data\` (validation of any
text, and a signed copy of its fields accepted only with the right bot token),
\`image_pipeline\` (any file through sniffing, header limits, decoding and resizing),
\`client_message\` (any socket text read as a client message, and written back the same),
\`multipart\` (any body read as the upload form).

| target | time | executions | per second | coverage (edges) | findings | date |
|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM. Command: \`scripts/fuzz.sh MINUTES [TARGET...]\`
(\`scripts/fuzz.sh 10\` runs every target for 10 minutes).
REPORT
)
write_benchmark_section "Fuzzing" "$report"
log "BENCHMARKS.md: fuzzing results written"

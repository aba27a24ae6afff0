#!/usr/bin/env bash
# The benchmarks compare against curl and aria2c in the same run and read peak memory with
# GNU time; install them when missing.
set -euo pipefail
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v aria2c >/dev/null || missing+=(aria2)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "benchmarks need: ${missing[*]} (install them with your package manager)" >&2
  fi
fi

#!/bin/sh
# Cargo's runner for x86_64-pc-windows-gnu test binaries: runs them under Wine. The
# runner variable is removed first, or assert_cmd inside the tests would start portq.exe
# through this Linux script, which a Windows process cannot run.
unset CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER
exec "${PORTQ_WINE_BIN:-wine}" "$@"

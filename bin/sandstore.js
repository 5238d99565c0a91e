#!/usr/bin/env -S node --initial-heap-size=256
// The flags on the line above are NODE_RUNTIME_FLAGS (src/common/runtime-flags.ts): why, there.
// Runs the TypeScript sources through tsx, so the command works straight from a checkout.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");

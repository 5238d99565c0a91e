/**
 * What a call came to, as tests compare it: "ok", or the POSIX code of the SandstoreError it
 * failed with. Any other error is passed on: it is not an outcome, it is a bug.
 */
import { SandstoreError } from "../../src/common/errors.ts";

export async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (error instanceof SandstoreError) return error.code;
    throw error;
  }
}

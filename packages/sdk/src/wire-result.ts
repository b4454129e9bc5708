/** Converting between wire results (plain data) and SDK Results (errors as SDK classes). */
import type { WireResult } from "@neko/protocol";
import { fromWireError, type SdkError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";

/** A wire result as an SDK Result, with the error rebuilt as its SDK class. */
export function toResult<T>(result: WireResult): Result<T, SdkError> {
  return result.ok ? Ok(result.value as T) : Err(fromWireError(result.error));
}

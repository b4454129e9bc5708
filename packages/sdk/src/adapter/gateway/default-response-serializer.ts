/**
 * `DefaultResponseSerializer` (docs/adapters.md#serializer): keeps the response as the pipeline made it, checking that
 * its data is JSON-compatible (what every protocol an adapter speaks can carry): `undefined` becomes null, and data
 * that is not JSON (a function, a cycle, a `BigInt`, …) is an `internal_error` naming where.
 */
import { findJsonProblem } from "@neko/protocol";
import { Err, Ok, type Result } from "../../result.ts";
import { type GatewayError, GatewayErrorCode, gatewayError } from "./gateway-error.ts";
import type { GatewayResponse } from "./gateway-models.ts";
import type { ResponseSerializer } from "./gateway-stages.ts";

export class DefaultResponseSerializer implements ResponseSerializer {
  serialize(response: GatewayResponse): Result<GatewayResponse, GatewayError> {
    if (!response.ok) return Ok(response);
    const data = response.data === undefined ? null : response.data;
    const problem = findJsonProblem(data);
    if (problem) {
      const where = problem.path.replace(/^\$/, "data");
      return Err(
        gatewayError(
          GatewayErrorCode.InternalError,
          `the result is not JSON-compatible: ${where} is ${problem.problem}`,
          {
            details: { path: problem.path },
          },
        ),
      );
    }
    return Ok(data === response.data ? response : { ...response, data });
  }
}

/** A configuration problem with the error code the server turns into a status (CONFIG_INVALID → 400, …). */
import { ErrorCode } from "@neko/protocol";
import { failure, type WireFailure } from "../wire-result.ts";

export class ConfigError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ConfigError";
  }

  static invalid(message: string, details?: unknown): ConfigError {
    return new ConfigError(ErrorCode.ConfigInvalid, message, details);
  }

  toResult(): WireFailure {
    return failure(this.code, this.message, this.name, this.details);
  }
}

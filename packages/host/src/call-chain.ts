/**
 * The call chain of a cross-plugin call (SPEC §4.3): which plugins the call is nested in, outermost first. The host
 * checks it before every nested call: a plugin may appear once (a cycle fails at once), and a chain holds at most
 * `maxDepth` plugins.
 */
import { ErrorCode, PLUGIN_ID_PATTERN, type WireResult } from "@neko/protocol";
import { failure, validationFailure } from "./wire-result.ts";

export const MAX_CALL_DEPTH = 20;

export interface CallChainCheck {
  /** The chain the caller sent (from its current entry call), as received: untrusted. */
  chain: unknown;
  /** The calling plugin, from its socket identity. */
  caller: string;
  target: string;
  maxDepth: number;
}

/**
 * Ok with the chain to send the target (ending with the caller), or the Err the caller gets: `VALIDATION_ERROR`
 * for a malformed chain, `CIRCULAR_CALL` when the target is already in it, `PLUGIN_CALL_ERROR` when too deep.
 */
export function checkCallChain({ chain, caller, target, maxDepth }: CallChainCheck): WireResult {
  if (!Array.isArray(chain) || chain.length > maxDepth || !chain.every(isPluginId)) {
    return validationFailure(`the call chain sent by plugin '${caller}' is malformed`);
  }
  // The caller is always the innermost link, whatever it sent: identity comes from its socket.
  const own: string[] = chain.at(-1) === caller ? [...chain] : [...chain, caller];
  if (!own.includes(target) && own.length + 1 <= maxDepth) return { ok: true, value: own };
  const path = [...own, target];
  if (own.includes(target)) {
    const hint =
      target === caller
        ? `plugin '${caller}' called itself through the host; call the method directly instead`
        : `plugin '${target}' is already in the call chain`;
    return failure(ErrorCode.CircularCall, `circular call ${path.join(" → ")}: ${hint}`, "CircularCallError", {
      chain: path,
    });
  }
  if (path.length > maxDepth) {
    return failure(
      ErrorCode.PluginCall,
      `call chain too deep: ${path.join(" → ")} holds ${path.length} plugins; the limit is ${maxDepth}`,
      "PluginCallError",
      { chain: path, maxDepth },
    );
  }
  return { ok: true, value: own };
}

function isPluginId(id: unknown): boolean {
  return typeof id === "string" && PLUGIN_ID_PATTERN.test(id);
}

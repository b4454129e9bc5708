// Decides whether a plugin may load against the SDK version this host ships, from its [plugin.sdk] ranges.
import { Range, satisfies, valid } from "semver";
import type { PluginManifest } from "./plugin-manifest.ts";

export type SdkCompat = { verdict: "ok" | "warn" | "refuse"; messages: string[] };

/**
 * Parses an npm range (`^0.1.0`, `>=0.1.0 <0.3.0`, `a || b`) or the original's comma form (`>=0.1.0,<0.2.0`, where a
 * comma means AND). An empty text is refused: semver would read it as `*`, which hides a forgotten value.
 */
export function parseSdkRange(text: string): { ok: true; range: Range } | { ok: false; message: string } {
  const npmForm = text
    .split("||")
    .map((alternative) => alternative.replaceAll(",", " "))
    .join("||");
  try {
    if (npmForm.trim() === "") throw new Error("empty range");
    return { ok: true, range: new Range(npmForm) };
  } catch {
    return { ok: false, message: `'${text}' is not a version range` };
  }
}

/**
 * Applies SPEC §2.1: inside `conflicts` (any range of a list) → refuse; `supported` given and inside neither `supported` nor `untested` →
 * refuse; inside `untested` only → warn; outside `recommended` → warn. Only the reasons for the final verdict are
 * returned, so a refusal is not diluted by warnings that no longer matter.
 */
export function checkSdkCompat(sdk: PluginManifest["sdk"], hostSdkVersion: string): SdkCompat {
  const version = valid(hostSdkVersion);
  if (version === null) throw new TypeError(`host SDK version '${hostSdkVersion}' is not a semver version`);

  const refusals: string[] = [];
  const warnings: string[] = [];
  // includePrerelease: a pre-release host (0.2.0-dev) is judged by its numbers, not excluded from every range.
  const inside = (name: "recommended" | "supported" | "untested"): boolean | undefined => {
    const text = sdk?.[name];
    if (text === undefined) return undefined;
    const parsed = parseSdkRange(text);
    if (!parsed.ok) {
      refusals.push(`[plugin.sdk].${name} ${parsed.message}`);
      return undefined;
    }
    return satisfies(version, parsed.range, { includePrerelease: true });
  };
  // A list of conflicts ranges: each that holds the version is named.
  const conflictRanges = sdk?.conflicts === undefined ? [] : [sdk.conflicts].flat();
  for (const text of conflictRanges) {
    const parsed = parseSdkRange(text);
    if (!parsed.ok) refusals.push(`[plugin.sdk].conflicts ${parsed.message}`);
    else if (satisfies(version, parsed.range, { includePrerelease: true })) {
      refusals.push(`SDK ${version} is inside conflicts range '${text}'`);
    }
  }
  const supported = inside("supported");
  const untested = inside("untested");
  const recommended = inside("recommended");

  if (supported === false && untested !== true) {
    const alsoUntested = untested === false ? ` and untested range '${sdk?.untested}'` : "";
    refusals.push(`SDK ${version} is outside supported range '${sdk?.supported}'${alsoUntested}`);
  }
  if (untested === true && supported !== true) {
    warnings.push(`SDK ${version} is inside untested range '${sdk?.untested}' only`);
  }
  if (recommended === false) warnings.push(`SDK ${version} is outside recommended range '${sdk?.recommended}'`);

  if (refusals.length > 0) return { verdict: "refuse", messages: refusals };
  if (warnings.length > 0) return { verdict: "warn", messages: warnings };
  return { verdict: "ok", messages: [] };
}

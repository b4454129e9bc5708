// `[[plugin.dependency]]` (SPEC §2.1): a plugin whose dependency is missing, disabled, refused or of the wrong version,
// or that conflicts with a plugin that would run, is refused with a reason naming the other plugin.
import { satisfies } from "semver";
import type { DiscoveredPlugin } from "./plugin-discovery.ts";
import type { PluginDependency } from "./plugin-manifest.ts";
import { parseSdkRange } from "./sdk-compat.ts";

const FILE = "plugin.toml: [[plugin.dependency]]";

/**
 * Refuses the plugins whose dependencies are not met, in place, until nothing changes: a missing dependency refuses
 * its dependents in turn, to any depth, and a conflict counts only against a plugin that would run. Each round first
 * settles the missing dependencies, then judges conflicts against the plugins still standing at that moment, so two
 * plugins that conflict with each other are both refused. `plugins` is in discovery order; the owner of an id is
 * the first manifest that declares it (see `ownerOf`).
 */
export function checkDependencies(plugins: DiscoveredPlugin[]): void {
  const owners = ownersOf(plugins);
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of plugins) {
      if (p.status !== "ok") continue;
      const problem = requirementProblem(p, (id) => owners.get(id));
      if (problem !== undefined) {
        refuse(p, problem);
        changed = true;
      }
    }
    const standing = plugins.filter((p) => p.status === "ok");
    const conflicted = standing.flatMap((p) => {
      const problem = conflictProblem(p, (id) => owners.get(id));
      return problem === undefined ? [] : [{ p, problem }];
    });
    for (const { p, problem } of conflicted) refuse(p, problem);
    if (conflicted.length > 0) changed = true;
  }

  for (const p of plugins) {
    if (p.status === "ok") p.warnings.push(...dependencyWarnings(p, (id) => owners.get(id)));
  }

  for (const cycle of dependencyCycles(
    plugins.filter((p) => p.status === "ok"),
    (id) => owners.get(id),
  )) {
    const text = `${cycle.join(" → ")} → ${cycle[0]}`;
    for (const id of cycle) {
      owners
        .get(id)
        ?.warnings.push(`${FILE}: dependency cycle ${text}; one of them starts without waiting for the other`);
    }
  }
}

/**
 * The plugin each id names, as the host adopts it: the first manifest that declares the id. A folder whose manifest
 * cannot be read only guesses its id from the folder name, and claims it only when no manifest declares it.
 */
export function ownersOf(plugins: DiscoveredPlugin[]): Map<string, DiscoveredPlugin> {
  const owners = new Map<string, DiscoveredPlugin>();
  for (const p of plugins) {
    const current = owners.get(p.id);
    if (current === undefined || (current.idGuessed && !p.idGuessed)) owners.set(p.id, p);
  }
  return owners;
}

/** Why `p`'s required dependencies are not met by the plugins `lookup` finds, or undefined. */
export function requirementProblem(
  p: DiscoveredPlugin,
  lookup: (id: string) => DiscoveredPlugin | undefined,
): string | undefined {
  for (const dep of p.manifest?.dependencies ?? []) {
    if (dep.conflicts) continue;
    const problem = unmet(p, dep, lookup);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * What `p` loads with a warning about its met dependencies: a provider inside `untested` only, or an entry / a custom
 * event that cannot be checked before the provider runs (its manifest declares no `[[plugin.entries]]`, or the
 * dependency is on a custom event, which a manifest never declares).
 */
export function dependencyWarnings(
  p: DiscoveredPlugin,
  lookup: (id: string) => DiscoveredPlugin | undefined,
): string[] {
  return (p.manifest?.dependencies ?? []).flatMap((dep) => {
    if (dep.conflicts) return [];
    // Any fitting provider will do, so the warnings are those of the one that fits best: none when one fits cleanly.
    const fits = dep.providers
      .map((id) => judge(p, dep, lookup(id)))
      .filter((judged) => judged.problem === undefined)
      .sort((a, b) => a.warnings.length - b.warnings.length);
    return (fits[0]?.warnings ?? []).map((warning) => `${FILE}: ${warning}`);
  });
}

/** Why `p` conflicts with a plugin `lookup` finds that would run, or undefined. */
export function conflictProblem(
  p: DiscoveredPlugin,
  lookup: (id: string) => DiscoveredPlugin | undefined,
): string | undefined {
  for (const dep of p.manifest?.dependencies ?? []) {
    if (!dep.conflicts) continue;
    const other = lookup(dep.id);
    if (other === undefined || other === p || other.status !== "ok" || !other.manifest?.runtime.enabled) continue;
    if (dep.version !== undefined && !inRange(other.manifest.version, dep.version)) continue;
    return `${FILE}: conflicts with plugin '${dep.id}' ${other.manifest.version}, which is installed and enabled`;
  }
  return undefined;
}

/**
 * The ids of the plugins `p` waits for at start (not those it conflicts with): a dependency's provider, or with
 * `providers` each one that fits (all of them when none does), never `p` itself, and without a provider that itself
 * needs `p` (it would close a cycle) when another one fits. `lookup` finds the plugins as the host has them.
 */
export function requiredIds(
  p: DiscoveredPlugin | undefined,
  lookup: (id: string) => DiscoveredPlugin | undefined = () => undefined,
): string[] {
  if (p === undefined) return [];
  const ids = new Set<string>();
  for (const dep of p.manifest?.dependencies ?? []) {
    if (dep.conflicts) continue;
    const candidates = dep.providers.filter((id) => id !== p.id);
    if (candidates.length <= 1) {
      for (const id of candidates) ids.add(id);
      continue;
    }
    const fitting = candidates.filter((id) => judge(p, dep, lookup(id)).problem === undefined);
    const pool = fitting.length > 0 ? fitting : candidates;
    const acyclic = pool.filter((id) => !reaches(id, p.id, lookup));
    for (const id of acyclic.length > 0 ? acyclic : pool) ids.add(id);
  }
  return [...ids];
}

/** True when `from` needs `target`, directly or through other plugins (any provider of any dependency counts). */
function reaches(from: string, target: string, lookup: (id: string) => DiscoveredPlugin | undefined): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const dep of lookup(id)?.manifest?.dependencies ?? []) {
      if (!dep.conflicts) stack.push(...dep.providers.filter((provider) => provider !== id));
    }
  }
  return false;
}

/** Why `other` (the plugin that provider id names, or undefined when none) does not satisfy `p`'s `dep`, or undefined. */
export function providerProblem(
  p: DiscoveredPlugin,
  dep: PluginDependency,
  other: DiscoveredPlugin | undefined,
): string | undefined {
  return judge(p, dep, other).problem;
}

/** What `dep` asks for, as a reason begins: "needs plugin 'a' ^1", "needs entry 'a:greet'", "needs one of …". */
function describeNeed(dep: PluginDependency, provider: string): string {
  const version = dep.version === undefined ? "" : ` ${dep.version}`;
  if (dep.entry !== undefined) return `needs entry '${provider}:${dep.entry}'${version}`;
  if (dep.customEvent !== undefined) {
    return `needs custom event '${provider}:${dep.customEvent.eventType}:${dep.customEvent.eventId}'${version}`;
  }
  return `needs plugin '${provider}'${version}`;
}

function unmet(
  p: DiscoveredPlugin,
  dep: PluginDependency,
  lookup: (id: string) => DiscoveredPlugin | undefined,
): string | undefined {
  if (dep.providers.length === 1) {
    const [id] = dep.providers;
    if (lookup(id) === p) return `${FILE}: a plugin cannot depend on itself ('${id}')`;
    const problem = judge(p, dep, lookup(id)).problem;
    return problem === undefined ? undefined : `${FILE}: ${describeNeed(dep, id)}, ${problem}`;
  }
  const reasons: string[] = [];
  for (const id of dep.providers) {
    const other = lookup(id);
    const problem = other === p ? "which is this plugin itself" : judge(p, dep, other).problem;
    if (problem === undefined) return undefined;
    reasons.push(`'${id}' ${problem.replace(/^(which|but it|but) /, "")}`);
  }
  const what = dep.entry ?? (dep.customEvent && `${dep.customEvent.eventType}:${dep.customEvent.eventId}`);
  const names = dep.providers.map((id) => `'${id}'`).join(", ");
  return `${FILE}: needs one of the providers ${names}${what === undefined ? "" : ` with '${what}'`}, and none fits: ${reasons.join("; ")}`;
}

/** Whether `other` satisfies `dep` (a reason starting "which …" / "but …" when not), and the warnings if it does. */
function judge(
  p: DiscoveredPlugin,
  dep: PluginDependency,
  other: DiscoveredPlugin | undefined,
): { problem?: string; warnings: string[] } {
  const warnings: string[] = [];
  if (other === undefined) return { problem: "which is not installed", warnings };
  if (other === p) return { problem: "which is this plugin itself", warnings };
  if (other.status !== "ok") return { problem: `which is refused (${other.problems.join("; ")})`, warnings };
  if (!other.manifest?.runtime.enabled)
    return { problem: "which is disabled ([plugin_runtime].enabled = false)", warnings };
  const installed = other.manifest.version;
  if (dep.version !== undefined && !inRange(installed, dep.version)) {
    return { problem: `but version ${installed} is installed`, warnings };
  }
  const hit = dep.conflictRanges.find((range) => inRange(installed, range));
  if (hit !== undefined)
    return { problem: `but version ${installed} is inside its conflicts range '${hit}'`, warnings };
  const supported = dep.supported === undefined ? undefined : inRange(installed, dep.supported);
  const untested = dep.untested === undefined ? undefined : inRange(installed, dep.untested);
  if (supported === false && untested !== true) {
    const also = untested === false ? ` and untested range '${dep.untested}'` : "";
    return { problem: `but version ${installed} is outside its supported range '${dep.supported}'${also}`, warnings };
  }
  if (supported === undefined && untested === false) {
    return { problem: `but version ${installed} is outside its untested range '${dep.untested}'`, warnings };
  }
  const need = describeNeed(dep, other.id);
  if (untested === true && supported !== true) {
    warnings.push(`${need}: version ${installed} is inside the untested range '${dep.untested}' only`);
  }
  const declared = other.manifest.entries.map((entry) => entry.id);
  if (dep.entry !== undefined) {
    if (declared.length === 0) {
      warnings.push(`${need}: not checked before '${other.id}' runs (its manifest declares no [[plugin.entries]])`);
    } else if (!declared.includes(dep.entry)) {
      return {
        problem: `but it declares no entry '${dep.entry}' (only ${declared.map((id) => `'${id}'`).join(", ")})`,
        warnings,
      };
    }
  }
  if (dep.customEvent !== undefined) {
    warnings.push(`${need}: not checked before '${other.id}' runs (a manifest does not declare custom events)`);
  }
  return { warnings };
}

function refuse(p: DiscoveredPlugin, problem: string): void {
  p.problems.push(problem);
  p.status = "refused";
}

function inRange(version: string, range: string): boolean {
  const parsed = parseSdkRange(range);
  return parsed.ok && satisfies(version, parsed.range, { includePrerelease: true });
}

/** Each cycle of required dependencies among `plugins`, as the ids along it, found once. */
function dependencyCycles(
  plugins: DiscoveredPlugin[],
  lookup: (id: string) => DiscoveredPlugin | undefined,
): string[][] {
  const byId = new Map(plugins.map((p) => [p.id, p]));
  const cycles: string[][] = [];
  const done = new Set<string>();
  const walk = (id: string, stack: string[]): void => {
    const at = stack.indexOf(id);
    if (at >= 0) {
      cycles.push(stack.slice(at));
      return;
    }
    if (done.has(id) || !byId.has(id)) return;
    for (const dep of requiredIds(byId.get(id), lookup)) walk(dep, [...stack, id]);
    done.add(id);
  };
  for (const p of plugins) walk(p.id, []);
  return cycles;
}

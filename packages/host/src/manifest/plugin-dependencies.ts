// `[[plugin.dependency]]` (SPEC §2.1): a plugin whose dependency is missing, disabled, refused or of the wrong version,
// or that conflicts with a plugin that would run, is refused with a reason naming the other plugin.
import { satisfies } from "semver";
import type { DiscoveredPlugin } from "./plugin-discovery.ts";
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

  for (const cycle of dependencyCycles(plugins.filter((p) => p.status === "ok"))) {
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
    const problem = unmet(p, dep, lookup(dep.id));
    if (problem !== undefined) return problem;
  }
  return undefined;
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

/** The ids of the plugins `p` needs (not those it conflicts with). */
export function requiredIds(p: DiscoveredPlugin | undefined): string[] {
  return (p?.manifest?.dependencies ?? []).filter((dep) => !dep.conflicts).map((dep) => dep.id);
}

function unmet(
  p: DiscoveredPlugin,
  dep: { id: string; version?: string },
  other: DiscoveredPlugin | undefined,
): string | undefined {
  const name = `needs plugin '${dep.id}'${dep.version === undefined ? "" : ` ${dep.version}`}`;
  if (other === p) return `${FILE}: a plugin cannot depend on itself ('${dep.id}')`;
  if (other === undefined) return `${FILE}: ${name}, which is not installed`;
  if (other.status !== "ok") return `${FILE}: ${name}, which is refused (${other.problems.join("; ")})`;
  if (!other.manifest?.runtime.enabled) return `${FILE}: ${name}, which is disabled ([plugin_runtime].enabled = false)`;
  if (dep.version !== undefined && !inRange(other.manifest.version, dep.version)) {
    return `${FILE}: ${name}, but version ${other.manifest.version} is installed`;
  }
  return undefined;
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
function dependencyCycles(plugins: DiscoveredPlugin[]): string[][] {
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
    for (const dep of requiredIds(byId.get(id))) walk(dep, [...stack, id]);
    done.add(id);
  };
  for (const p of plugins) walk(p.id, []);
  return cycles;
}

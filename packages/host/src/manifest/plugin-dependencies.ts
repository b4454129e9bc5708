// `[[plugin.dependency]]` (SPEC §2.1): a plugin whose dependency is missing, disabled, refused or of the wrong version,
// or that conflicts with a plugin that would run, is refused with a reason naming the other plugin.
import { satisfies } from "semver";
import type { DiscoveredPlugin } from "./plugin-discovery.ts";
import { parseSdkRange } from "./sdk-compat.ts";

const FILE = "plugin.toml: [[plugin.dependency]]";

/**
 * Refuses the plugins whose dependencies are not met, in place. Conflicts are judged against the plugins that pass
 * their own checks (manifest, module, SDK), so two plugins that conflict with each other are both refused. A missing
 * dependency refuses its dependents in turn, to any depth. `plugins` is in discovery order; a later manifest with an
 * id already owned (refused as a duplicate) is never anyone's dependency.
 */
export function checkDependencies(plugins: DiscoveredPlugin[]): void {
  // The plugin that answers to an id: the one that loads, else the first listed (a folder whose manifest is broken
  // only guesses its id and must not hide the real owner).
  const owners = new Map<string, DiscoveredPlugin>();
  for (const p of plugins) {
    const current = owners.get(p.id);
    if (current === undefined || (current.status !== "ok" && p.status === "ok")) owners.set(p.id, p);
  }
  const standsAlone = new Set(plugins.filter((p) => p.status === "ok"));

  for (const p of standsAlone) {
    for (const dep of p.manifest?.dependencies ?? []) {
      if (!dep.conflicts) continue;
      const other = owners.get(dep.id);
      if (other === undefined || other === p || !standsAlone.has(other) || !other.manifest?.runtime.enabled) continue;
      if (dep.version !== undefined && !inRange(other.manifest.version, dep.version)) continue;
      refuse(p, `conflicts with plugin '${dep.id}' ${other.manifest.version}, which is installed and enabled`);
    }
  }

  // Refusing one plugin can break its dependents, so repeat until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of plugins) {
      if (p.status !== "ok") continue;
      for (const dep of p.manifest?.dependencies ?? []) {
        if (dep.conflicts) continue;
        const problem = unmet(p, dep, owners.get(dep.id));
        if (problem !== undefined) {
          refuse(p, problem);
          changed = true;
          break;
        }
      }
    }
  }

  for (const cycle of dependencyCycles(plugins.filter((p) => p.status === "ok"))) {
    const text = `${cycle.join(" → ")} → ${cycle[0]}`;
    for (const id of cycle) {
      owners
        .get(id)
        ?.warnings.push(`${FILE}: dependency cycle ${text}; these plugins start without waiting for each other`);
    }
  }
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
  p.problems.push(problem.startsWith(FILE) ? problem : `${FILE}: ${problem}`);
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

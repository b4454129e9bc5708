/** The one containment test for paths a plugin or a URL names (a static UI folder, a file under it). */
import path from "node:path";

/** True when `child` is `parent` or lies inside it; both absolute and already resolved (no symbolic links left). */
export function isPathInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  if (relative === "") return true;
  return relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

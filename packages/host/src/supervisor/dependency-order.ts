/**
 * Runs `step(id)` for every id, each only once the steps of its prerequisites (those of them within `ids`) have
 * settled; independent ids run in parallel. A prerequisite whose step failed does not hold the others back. A cycle is
 * broken where it closes, so every step runs exactly once. Used to start plugins after their dependencies and to stop
 * them before.
 */
export async function inDependencyOrder<T>(
  ids: string[],
  prerequisitesOf: (id: string) => string[],
  step: (id: string) => Promise<T>,
): Promise<T[]> {
  const wanted = new Set(ids);
  const steps = new Map<string, Promise<T>>();
  const visit = (id: string, path: ReadonlySet<string>): Promise<T> => {
    const known = steps.get(id);
    if (known) return known;
    const along = new Set(path).add(id);
    const before = prerequisitesOf(id)
      .filter((other) => wanted.has(other) && !along.has(other))
      .map((other) => visit(other, along));
    const promise = Promise.allSettled(before).then(() => step(id));
    steps.set(id, promise);
    return promise;
  };
  return Promise.all(ids.map((id) => visit(id, new Set())));
}

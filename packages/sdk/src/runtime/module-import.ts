/**
 * How the runtime imports a module it learns of only at run time (the plugin's, an extension's). Code evaluated into a
 * startup snapshot (snapshot-main.ts) has no `import()` of its own (V8 gives it no module to import from), so a
 * process started from one is handed the runner's `import` before anything is loaded.
 */
type ModuleImporter = (specifier: string) => Promise<unknown>;

let importer: ModuleImporter = (specifier) => import(specifier);

export function importModule(specifier: string): Promise<unknown> {
  return importer(specifier);
}

/** Imports through `importModule` from now on (the runner of a process started from a snapshot). */
export function useModuleImporter(next: ModuleImporter): void {
  importer = next;
}

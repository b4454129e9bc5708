/** For tests: the build info `neko-plugin check` kept for temp plugin folders goes when the folders do. */
import fs from "node:fs";
import path from "node:path";
import { typeCheckBuildInfoDir } from "../src/check/plugin-type-check.ts";

/** Removes the type-check build info of each folder and of each folder inside it (the plugins of a temp root). */
export function removeTypeCheckBuildInfo(roots: string[]): void {
  for (const root of roots) {
    const inside = fs.existsSync(root) ? fs.readdirSync(root).map((name) => path.join(root, name)) : [];
    for (const dir of [root, ...inside]) fs.rmSync(typeCheckBuildInfoDir(dir), { recursive: true, force: true });
  }
}

/** Where the repository's own example plugins live, whatever the current directory. */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BUILTIN_PLUGINS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../plugins");
